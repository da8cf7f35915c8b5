"""Migrations: upgrade a populated database from the previous head, agree with the models, run once."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from stratus.store.sql import open_store
from stratus.store.sql.engine import alembic_config, current_revision, make_engine, migration_lock, upgrade


def _heads(engine) -> tuple[str, str]:
    script = ScriptDirectory.from_config(alembic_config(engine))
    head = script.get_current_head()
    assert head is not None
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str), "keep a linear history"
    return head, previous


def test_upgrade_populated_database_from_previous_head(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    head, previous = _heads(engine)
    upgrade(engine, previous)
    now = datetime.now(UTC).isoformat()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workspaces (id, name, tags, created_at, updated_at) "
                "VALUES ('w1', 'legacy', '{}', :now, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO users (id, name, is_server_admin, created_at) VALUES ('u1', 'old', false, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO tokens (id, user_id, workspace_id, token_hash, created_at) "
                "VALUES ('tok_1', 'u1', 'w1', :h, :now)"
            ),
            {"h": "f" * 64, "now": now},
        )
    upgrade(engine)
    assert current_revision(engine) == head
    store = open_store(empty_database_url)
    token = store.tokens.find_by_hash("f" * 64)
    assert token is not None and token.workspace_name == "legacy" and token.last_used_at is None
    assert store.workspaces.get("legacy") is not None
    store.audit.append("after.upgrade")
    store.close()
    engine.dispose()


def test_alembic_check_finds_no_drift(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    command.check(alembic_config(engine))
    engine.dispose()


def test_downgrade_to_base_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    command.downgrade(alembic_config(engine), "base")
    assert current_revision(engine) is None
    upgrade(engine)
    engine.dispose()


def _migrate_and_bootstrap(url: str, barrier) -> None:
    barrier.wait()
    engine = make_engine(url)
    with migration_lock(engine):
        upgrade(engine)
    engine.dispose()


@pytest.mark.parametrize("workers", [4])
def test_concurrent_first_starts_do_not_race(empty_database_url: str, workers: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    procs = [
        ctx.Process(target=_migrate_and_bootstrap, args=(empty_database_url, barrier)) for _ in range(workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers
    engine = make_engine(empty_database_url)
    head, _ = _heads(engine)
    assert current_revision(engine) == head
    engine.dispose()
