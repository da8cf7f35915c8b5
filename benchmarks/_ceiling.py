"""The client's ceiling: an ASGI app that does nothing, so the stock MLflow client is the only cost.

It answers `{}` to every request, except runs/search, which gets precomputed pages of real-looking runs
(the same count and page size as the real search) so the client parses what a server would send. The
pages come from the JSON file named by BENCH_CEILING_PAGES: {"filtered": [page, ...], "all": [...]}.
Run it as `python -m uvicorn --app-dir benchmarks _ceiling:app --workers 1`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

EMPTY = b"{}"


def _load_pages() -> dict[str, list[bytes]]:
    path = os.environ.get("BENCH_CEILING_PAGES")
    if not path:
        return {"filtered": [], "all": []}
    pages = json.loads(Path(path).read_text())
    return {kind: [json.dumps(page).encode() for page in pages[kind]] for kind in ("filtered", "all")}


PAGES = _load_pages()


def _search_page(body: bytes) -> bytes:
    try:
        request = json.loads(body or b"{}")
        kind = "filtered" if request.get("filter") else "all"
        index = int(request.get("page_token") or 0)
    except (ValueError, AttributeError):
        return EMPTY
    pages = PAGES[kind]
    return pages[index] if 0 <= index < len(pages) else EMPTY


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Message, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    chunks = []
    while True:  # read the whole body, as a server must before it answers
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    payload = _search_page(b"".join(chunks)) if scope["path"].endswith("/runs/search") else EMPTY
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
