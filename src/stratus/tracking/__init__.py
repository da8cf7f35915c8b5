"""MLflow-compatible tracking: experiments and runs, independent of HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")


def now_ms() -> int:
    """MLflow's clock: epoch milliseconds."""
    return int(time.time() * 1000)


def from_ms(epoch_ms: int) -> datetime:
    """An MLflow timestamp (epoch milliseconds) as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def every_page(read: Callable[[str | None], tuple[list[T], str | None]]) -> list[T]:
    """All items of a paged search: ``read(page_token)`` gives a page and the next token (None at the end)."""
    found: list[T] = []
    token: str | None = None
    while True:
        page, token = read(token)
        found += page
        if not token:
            return found
