"""The tracking write path on the database driver: a run's stage, its metric points and latest values.

``log-metric`` is the call the stock client makes most, one per point. Through SQLAlchemy each of its
statements cost more Python than the database spent on it (execution contexts, result proxies, the
Session's state machine): here the statements are SQL compiled once per dialect and run on the driver's
cursor, inside the transaction of the caller's SQLAlchemy ``Connection``. The SQL stays defined by
the tables (Core statements, compiled), except the two point inserts, which are already driver SQL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from stratus.store.sql.tables import LatestMetricRow, RunRow

# PostgreSQL: a whole batch in one statement over arrays (one round trip instead of one per point).
_PG_POINTS = (
    "SELECT %(run_id)s, * FROM unnest(CAST(%(keys)s AS text[]), CAST(%(steps)s AS bigint[]), "
    "CAST(%(timestamps)s AS bigint[]), CAST(%(values)s AS double precision[]), CAST(%(nans)s AS boolean[]))"
)
_PG_INSERT_POINTS_INTO = "INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan) "
_PG_INSERT_POINTS = "".join((_PG_INSERT_POINTS_INTO, _PG_POINTS, " ON CONFLICT DO NOTHING"))
# SQLite: the driver's executemany over plain tuples.
_SQLITE_INSERT_POINTS = (
    "INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)
_LATEST_COLUMNS = ("run_id", "key", "value", "is_nan", "timestamp", "step")


@dataclasses.dataclass(frozen=True)
class _Statements:
    """Driver SQL of one dialect; parameters by name (SQLite ``:name``, psycopg ``%(name)s``)."""

    dialect: str
    run_stage: str
    latest_upsert: str
    latest_upsert_core: Any  # for many rows on PostgreSQL: SQLAlchemy sends them as multi-row VALUES
    log_points: str | None  # PostgreSQL: the stage check and both writes in one statement


_COMPILED: dict[str, _Statements] = {}


def _named_dialect(dialect: Dialect) -> Dialect:
    # Named parameters, so one dict of values serves every statement whatever its placeholder order
    # (psycopg's own style is already named).
    return sqlite.dialect(paramstyle="named") if dialect.name == "sqlite" else dialect


def _latest_upsert_statement(dialect: str) -> Any:
    """Keep the latest point per key: newer = higher step, then later timestamp, then larger value
    (NaN lowest), as MLflow ranks them."""
    table: Table = LatestMetricRow.__table__  # type: ignore[assignment]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    new, old = insert.excluded, table.c
    larger_value = and_(new.is_nan.is_(False), or_(old.is_nan.is_(True), new.value > old.value))
    newer = or_(
        new.step > old.step,
        and_(new.step == old.step, new.timestamp > old.timestamp),
        and_(new.step == old.step, new.timestamp == old.timestamp, larger_value),
    )
    return insert.on_conflict_do_update(
        index_elements=[old.run_id, old.key],
        set_={"value": new.value, "is_nan": new.is_nan, "timestamp": new.timestamp, "step": new.step},
        where=newer,
    )


_PG_ACTIVE_RUN = " WHERE EXISTS (SELECT 1 FROM run WHERE lifecycle_stage = 'active')"
_PG_LOG_POINTS_HEAD = "".join(
    (
        "WITH run AS (SELECT lifecycle_stage FROM runs "
        "WHERE run_id = %(run_id)s AND workspace_id = %(workspace)s), points AS (",
        _PG_INSERT_POINTS_INTO,
        _PG_POINTS,
        _PG_ACTIVE_RUN,
        " ON CONFLICT DO NOTHING), latest AS (INSERT INTO latest_metrics "
        "(run_id, key, value, is_nan, timestamp, step) SELECT %(run_id)s, * FROM unnest("
        "CAST(%(latest_keys)s AS text[]), CAST(%(latest_values)s AS double precision[]), "
        "CAST(%(latest_nans)s AS boolean[]), CAST(%(latest_timestamps)s AS bigint[]), "
        "CAST(%(latest_steps)s AS bigint[]))",
        _PG_ACTIVE_RUN,
    )
)


def _pg_log_points(latest_upsert: str) -> str:
    """One round trip for a batch of points on PostgreSQL: the run's stage is read, and the points and
    latest values are written only if it is active, by data-modifying CTEs over arrays. The latest
    values' ON CONFLICT clause is the compiled upsert's, so the "newer" rule has one definition."""
    on_conflict = latest_upsert[latest_upsert.index(" ON CONFLICT ") :]
    # Only constants go into this SQL (the upsert's tail is compiled from our own statement); every
    # value is a bound parameter.
    return "".join((_PG_LOG_POINTS_HEAD, on_conflict, ") SELECT lifecycle_stage FROM run"))


def _statements(dialect: Dialect) -> _Statements:
    compiled = _COMPILED.get(dialect.name)
    if compiled is None:
        named = _named_dialect(dialect)
        runs: Table = RunRow.__table__  # type: ignore[assignment]
        stage = select(runs.c.lifecycle_stage).where(
            runs.c.run_id == bindparam("run"), runs.c.workspace_id == bindparam("workspace")
        )
        upsert = _latest_upsert_statement(dialect.name)
        compiled = _Statements(
            dialect=dialect.name,
            run_stage=str(stage.compile(dialect=named)),
            latest_upsert=str(upsert.compile(dialect=named, column_keys=list(_LATEST_COLUMNS))),
            latest_upsert_core=upsert,
            log_points=(
                _pg_log_points(str(upsert.compile(dialect=named))) if dialect.name == "postgresql" else None
            ),
        )
        _COMPILED[dialect.name] = compiled
    return compiled


@contextmanager
def driver_cursor(connection: Connection) -> Iterator[Any]:
    """The driver's cursor of ``connection``; its errors raised as SQLAlchemy raises them (callers and
    the server's handlers know those: a lost database is a 503), a lost connection invalidated."""
    dialect = connection.dialect
    cursor = connection.connection.cursor()
    try:
        yield cursor
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(
            None, None, error, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from error
    finally:
        with contextlib.suppress(Exception):  # closing a cursor of an invalidated connection fails too
            cursor.close()


def run_stage(connection: Connection, workspace_id: str, run_id: str) -> str | None:
    """The run's lifecycle stage, or None when the workspace has no such run."""
    with driver_cursor(connection) as cursor:
        cursor.execute(_statements(connection.dialect).run_stage, {"run": run_id, "workspace": workspace_id})
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def logs_points_in_one_statement(dialect: Dialect) -> bool:
    """Whether ``log_points_in_one_statement`` serves this dialect (PostgreSQL); else check the run's
    stage and ``write_points`` in a transaction."""
    return _statements(dialect).log_points is not None


def log_points_in_one_statement(
    connection: Connection, workspace_id: str, run_id: str, stored: list[dict[str, Any]]
) -> str | None:
    """Write the points if the run is active, in one statement (an autocommit connection needs no other
    round trip); returns the run's stage (None: no such run). Nothing is written unless it is active."""
    statement = _statements(connection.dialect).log_points
    assert statement is not None, "see logs_points_in_one_statement"
    latest = _latest_per_key(stored)
    with driver_cursor(connection) as cursor:
        cursor.execute(
            statement,
            {
                "run_id": run_id,
                "workspace": workspace_id,
                **_arrays(stored),
                **_arrays(latest, prefix="latest_"),
            },
        )
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def write_points(connection: Connection, run_id: str, stored: list[dict[str, Any]]) -> None:
    """Every point once (an identical point, from a retried batch, is skipped by the primary key), then
    the latest value per key. ``stored`` holds rows as the metrics table keeps them, in key order."""
    statements = _statements(connection.dialect)
    with driver_cursor(connection) as cursor:
        if statements.dialect == "postgresql":
            cursor.execute(_PG_INSERT_POINTS, {"run_id": run_id, **_arrays(stored)})
        else:
            cursor.executemany(
                _SQLITE_INSERT_POINTS,
                [(run_id, p["key"], p["step"], p["timestamp"], p["value"], p["is_nan"]) for p in stored],
            )
        latest = _latest_per_key(stored)
        if len(latest) == 1:
            cursor.execute(statements.latest_upsert, latest[0])
        elif statements.dialect == "postgresql":  # one statement, not a round trip per row
            connection.execute(statements.latest_upsert_core, latest)
        else:
            cursor.executemany(statements.latest_upsert, latest)


def _arrays(points: list[dict[str, Any]], prefix: str = "") -> dict[str, list[Any]]:
    """Points as the column arrays PostgreSQL's ``unnest`` takes, named as the statements name them."""
    columns = {"keys": "key", "steps": "step", "timestamps": "timestamp", "values": "value", "nans": "is_nan"}
    return {prefix + name: [p[column] for p in points] for name, column in columns.items()}


def _latest_per_key(stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for point in stored:
        current = best.get(point["key"])
        if current is None or _rank(point) > _rank(current):
            best[point["key"]] = point
    return [{k: best[key][k] for k in _LATEST_COLUMNS} for key in sorted(best)]


def _rank(point: dict[str, Any]) -> tuple[int, int, float]:
    return point["step"], point["timestamp"], -math.inf if point["is_nan"] else point["value"]
