"""The examples run as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from plugins.stratus_server import LiveServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_quickstart(live_server: LiveServer) -> None:
    env = {**os.environ, "STRATUS_URL": live_server.url, "STRATUS_TOKEN": live_server.admin_token}
    for _ in range(2):  # idempotent
        result = subprocess.run(
            [sys.executable, str(EXAMPLES / "quickstart.py"), "--workspace", "demo"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
    assert f"tracking URI: {live_server.url}/workspaces/demo" in result.stdout


def test_azureml_config_shape() -> None:
    config = json.loads((EXAMPLES / ".azureml" / "config.json").read_text())
    assert set(config) == {"endpoint", "workspace_name"}
