"""A page read ahead is served only to the same query at the next offset, unchanged and fresh."""

from __future__ import annotations

import threading

import pytest

from stratus.tracking import readahead
from stratus.tracking.readahead import ReadAhead


@pytest.fixture
def ahead():
    pages: ReadAhead[list[int]] = ReadAhead(max_age=5)
    yield pages
    pages.close()


def test_served_once_to_the_same_query_at_the_same_offset(ahead: ReadAhead[list[int]]) -> None:
    ahead.start("ws", "q", 10, lambda: [10, 11])
    assert ahead.take("ws", "q", 20) is None, "another offset"
    ahead.start("ws", "q", 10, lambda: [10, 11])
    assert ahead.take("ws", "other", 10) is None and ahead.take("ws2", "q", 10) is None
    assert ahead.take("ws", "q", 10) == [10, 11]
    assert ahead.take("ws", "q", 10) is None, "taken once"


def test_a_write_meanwhile_drops_the_page(ahead: ReadAhead[list[int]]) -> None:
    ahead.start("ws", "q", 10, lambda: [1])
    ahead.changed("other-ws")
    ahead.start("ws", "q2", 10, lambda: [2])
    ahead.changed("ws")
    assert ahead.take("ws", "q", 10) is None and ahead.take("ws", "q2", 10) is None
    release = threading.Event()
    ahead.start("ws", "q3", 10, lambda: [3] if release.wait(5) else [])
    ahead.changed("ws")  # written while the page is being read
    release.set()
    assert ahead.take("ws", "q3", 10) is None


def test_old_or_failed_pages_are_not_served(ahead: ReadAhead[list[int]], monkeypatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(readahead.time, "monotonic", lambda: clock[0])
    ahead.start("ws", "q", 10, lambda: [1])
    clock[0] += 6
    assert ahead.take("ws", "q", 10) is None

    def fail() -> list[int]:
        raise RuntimeError("database went away")

    ahead.start("ws", "q", 10, fail)
    assert ahead.take("ws", "q", 10) is None, "the request reads the page itself and reports the error"
