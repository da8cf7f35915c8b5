"""The same behaviour from every metadata-store backend (sqlite and postgresql)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from stratus.errors import ConflictError, NotFoundError
from stratus.store.sql import SqlMetadataStore, open_store


@pytest.fixture
def store(database_url: str):
    s = open_store(database_url)
    yield s
    s.close()


def test_empty_store_then_not(store: SqlMetadataStore) -> None:
    assert store.is_empty()
    store.users.create("alice")
    assert store.is_empty(), "only the mark, set last by the first start, makes a store non-empty"
    store.mark_initialised()
    assert not store.is_empty()
    store.ping()


def test_workspace_crud_and_conflict(store: SqlMetadataStore) -> None:
    created = store.workspaces.create("ws-one", description="d", tags={"team": "x"}, created_by="alice")
    assert created.created_at.tzinfo is not None
    assert store.workspaces.get("ws-one") == created
    with pytest.raises(ConflictError):
        store.workspaces.create("ws-one")
    updated = store.workspaces.update("ws-one", display_name="One", updated_by="bob")
    assert (updated.display_name, updated.description, updated.tags) == ("One", "d", {"team": "x"})
    assert updated.updated_by == "bob"
    store.workspaces.delete("ws-one")
    assert store.workspaces.get("ws-one") is None
    with pytest.raises(NotFoundError):
        store.workspaces.delete("ws-one")


def test_workspace_paging_is_complete_and_ordered(store: SqlMetadataStore) -> None:
    names = [f"ws-{i:03d}" for i in range(23)]
    for name in reversed(names):
        store.workspaces.create(name)
    seen, token = [], None
    while True:
        page = store.workspaces.list(limit=5, page_token=token)
        seen += [w.name for w in page.items]
        token = page.next_token
        if token is None:
            break
    assert seen == names
    only = store.workspaces.list(names=["ws-003", "ws-010", "nope"])
    assert [w.name for w in only.items] == ["ws-003", "ws-010"]


def test_tokens_lookup_revoke_touch(store: SqlMetadataStore) -> None:
    user = store.users.create("alice")
    ws = store.workspaces.create("team")
    expires = datetime.now(UTC) + timedelta(days=1)
    token = store.tokens.create(user_id=user.id, token_hash="a" * 64, workspace_id=ws.id, expires_at=expires)
    assert token.user_name == "alice" and token.workspace_name == "team"
    assert store.tokens.find_by_hash("a" * 64) == token
    assert store.tokens.find_by_hash("b" * 64) is None
    now = datetime.now(UTC)
    store.tokens.touch(token.id, now)
    first = store.tokens.revoke(token.id, now)
    again = store.tokens.revoke(token.id, now + timedelta(hours=1))
    assert first.revoked_at == again.revoked_at
    assert abs((first.revoked_at - now).total_seconds()) < 1
    assert [t.id for t in store.tokens.list(user_id=user.id).items] == [token.id]
    with pytest.raises(NotFoundError):
        store.tokens.revoke("tok_missing", now)


def test_role_assignments_idempotent_and_removed_with_workspace(store: SqlMetadataStore) -> None:
    user = store.users.create("alice")
    ws = store.workspaces.create("team")
    a = store.role_assignments.assign(workspace_id=ws.id, user_id=user.id, role="Reader")
    b = store.role_assignments.assign(workspace_id=ws.id, user_id=user.id, role="Reader")
    assert a == b
    store.role_assignments.assign(workspace_id=ws.id, user_id=user.id, role="Owner")
    assert store.role_assignments.roles_of(user_id=user.id, workspace_id=ws.id) == {"Reader", "Owner"}
    assert store.role_assignments.delete(workspace_id=ws.id, user_id=user.id, role="Reader")
    assert not store.role_assignments.delete(workspace_id=ws.id, user_id=user.id, role="Reader")
    store.tokens.create(user_id=user.id, token_hash="c" * 64, workspace_id=ws.id)
    store.workspaces.delete("team")
    assert store.role_assignments.list(user_id=user.id).items == []
    assert store.tokens.list(user_id=user.id).items == []


def test_concurrent_role_assign_makes_one_row(store: SqlMetadataStore) -> None:
    user = store.users.create("alice")
    ws = store.workspaces.create("team")
    errors: list[BaseException] = []

    def assign() -> None:
        try:
            store.role_assignments.assign(workspace_id=ws.id, user_id=user.id, role="Owner")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=assign) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.role_assignments.list(workspace_id=ws.id).items) == 1


def test_audit_log_is_append_only(store: SqlMetadataStore) -> None:
    first = store.audit.append("auth.failed", outcome="failure", detail={"reason": "unknown token"})
    second = store.audit.append("token.create", actor="admin", target="tok_1")
    assert [e.id for e in store.audit.list().items] == [second.id, first.id]
    assert [e.id for e in store.audit.list(action="auth.failed").items] == [first.id]
    for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(store.audit.list().items) == 2


def test_settings_roundtrip(store: SqlMetadataStore) -> None:
    assert store.settings.get("k") is None
    store.settings.set("k", "v1")
    store.settings.set("k", "v2")
    assert store.settings.get("k") == "v2"


def test_artifact_index_prefixes_are_literal(store: SqlMetadataStore) -> None:
    ws = store.workspaces.create("team")
    for path in ("a_b/x", "axb/y", "a%b/z", "a_b", "a_bc/w", "top.txt"):
        store.artifact_index.record(ws.id, path, size=len(path), sha256="0" * 64)
    under = lambda prefix: [r.path for r in store.artifact_index.list(ws.id, prefix=prefix).items]  # noqa: E731
    assert under("a_b") == ["a_b", "a_b/x"]
    assert under("a%b") == ["a%b/z"]
    assert len(under("")) == 6
    updated = store.artifact_index.record(ws.id, "top.txt", size=99, sha256="1" * 64)
    assert store.artifact_index.get(ws.id, "top.txt") == updated and updated.size == 99
    assert store.artifact_index.delete_tree(ws.id, "a_b") == 2
    assert store.artifact_index.delete(ws.id, "axb/y") and not store.artifact_index.delete(ws.id, "axb/y")
    store.workspaces.delete("team")
    assert store.artifact_index.list(ws.id).items == []


def test_experiments_ids_names_and_search(store: SqlMetadataStore) -> None:
    from stratus.tracking.search import parse_filter

    ws, other = store.workspaces.create("team"), store.workspaces.create("other")
    loc = "mlflow-artifacts:/{experiment_id}"
    first = store.experiments.create(
        ws.id, "a", artifact_location=None, default_location=loc, tags={"k": "v"}
    )
    second = store.experiments.create(
        ws.id, "b_x", artifact_location="mlflow-artifacts:/custom", default_location=loc
    )
    elsewhere = store.experiments.create(other.id, "a", artifact_location=None, default_location=loc)
    assert (first.experiment_id, second.experiment_id, elsewhere.experiment_id) == (1, 2, 1)
    assert (
        first.artifact_location == "mlflow-artifacts:/1"
        and second.artifact_location == "mlflow-artifacts:/custom"
    )
    with pytest.raises(ConflictError):
        store.experiments.create(ws.id, "a", artifact_location=None, default_location=loc)
    store.experiments.update(ws.id, 2, lifecycle_stage="deleted")
    search = lambda text, stages=("active",): [  # noqa: E731
        e.name
        for e in store.experiments.search(
            ws.id, stages=stages, clauses=parse_filter(text), order_by=[("name", True)], limit=10, offset=0
        )
    ]
    assert search("") == ["a"]
    assert search("name LIKE 'b\\_%'", ("active", "deleted")) == ["b_x"]
    assert search("tags.k = 'v'") == ["a"] and search("tags.k != 'v'") == []
    store.experiments.set_tag(ws.id, 1, "k", "w")
    assert store.experiments.get(ws.id, 1).tags == {"k": "w"}
    assert store.experiments.delete_tag(ws.id, 1, "k") and not store.experiments.delete_tag(ws.id, 1, "k")
    store.workspaces.delete("team")
    assert store.experiments.get(ws.id, 1) is None


def test_concurrent_creates_of_one_experiment_make_one(store: SqlMetadataStore) -> None:
    ws = store.workspaces.create("team")
    results: list[object] = []

    def create(name: str) -> None:
        try:
            results.append(
                store.experiments.create(
                    ws.id, name, artifact_location=None, default_location="x:/{experiment_id}"
                )
            )
        except ConflictError as exc:
            results.append(exc)

    threads = [
        threading.Thread(target=create, args=(name,)) for name in ["same"] * 4 + [f"n{i}" for i in range(6)]
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert len(conflicts) == 3 and len(results) == 10
    ids = sorted(r.experiment_id for r in results if not isinstance(r, ConflictError))
    assert ids == list(range(1, 8)), "ids are unique and dense under contention"


def _run(store: SqlMetadataStore, name: str = "r"):
    ws = store.workspaces.get("team") or store.workspaces.create("team")
    if store.experiments.get(ws.id, 1) is None:
        store.experiments.create(ws.id, "e", artifact_location=None, default_location="mlflow-artifacts:/1")
    run_id = uuid.uuid4().hex
    store.runs.create(
        ws.id, 1, run_id=run_id, name=name, user_id="u", start_time=1, artifact_uri="x", tags={}
    )
    return ws, run_id


def test_runs_log_latest_and_idempotent_retries(store: SqlMetadataStore) -> None:
    import math

    from stratus.errors import BadRequestError
    from stratus.store.tracking import MetricPoint

    ws, run_id = _run(store)
    points = [
        MetricPoint("loss", v, t, s) for v, t, s in [(3.0, 1, 0), (2.0, 2, 1), (9.0, 0, 1), (math.nan, 5, 0)]
    ]
    store.runs.log(ws.id, run_id, metrics=points, params={"a": "1"}, tags={"t": "x"})
    store.runs.log(ws.id, run_id, metrics=points[:2], params={"a": "1"})  # a retry changes nothing
    history = store.runs.metric_history(ws.id, run_id, "loss", limit=100, offset=0)
    assert len(history) == 4 and [p.step for p in history] == [0, 0, 1, 1] and math.isnan(history[1].value)
    record = store.runs.get(ws.id, run_id)
    assert record.metrics["loss"].value == 2.0, "latest = highest step, then timestamp, then value"
    assert (record.params, record.tags) == ({"a": "1"}, {"t": "x"})
    with pytest.raises(BadRequestError):
        store.runs.log(ws.id, run_id, params={"a": "2"})
    other = store.workspaces.create("other")
    assert store.runs.get(other.id, run_id) is None, "run ids do not cross workspaces"


def test_metric_only_logs_keep_the_latest_and_refuse_runs_not_active(store: SqlMetadataStore) -> None:
    """Metric-only batches take the store's shortest path (one statement on PostgreSQL): the same rules."""
    import math

    from stratus.errors import BadRequestError
    from stratus.store.tracking import MetricPoint

    ws, run_id = _run(store)
    store.runs.log(ws.id, run_id, metrics=[MetricPoint("acc", 0.5, 10, 3)])
    store.runs.log(ws.id, run_id, metrics=[MetricPoint("acc", 0.9, 20, 2)])  # an older step: not latest
    store.runs.log(ws.id, run_id, metrics=[MetricPoint("acc", math.nan, 10, 3)])  # NaN ranks lowest
    store.runs.log(
        ws.id,
        run_id,
        metrics=[MetricPoint("b", 1.0, 1, 1), MetricPoint("b", 2.0, 1, 1), MetricPoint("a", 7, 0, 0)],
    )
    record = store.runs.get(ws.id, run_id)
    assert (record.metrics["acc"].value, record.metrics["acc"].step) == (0.5, 3)
    assert (record.metrics["b"].value, record.metrics["a"].value) == (2.0, 7.0)
    assert len(store.runs.metric_history(ws.id, run_id, "acc", limit=10, offset=0)) == 3
    with pytest.raises(NotFoundError):
        store.runs.log(ws.id, uuid.uuid4().hex, metrics=[MetricPoint("acc", 1.0, 1, 9)])
    other = store.workspaces.create("elsewhere")
    with pytest.raises(NotFoundError):
        store.runs.log(other.id, run_id, metrics=[MetricPoint("acc", 1.0, 1, 9)])
    store.runs.update(ws.id, run_id, lifecycle_stage="deleted")
    with pytest.raises(BadRequestError, match="deleted"):
        store.runs.log(ws.id, run_id, metrics=[MetricPoint("acc", 1.0, 1, 9)])
    assert store.runs.get(ws.id, run_id).metrics["acc"].step == 3, "nothing written to a deleted run"
    assert len(store.runs.metric_history(ws.id, run_id, "acc", limit=10, offset=0)) == 3


