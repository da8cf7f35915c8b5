from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from stratus.server.authz import SecuredRoute, current_caller, server_state
from stratus.server.services.context import Caller
from stratus.server.state import ServerState
from stratus.store.metadata import WouldWaitError
from stratus.store.paging import Page

T = TypeVar("T")
R = TypeVar("R")

CallerDep = Annotated[Caller, Depends(current_caller)]
StateDep = Annotated[ServerState, Depends(server_state)]
Top = Annotated[int, Query(ge=1, le=1000, description="Page size")]
SkipToken = Annotated[str | None, Query(max_length=512, description="From next_link")]


def secured_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=SecuredRoute, **kwargs)


async def call(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Services are synchronous (SQLAlchemy sessions); keep them off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)


async def call_short_write(state: ServerState, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """A short, bounded write (the tracking logs): on the event loop when the store promises it will
    not wait (SQLite: a fraction of a millisecond), since the hop to a worker thread and back cost more
    than the write itself; else, or when the database turned out busy, in a worker thread as ``call``."""
    with state.store.without_waiting() as never_waits:
        if never_waits:
            try:
                return fn(*args, **kwargs)
            except WouldWaitError:
                pass  # nothing was written: wait for the other writer in a worker thread
    return await call(fn, *args, **kwargs)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def list_body(request: Request, page: Page[T], convert: Callable[[T], Any] | None = None) -> dict[str, Any]:
    """``{value, next_link}`` of a list route; items as they are unless ``convert`` is given."""
    next_link = None
    if page.next_token:
        next_link = str(request.url.include_query_params(skip_token=page.next_token))
    items = page.items if convert is None else [convert(item) for item in page.items]
    return {"value": items, "next_link": next_link}
