"""The README's own steps, as written: its "Using it" commands, its SDK snippet and its MLflow snippet run in
bash against a server on a port other than 8765 with a temporary home, so the README cannot drift again."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.stratus_server import LiveServer, start_server

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _blocks(section: str, language: str) -> list[str]:
    """The fenced ``language`` blocks of a README section (up to the next ``## `` heading)."""
    text = README.read_text()
    start = text.index(f"## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end != -1 else len(text)]
    return re.findall(rf"```{language}\n(.*?)```", body, flags=re.DOTALL)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(tmp_path / "home")
    yield live
    live.stop()


def test_the_readme_steps_work_as_written_on_another_port(server: LiveServer, tmp_path: Path) -> None:
    assert server.port != 8765
    [using] = _blocks("Using it", "sh")
    [sdk] = _blocks("Using it", "python")
    mlflow = _blocks("MLflow", "sh")[0]  # the next block lists commands with placeholders (<run-id>)
    assert "source .venv/bin/activate" in using and "stratus login" in using and "MLClient(" in sdk
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")  # the steps start in a checkout: `source .venv/bin/activate`
    script = "\n".join(
        [
            "set -euo pipefail",
            using,
            "python - <<'PYTHON'",
            sdk,
            "PYTHON",
            mlflow,
            "stratus job list --experiment-name demo -o json > jobs.json",  # as the README's list has it
        ]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRATUS_", "MLFLOW_", "VIRTUAL_ENV"))}
    env |= {"STRATUS_HOME": str(server.home), "STRATUS_CONFIG_DIR": str(tmp_path / "config")}
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":") if ".venv" not in p)
    done = subprocess.run(
        ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # What the steps left: alice's token in a private file, her login, the SDK's answer, her run.
    token = (work / "alice.token").read_text().strip()
    assert token.startswith("stratus_") and (work / "alice.token").stat().st_mode & 0o777 == 0o600
    saved = json.loads((tmp_path / "config" / "config.json").read_text())
    # A login to the server running here saves no URL: it follows <home>/server.json to any later port.
    assert (saved["url"], saved["workspace"], saved["token"]) == (None, "team-a", token)
    assert f"team-a {server.url}/workspaces/team-a" in done.stdout
    jobs = json.loads((work / "jobs.json").read_text())
    assert len(jobs) == 1 and jobs[0]["experiment_name"] == "demo" and jobs[0]["metrics"] == {"loss": 0.1}
