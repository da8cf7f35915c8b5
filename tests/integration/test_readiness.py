"""``/ready`` follows the metadata store and ``/health`` does not: a real server on its own PostgreSQL
database is not ready while that database cannot be reached (renamed away, its connections ended) and is
ready again once it is back, while staying alive throughout. The machine's PostgreSQL keeps running."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from plugins.stratus_server import LiveServer, start_server

DEADLINE_SECONDS = 60  # for the server to notice a change of the store, on a busy machine


@pytest.fixture
def admin_engine(postgres_server_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _move_database(engine: Engine, old: str, new: str) -> None:
    """Rename a database, first ending the server's connections to it (a rename needs none open)."""
    for _ in range(20):  # the server may reconnect between the two statements: try again
        with engine.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": old},
            )
            try:
                conn.execute(text(f'ALTER DATABASE "{old}" RENAME TO "{new}"'))
                return
            except Exception as exc:  # "being accessed by other users"
                if "other users" not in str(exc):
                    raise
        time.sleep(0.2)
    pytest.fail(f"could not rename database {old}: the server kept connecting")


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not {what} within {DEADLINE_SECONDS} s")
        time.sleep(0.2)


@pytest.mark.postgres
def test_ready_fails_while_the_store_is_unreachable_and_health_stays_ok(
    postgres_url: str, admin_engine: Engine, tmp_path: Path
) -> None:
    database = str(make_url(postgres_url).database)
    server: LiveServer = start_server(tmp_path / "home", env={"STRATUS_DATABASE_URL": postgres_url})
    moved = False
    try:
        assert httpx.get(f"{server.url}/ready", timeout=30).json() == {"status": "ready"}
        _move_database(admin_engine, database, f"{database}_away")
        moved = True

        answers: list[httpx.Response] = []

        def not_ready() -> bool:
            answers.append(httpx.get(f"{server.url}/ready", timeout=30))
            return answers[-1].status_code != 200

        _until(not_ready, "unready")
        assert answers[-1].status_code == 503
        assert answers[-1].json() == {"status": "unavailable", "store": "unreachable"}
        health = httpx.get(f"{server.url}/health", timeout=30)
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        assert server.process.poll() is None, "the server must stay up while its store is away"

        _move_database(admin_engine, f"{database}_away", database)
        moved = False
        _until(lambda: httpx.get(f"{server.url}/ready", timeout=30).status_code == 200, "ready again")
    finally:
        server.stop()
        if moved:  # so the fixture drops the database under its own name
            _move_database(admin_engine, f"{database}_away", database)
