"""``upgrade`` leaves a database at head alone without Alembic, and hands every other case to Alembic: the
head read from the scripts' text agrees with Alembic's, and any doubt about it means "not at head"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from stratus.store.sql import engine as engine_module
from stratus.store.sql.engine import alembic_config, current_revision, make_engine, script_head, upgrade


def _alembic_head(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(make_engine(url))).get_current_head()
    assert head is not None
    return head


def test_the_head_read_from_the_scripts_is_alembics(tmp_path: Path) -> None:
    assert script_head() == _alembic_head(f"sqlite:///{tmp_path / 'x.db'}")


def test_a_database_at_head_is_not_migrated_again_and_alembic_stays_unloaded(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    code = (
        "import sys\n"
        "from stratus.store.sql.engine import make_engine, upgrade\n"
        f"upgrade(make_engine({database_url!r}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_database_behind_head_or_unstamped_is_upgraded(database_url: str) -> None:
    engine = make_engine(database_url)
    head = _alembic_head(database_url)
    upgrade(engine, "0001")
    upgrade(engine)
    assert current_revision(engine) == head
    with engine.begin() as conn:  # a version table left empty, as a downgrade to base leaves it
        conn.execute(text("DELETE FROM alembic_version"))
    assert not engine_module._at_head(engine)
    engine.dispose()


def _scripts(folder: Path, *bodies: str) -> Path:
    versions = folder / "versions"
    versions.mkdir(parents=True)
    for i, body in enumerate(bodies):
        (versions / f"{i:04d}_x.py").write_text(f'"""x"""\nimport sqlalchemy as sa\n\n{body}\n')
    return folder


@pytest.mark.parametrize(
    ("bodies", "head"),
    [
        (
            ['revision = "a"\ndown_revision = None', "revision: str = 'b'\ndown_revision: str | None = 'a'"],
            "b",
        ),
        # Two heads, a merge (a tuple of parents), a script without a revision, a parent nobody defines.
        (['revision = "a"\ndown_revision = None', 'revision = "b"\ndown_revision = None'], None),
        (['revision = "a"\ndown_revision = None', 'revision = "m"\ndown_revision = ("a", "b")'], None),
        (['revision = "a"\ndown_revision = None', "down_revision = 'a'"], None),
        (['revision = "b"\ndown_revision = "a"'], None),
    ],
)
def test_any_doubt_about_the_head_leaves_it_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bodies: list[str], head: str | None
) -> None:
    monkeypatch.setattr(engine_module, "MIGRATIONS_DIR", _scripts(tmp_path / "migrations", *bodies))
    assert script_head() == head