def test_concurrent_metric_writers_lose_nothing(store: SqlMetadataStore) -> None:
    from stratus.store.tracking import MetricPoint

    ws, run_id = _run(store)
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for batch in range(10):
                store.runs.log(
                    ws.id, run_id, metrics=[MetricPoint(f"w{index}", float(i), batch, i) for i in range(25)]
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for index in range(8):
        assert len(store.runs.metric_history(ws.id, run_id, f"w{index}", limit=1000, offset=0)) == 250


def test_writes_without_waiting_never_wait_for_another_writer(store: SqlMetadataStore) -> None:
    """SQLite promises writes that never wait (the server's event loop makes them); held up by another
    writer, such a write raises WouldWaitError having written nothing, and succeeds once the lock is gone.
    PostgreSQL promises nothing, and its writes inside the block are ordinary ones."""
    from stratus.store.metadata import WouldWaitError
    from stratus.store.tracking import MetricPoint

    ws, run_id = _run(store)
    point = MetricPoint("loss", 1.0, 1, 0)
    with store.without_waiting() as never_waits:
        assert never_waits is (store.engine.dialect.name == "sqlite")
        store.runs.log(ws.id, run_id, metrics=[point], params={"p": "1"}, tags={"t": "x"})
    assert store.runs.get(ws.id, run_id).metrics["loss"].value == 1.0
    if store.engine.dialect.name != "sqlite":
        return
    with store.engine.connect() as other:
        other.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds the write lock
        with store.without_waiting(), pytest.raises(WouldWaitError):
            store.runs.log(ws.id, run_id, metrics=[MetricPoint("loss", 2.0, 2, 1)])
        other.exec_driver_sql("ROLLBACK")
    record = store.runs.get(ws.id, run_id)
    assert record.metrics["loss"].step == 0, "the refused write left nothing behind"
    with store.without_waiting():
        store.runs.log(ws.id, run_id, metrics=[MetricPoint("loss", 2.0, 2, 1)])
    assert store.runs.get(ws.id, run_id).metrics["loss"].step == 1
    store.runs.log(ws.id, run_id, metrics=[MetricPoint("loss", 3.0, 3, 2)])  # outside: waits as before
    assert len(store.runs.metric_history(ws.id, run_id, "loss", limit=10, offset=0)) == 3
    # The no-wait connection never checkpoints the write-ahead log; a thread of the store does.
    assert store._no_wait is not None
    checkpointer = store._no_wait.checkpointer
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpointer.checkpoints > 0
    # One connection, so one transaction at a time, and one thread: a store call inside a no-wait
    # transaction is refused (the caller retries in a worker thread), and another thread gets no promise.
    with store.without_waiting(), store.runs._tx(), pytest.raises(WouldWaitError):
        store.runs.log(ws.id, run_id, metrics=[MetricPoint("loss", 4.0, 4, 3)])
    assert len(store.runs.metric_history(ws.id, run_id, "loss", limit=10, offset=0)) == 3
    other_thread: list[bool] = []

    def ask() -> None:
        with store.without_waiting() as promised:
            other_thread.append(promised)

    asker = threading.Thread(target=ask)
    asker.start()
    asker.join()
    assert other_thread == [False]
    # Closing right after a write does not leave the checkpointer waiting for a wake-up it lost.
    with store.without_waiting():
        store.runs.log(ws.id, run_id, metrics=[MetricPoint("loss", 5.0, 5, 4)])
    checkpointer.close()
    assert checkpointer._thread is not None and not checkpointer._thread.is_alive()


def test_driver_level_writes_raise_sqlalchemy_errors(store: SqlMetadataStore) -> None:
    """The log path runs on the driver's cursor; its errors still reach callers (and the server's 503
    handler for a lost database) as SQLAlchemy's, with the driver's error inside."""
    from stratus.store.sql.runlog import driver_cursor

    with (
        store.engine.connect() as connection,
        pytest.raises(DBAPIError) as raised,
        driver_cursor(connection) as cursor,
    ):
        cursor.execute("SELECT x FROM no_such_table")
    assert isinstance(raised.value.orig, store.engine.dialect.loaded_dbapi.Error)
    assert "no_such_table" in str(raised.value)


@pytest.mark.postgres
def test_pooled_connections_ended_by_the_server_are_replaced_unnoticed(postgres_url: str) -> None:
    """PostgreSQL: connections the server ended while they sat in the pool (a restart, an administrator)
    are noticed at checkout and replaced; no caller sees an error, without a ping on every checkout."""
    from stratus.store.tracking import MetricPoint

    store = open_store(postgres_url)
    try:
        ws, run_id = _run(store)
        with store.engine.connect() as first, store.engine.connect() as second:  # two pooled connections
            pids = {c.execute(text("SELECT pg_backend_pid()")).scalar() for c in (first, second)}
        admin_engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as admin:
            for pid in pids:
                assert admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        admin_engine.dispose()
        time.sleep(0.2)  # the server's goodbye reaches the pooled sockets
        for step in range(4):
            store.runs.log(ws.id, run_id, metrics=[MetricPoint("m", 1.0, step, step)])
        assert len(store.runs.metric_history(ws.id, run_id, "m", limit=100, offset=0)) == 4
    finally:
        store.close()


def test_concurrent_writers_of_the_same_keys(store: SqlMetadataStore) -> None:
    """Retries racing their originals: same metric key, same param, same tag, all at once."""
    from stratus.store.tracking import MetricPoint

    ws, run_id = _run(store)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def writer(index: int) -> None:
        try:
            barrier.wait()
            for step in range(20):
                store.runs.log(
                    ws.id,
                    run_id,
                    metrics=[MetricPoint("shared", float(step), step, step)],
                    params={"p": "same"},
                    tags={"t": f"v{index}"},
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.runs.metric_history(ws.id, run_id, "shared", limit=1000, offset=0)) == 20
    record = store.runs.get(ws.id, run_id)
    assert (
        record.metrics["shared"].step == 19
        and record.params == {"p": "same"}
        and record.tags["t"].startswith("v")
    )


def test_run_inputs_dedupe_and_dataset_search(store: SqlMetadataStore) -> None:
    """A dataset is stored once per experiment; logging an input twice (or racing) changes nothing."""
    from stratus.store.tracking import DatasetInput, DatasetRecord
    from stratus.tracking.search import parse_filter

    ws, first = _run(store, "first")
    _, second = _run(store, "second")
    train = DatasetInput(
        DatasetRecord("iris", "abc123", "code", '{"x": 1}'), {"mlflow.data.context": "train"}
    )
    test = DatasetInput(
        DatasetRecord("iris", "def456", "code", "{}", schema="{}"), {"mlflow.data.context": "eval"}
    )
    barrier = threading.Barrier(4)

    def log() -> None:
        barrier.wait()
        store.runs.log_inputs(ws.id, first, datasets=[train, test])

    threads = [threading.Thread(target=log) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.runs.log_inputs(ws.id, second, datasets=[train])
    record = store.runs.get(ws.id, first)
    assert record is not None and [i.dataset.digest for i in record.dataset_inputs] == ["abc123", "def456"]
    assert record.dataset_inputs[1].dataset.schema == "{}" and record.dataset_inputs[0].tags == train.tags
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM datasets")).scalar_one() == 2

    def found(filter_string: str) -> set[str]:
        runs = store.runs.search(
            ws.id,
            [1],
            stages=["active"],
            clauses=parse_filter(filter_string),
            order_by=[],
            limit=10,
            offset=0,
        )
        return {r.name for r in runs}

    assert found("datasets.name = 'iris'") == {"first", "second"}
    assert found("datasets.digest = 'def456'") == {"first"}
    assert found("datasets.context IN ('eval', 'other')") == {"first"}
    assert found("datasets.context LIKE 'tr%' AND datasets.digest != 'zzz'") == {"first", "second"}
    assert found("datasets.name = 'wine'") == set()
    with pytest.raises(NotFoundError):
        store.runs.log_inputs(ws.id, first, model_ids=["m-unknown"])
