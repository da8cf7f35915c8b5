"""Shared fixtures. Tests never touch port 8765 or ~/.stratus: free ports and temporary homes only."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["plugins.services", "plugins.stratus_server", "plugins.package_index"]

IN_CI = os.environ.get("CI", "").lower() == "true"
SERVICE_MARKERS = ("postgres", "azurite", "s3")
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


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A uniquely named database, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"stratus_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stratus.db'}"
    return str(request.getfixturevalue("postgres_url"))


_skipped_service_tests: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and any(m in report.keywords for m in SERVICE_MARKERS):
        _skipped_service_tests.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _skipped_service_tests:
        print(f"\nCI=true: {len(_skipped_service_tests)} service test(s) were skipped:")
        for nodeid in _skipped_service_tests[:20]:
            print(f"  {nodeid}")
        session.exitstatus = 1
