"""What every SQL domain store shares: sessions, paging, dialect-aware inserts and upserts, ids and times."""

from __future__ import annotations

import base64
import contextvars
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Connection, Engine, Select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from stratus.errors import BadRequestError
from stratus.store.metadata import WouldWaitError
from stratus.store.paging import Page

R = TypeVar("R")
Ts = TypeVarTuple("Ts")


def dialect_insert(bind: Session | Connection, table: Any) -> Any:
    """INSERT with ON CONFLICT, which SQLite and PostgreSQL both have: writes racing on one key (a retry
    and its original, say) resolve in the database instead of failing on the primary key."""
    name = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    module = postgresql if name == "postgresql" else sqlite
    return module.insert(getattr(table, "__table__", table))


def execute_many(bind: Session | Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
    """One Core statement for many rows (the driver's executemany): compiled once and cached, unlike a
    multi-row VALUES whose SQL changes with the row count, and without the ORM's bulk machinery."""
    if rows:
        (bind.connection() if isinstance(bind, Session) else bind).execute(statement, rows)


def upsert(bind: Session | Connection, table: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert ``rows``, or overwrite the other columns of rows whose ``keys`` already exist."""
    if not rows:
        return
    insert = dialect_insert(bind, table)
    changed = {name: insert.excluded[name] for name in rows[0] if name not in keys}
    execute_many(bind, insert.on_conflict_do_update(index_elements=list(keys), set_=changed), rows)


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def encode_page_token(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_page_token(token: str) -> str | int:
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError):
        key = None
    # Only the scalar sort keys we hand out come back; anything else would reach SQL as a bad operand.
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise BadRequestError("invalid page token; pass the next_link you were given", field="skip_token")
    return key


# Set by ``SqlMetadataStore.without_waiting`` for the calls inside it: its sessions -> the sessions of
# its connection that never waits. Keyed by the store's sessions, so another store in the process is
# never affected.
NO_WAIT_SESSIONS: contextvars.ContextVar[dict[sessionmaker[Session], sessionmaker[Session]] | None] = (
    contextvars.ContextVar("stratus_no_wait_sessions", default=None)
)


def _database_busy(error: OperationalError) -> bool:
    """SQLite's SQLITE_BUSY / SQLITE_LOCKED, as the sqlite3 module words them."""
    message = str(error.orig).lower()
    return "database is locked" in message or "database table is locked" in message


def _engine_of(sessions: sessionmaker[Session]) -> Engine:
    engine: Engine = sessions.kw["bind"]
    return engine


@contextmanager
def _begin(engine: Engine, autocommit: bool) -> Iterator[Connection]:
    if autocommit:
        with engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")
    else:
        with engine.begin() as connection:
            yield connection


# Whether a no-wait transaction is open in this context: the no-wait connection is one connection, so a
# second transaction begun inside the first would share it (and its COMMIT would commit the first's).
_NO_WAIT_OPEN: contextvars.ContextVar[bool] = contextvars.ContextVar("stratus_no_wait_open", default=False)


@contextmanager
def _no_wait_transaction() -> Iterator[None]:
    """Around a transaction on the no-wait connection: the only one open at a time, and the database
    busy with another writer raised as ``WouldWaitError`` (rolled back: nothing written). Either way the
    caller runs the call again in a worker thread."""
    if _NO_WAIT_OPEN.get():
        raise WouldWaitError("a store call inside a no-wait transaction cannot share its connection")
    token = _NO_WAIT_OPEN.set(True)
    try:
        yield
    except OperationalError as error:
        if _database_busy(error):
            raise WouldWaitError("the database is busy with another writer") from error
        raise
    finally:
        _NO_WAIT_OPEN.reset(token)


class SqlDomain:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @property
    def _dialect(self) -> Dialect:
        return _engine_of(self._sessions).dialect

    def _no_wait_sessions(self) -> sessionmaker[Session] | None:
        no_wait = NO_WAIT_SESSIONS.get()
        return no_wait.get(self._sessions) if no_wait else None

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A Session in a transaction, committed on leaving."""
        sessions = self._no_wait_sessions()
        if sessions is None:
            with self._sessions.begin() as session:
                yield session
            return
        with _no_wait_transaction(), sessions.begin() as session:
            yield session

    @contextmanager
    def _connect(self, *, autocommit: bool = False) -> Iterator[Connection]:
        """A Core Connection in a transaction, committed on leaving: for hot paths without ORM objects.
        ``autocommit``: each statement commits by itself (one statement that needs no BEGIN/COMMIT
        round trips); the connection returns to the pool in its usual mode."""
        sessions = self._no_wait_sessions()
        if sessions is None:
            with _begin(_engine_of(self._sessions), autocommit) as connection:
                yield connection
            return
        with _no_wait_transaction(), _begin(_engine_of(sessions), autocommit) as connection:
            yield connection

    def _page(
        self,
        session: Session,
        query: Select[*Ts],
        key_column: Any,
        to_record: Callable[[Any], R],
        limit: int,
        page_token: str | None,
        *,
        descending: bool = False,
    ) -> Page[R]:
        if page_token:
            after = decode_page_token(page_token)
            query = query.where(key_column < after if descending else key_column > after)
        query = query.order_by(key_column.desc() if descending else key_column).limit(limit + 1)
        rows = session.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [to_record(row) for row in rows]
        next_token = encode_page_token(_key_of(rows[-1], key_column)) if more and rows else None
        return Page(items, next_token)


def _key_of(row: Any, key_column: Any) -> Any:
    entity = row[0]
    return getattr(entity, key_column.key)
