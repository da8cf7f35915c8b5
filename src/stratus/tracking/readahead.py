"""Read-ahead of search pages: while a client parses page N, the server computes page N+1.

Paging clients (``MlflowClient.search_runs`` over many pages, the UI) ask for pages one after another and
spend about as long parsing a page as the server spends building it; on two cores the two overlap.
A page read ahead is served only to the same query (same key) at the next offset, only while nothing
was written to the workspace through this server since it was started, and only for ``max_age``
seconds; otherwise it is dropped and the page is read as usual. Offset paging is not a snapshot to
begin with, so a page read a fraction of a second early changes nothing a client can rely on.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Pending(Generic[T]):
    offset: int
    generation: int
    started: float
    future: Future[T]


class ReadAhead(Generic[T]):
    def __init__(self, *, max_age: float = 2.0, max_entries: int = 8) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self._pending: OrderedDict[Hashable, _Pending[T]] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()
        # One thread: read-ahead must never compete with requests for more than a core.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stratus-readahead")

    def changed(self, scope: str) -> None:
        """Something in ``scope`` (a workspace) was written: pages read ahead there are stale."""
        with self._lock:
            self._generations[scope] = self._generations.get(scope, 0) + 1

    def _generation(self, scope: str) -> int:
        return self._generations.get(scope, 0)

    def take(self, scope: str, key: Hashable, offset: int) -> T | None:
        """The page read ahead for ``key`` at ``offset`` (waiting for it if it is still being read),
        or None when there is none that may be served."""
        with self._lock:
            pending = self._pending.pop((scope, key), None)
            generation = self._generation(scope)
        if pending is None or pending.offset != offset:
            return None
        if pending.generation != generation or time.monotonic() - pending.started > self.max_age:
            return None
        try:
            result = pending.future.result()
        except Exception:  # the page is read again in the request, which reports the error
            return None
        with self._lock:
            if self._generation(scope) != pending.generation:  # written while it was being read
                return None
        return result

    def start(self, scope: str, key: Hashable, offset: int, read: Callable[[], T]) -> None:
        """Begin reading the page at ``offset`` in the background."""
        with self._lock:
            generation = self._generation(scope)
            future = self._executor.submit(read)
            self._pending[(scope, key)] = _Pending(offset, generation, time.monotonic(), future)
            self._pending.move_to_end((scope, key))
            while len(self._pending) > self.max_entries:
                self._pending.popitem(last=False)[1].future.cancel()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
