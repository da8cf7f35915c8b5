"""Shared fixtures. Tests never touch port 8765 or ~/.stratus: free ports and temporary homes only."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["plugins.services", "plugins.stratus_server", "plugins.package_index"]

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get(
    "STRATUS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own STRATUS_HOME and config folder; none inherits the developer's settings."""
    root = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("STRATUS_") and name != "STRATUS_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("STRATUS_HOME", str(root / "stratus"))
    monkeypatch.setenv("STRATUS_CONFIG_DIR", str(root / "config"))
    return root / "stratus"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    from sqlalchemy import create_engine, text

    from plugins.services import service_unavailable

    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        service_unavailable(f"PostgreSQL unreachable at {POSTGRES_URL}: {exc.__class__.__name__}")
    return POSTGRES_URL


def _migrations_digest() -> str:
    """Names the migrated template by what migrates it: a changed migration makes a new template."""
    import hashlib

    import stratus.store.sql

    folder = Path(stratus.store.sql.__file__).parent
    digest = hashlib.sha256()
    for path in sorted([folder / "engine.py", *(folder / "migrations").rglob("*.py")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str) -> str:
    """A database migrated to head once (per migration code, shared by runs and xdist workers) that each
    test's database is copied from with CREATE DATABASE ... TEMPLATE, instead of migrating it again."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from stratus.store.sql import make_engine, upgrade

    name = f"stratus_template_{_migrations_digest()}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(hashtext('stratus-test-template'))"))
            try:
                found = text("SELECT 1 FROM pg_database WHERE datname = :n")
                if conn.execute(found, {"n": name}).first() is None:
                    building = f"{name}_building"
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)'))
                    conn.execute(text(f'CREATE DATABASE "{building}"'))
                    url = make_url(postgres_server_url).set(database=building)
                    engine = make_engine(url.render_as_string(hide_password=False))
                    upgrade(engine)
                    engine.dispose()
                    conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(hashtext('stratus-test-template'))"))
    finally:
        admin.dispose()
    return name


def _new_postgres_database(server_url: str, template: str | None) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"stratus_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_server_url: str, postgres_template: str) -> Iterator[str]:
    """A uniquely named database with the schema at head (copied from the template), dropped afterwards."""
    yield from _new_postgres_database(postgres_server_url, postgres_template)


@pytest.fixture
def empty_postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A uniquely named empty database (for tests of migrating and of first starts), dropped afterwards."""
    yield from _new_postgres_database(postgres_server_url, None)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> str:
    """Each store test runs on both databases, their schema already at head."""
    if request.param == "sqlite":
        target = tmp_path / "stratus.db"
        shutil.copyfile(migrated_sqlite, target)
        return f"sqlite:///{target}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each migration test runs on both databases, empty."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stratus.db'}"
    return str(request.getfixturevalue("empty_postgres_url"))


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once per session, for tests to copy instead of migrating."""
    from stratus.store.sql import make_engine, upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "stratus.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


# Files that take a minute or more of one worker (servers, environment builds, mypy, benchmarks). With
# `--dist loadfile --no-loadscope-reorder` (the Makefile's) files go to workers in collection order:
# these first, so they run beside the many short files instead of trailing the run on one worker.
SLOW_FILES_FIRST = (
    "tests/benchmarks/test_tracking_benchmark.py",
    "tests/integration/test_mlflow_import.py",
    "tests/integration/test_openapi_fuzz.py",
    "tests/integration/assets/test_model_environment.py",
    "tests/test_quality.py",
    "tests/integration/assets/test_environments.py",
    "tests/benchmarks/test_environments_benchmark.py",
    "tests/integration/mlflow/test_backends_smoke.py",
    "tests/integration/mlflow/test_upload_kill.py",
    "tests/integration/mlflow/test_stratus_views.py",
    "tests/conformance/test_artifact_store.py",
    "tests/integration/mlflow/test_reliability.py",
    "tests/integration/mlflow/test_registry.py",
    "tests/integration/mlflow/test_mlflow_autolog.py",
)
_ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(SLOW_FILES_FIRST)}

    def order(item: pytest.Item) -> int:
        try:
            name = item.path.relative_to(_ROOT).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(name, len(rank))

    items.sort(key=order)  # stable: the rest keep their order


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else ""
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI=true a skip is a failure, whatever its reason: a green run must have run every test."""
    if IN_CI and _skipped:
        print(f"\nCI=true: {len(_skipped)} test(s) skipped, and CI allows none:")
        for line in _skipped[:30]:
            print(f"  {line}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
