"""Short tracking writes: on the event loop when the store never waits, in a worker thread otherwise."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from stratus.server.state import ServerState
from stratus.store.sql import SqlMetadataStore

API = "/api/2.0/mlflow"


@pytest.fixture
def served(admin: TestClient, server_state: ServerState) -> tuple[TestClient, ServerState]:
    return admin, server_state


def _new_run(client: TestClient) -> str:
    answer = client.post(f"{API}/runs/create", json={"experiment_id": "0"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["run"]["info"]["run_id"])


def _writer_threads(client: TestClient, run_id: str, step: int) -> set[str]:
    """Log one point; the names of the threads the store's log ran on."""
    store = client.app.state.stratus.store  # type: ignore[attr-defined]
    seen: set[str] = set()
    original = store.runs.log

    def spy(*args: object, **kwargs: object) -> None:
        seen.add(threading.current_thread().name)
        original(*args, **kwargs)

    store.runs.log = spy
    try:
        answer = client.post(
            f"{API}/runs/log-metric",
            json={"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 1, "step": step},
        )
    finally:
        del store.runs.log
    assert answer.status_code == 200, answer.text
    return seen


def test_a_metric_is_written_on_the_event_loop_when_nothing_holds_the_database(served) -> None:
    client, _state = served
    run_id = _new_run(client)
    loop_thread = _writer_threads(client, run_id, 0)
    assert len(loop_thread) == 1
    # The TestClient runs the app's event loop in a thread of its own: the write happened there, the
    # loop's thread, not in one of the worker threads the request would otherwise hop to.
    assert not any(name.startswith("AnyIO worker thread") for name in loop_thread)


def test_a_busy_database_sends_the_write_to_a_worker_thread_which_waits(served) -> None:
    client, state = served
    run_id = _new_run(client)
    store = state.store
    assert isinstance(store, SqlMetadataStore)
    with store.engine.connect() as other:
        other.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds the lock for a moment
        release = threading.Timer(0.5, lambda: other.exec_driver_sql("ROLLBACK"))
        release.start()
        started = time.monotonic()
        threads = _writer_threads(client, run_id, 1)
        release.join()
    assert time.monotonic() - started >= 0.4, "the write waited for the other writer instead of failing"
    assert "AnyIO worker thread" in " ".join(threads), threads
    history = client.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"})
    assert [m["step"] for m in history.json()["metrics"]] == [1]
