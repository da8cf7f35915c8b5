"""Engines for sqlite:// and postgresql://, and migrations run once under a lock."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool, StaticPool

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works: it only has to be the same for every Stratus server sharing the database.
_PG_MIGRATION_LOCK_ID = 0x5374726174


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return _sqlite_engine(url, busy_timeout_ms=30_000)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_size=10, max_overflow=20)
        _check_connections_on_checkout(engine)
        # Batches of rows (log-batch: up to 1,000 metrics) go as multi-row INSERTs of up to 1,000 rows,
        # not one statement per row; SQLAlchemy does this by default only for INSERT ... RETURNING.
        engine.dialect.use_insertmanyvalues_wo_returning = True
        return engine
    raise ValueError(
        f"STRATUS_DATABASE_URL: unsupported database {parsed.get_backend_name()!r}; "
        "use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
    )


# A pooled connection idle longer than this is pinged before use even if its socket looks fine (a peer
# gone without closing, e.g. behind a dropped network path, shows nothing on the socket).
PING_AFTER_IDLE_SECONDS = 30.0


def _check_connections_on_checkout(engine: Engine) -> None:
    """Hand out only live connections, without a round trip per checkout (``pool_pre_ping`` pinged on
    every one: on the tracking hot path that was a second round trip per request). A connection whose
    socket is readable while idle in the pool has heard from the server, which an idle connection only
    does when it ends it (a restart, ``pg_terminate_backend``) or sends a notice: it is pinged. So is a
    connection idle for ``PING_AFTER_IDLE_SECONDS``. A failed ping makes the pool replace it
    (SQLAlchemy's "pessimistic" disconnect handling, raised as ``DisconnectionError``)."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _live(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None:  # new: just connected
            return
        if time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS and not _socket_readable(dbapi_connection):
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as error:  # any failure: this connection is not usable
            raise DisconnectionError(f"pooled connection is gone: {error}") from error


def _socket_readable(dbapi_connection: Any) -> bool:
    """Whether the idle connection's socket has something to read (or cannot be looked at: then the
    caller pings). ``poll``, not ``select``: descriptors past 1024 are common in containers."""
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except Exception:  # closed or broken, or no socket to look at
        return True


def _sqlite_engine(url: str, *, busy_timeout_ms: int, checkpoints: bool = True, **kwargs: Any) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False}, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        if not checkpoints:
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    return engine


def make_no_wait_engine(engine: Engine) -> Engine | None:
    """For a SQLite file: one connection that never waits for another writer (busy timeout 0), for the
    event loop's short writes (``MetadataStore.without_waiting``). In WAL mode with synchronous=NORMAL
    a commit appends to the log file without an fsync; the checkpoints that copy the log into the
    database (and fsync it) are left to a ``WalCheckpointer`` thread, never made by this connection.
    None for other databases: their writes wait on the network."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    # One connection, used by one thread (the event loop's) one call at a time: no pool to wait on.
    return _sqlite_engine(
        url.render_as_string(hide_password=False), busy_timeout_ms=0, checkpoints=False, poolclass=StaticPool
    )


class WalCheckpointer:
    """Checkpoints a SQLite database's write-ahead log in a thread of its own, shortly after writes that
    do not checkpoint themselves (``wanted``). Made at commit, a checkpoint of 1,000 pages stalled the
    committing call for 25-60 ms here; on the event loop that would stall every request. The thread
    starts with the first write that wants it: a store that never writes without waiting has none."""

    COALESCE_SECONDS = 0.2  # one checkpoint for a burst of writes

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.checkpoints = 0
        self._wanted = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def wanted(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._closed:
                    self._thread = threading.Thread(
                        target=self._run, name="stratus-sqlite-checkpoint", daemon=True
                    )
                    self._thread.start()
        self._wanted.set()

    def _run(self) -> None:
        while not self._closed:
            self._wanted.wait()
            if self._closed:
                return
            time.sleep(self.COALESCE_SECONDS)
            if self._closed:  # close() during the pause: its wake-up must not be cleared away
                return
            self._wanted.clear()
            try:
                with self.engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                self.checkpoints += 1
            except SQLAlchemyError:  # the next write asks again; writers of other threads checkpoint too
                log.warning("WAL checkpoint failed", exc_info=True)

    def close(self) -> None:
        with self._start_lock:
            self._closed = True
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class NoWaitWrites:
    """What ``MetadataStore.without_waiting`` needs of a SQLite file: the connection that never waits
    (``make_no_wait_engine``), its sessions, the checkpointer that does its WAL checkpoints, and the one
    thread it serves (the first to ask: the server's event loop; a sqlite3 connection is not for two
    threads at once). ``for_engine`` gives None where writes cannot promise not to wait."""

    def __init__(self, engine: Engine, no_wait_engine: Engine) -> None:
        self.engine = no_wait_engine
        self.sessions = sessionmaker(no_wait_engine, expire_on_commit=False)
        self.checkpointer = WalCheckpointer(engine)
        self._owner: int | None = None
        self._owner_lock = threading.Lock()

    @classmethod
    def for_engine(cls, engine: Engine) -> NoWaitWrites | None:
        no_wait_engine = make_no_wait_engine(engine)
        return None if no_wait_engine is None else cls(engine, no_wait_engine)

    def serves_this_thread(self) -> bool:
        with self._owner_lock:
            if self._owner is None:
                self._owner = threading.get_ident()
            return self._owner == threading.get_ident()

    def close(self) -> None:
        self.checkpointer.close()
        self.engine.dispose()


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # The engine, not its URL: ConfigParser would choke on '%' in a password (and print the URL).
    cfg.attributes["engine"] = engine
    return cfg


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Serialise start-up work across processes sharing one database.

    PostgreSQL: a session advisory lock. SQLite: an flock on a file beside the database.
    """
    if engine.dialect.name == "postgresql":
        lock_engine = create_engine(engine.url, poolclass=NullPool)
        with lock_engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK_ID})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK_ID})
                conn.commit()
        lock_engine.dispose()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations; callers hold ``migration_lock``. A database already at head is left as it is
    without importing Alembic and every migration script (a good part of a server's start)."""
    if revision == "head" and _at_head(engine):
        return
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


# `revision = "0010"`, `down_revision: str | None = None`, as Alembic's templates write them.
_REVISION_LINE = re.compile(
    r"^(revision|down_revision)\b[^=\n]*=\s*(?:None|'([^'\n]+)'|\"([^\"\n]+)\")\s*$", re.MULTILINE
)


def script_head() -> str | None:
    """The revision no migration script revises, read from the scripts' text; None (Alembic decides) unless
    every script names one revision and at most one parent, and they leave exactly one head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found: dict[str, list[str]] = {}
        for match in _REVISION_LINE.finditer(script.read_text(encoding="utf-8")):
            found.setdefault(match[1], []).append(match[2] or match[3] or "")
        if len(found.get("revision", [])) != 1 or len(found.get("down_revision", [])) != 1:
            return None
        revisions.add(found["revision"][0])
        if found["down_revision"][0]:
            parents.add(found["down_revision"][0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _at_head(engine: Engine) -> bool:
    head = script_head()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:  # no version table yet: a new database
        return False
    return stamped == [head]


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
