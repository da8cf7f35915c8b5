"""What the server imports before it serves: the import graph, checked in a fresh process (never a
timing). The SDK, httpx, the CLI's Rich, Alembic (until a migration is due) and libraries only some requests
use stay out of a start."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_server_modules_import_no_client_and_no_migration_tooling() -> None:
    code = "import sys, json, stratus.server.run; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    assert {"stratus.server.app", "fastapi", "uvicorn"} <= loaded
    unwanted = ("httpx", "stratus.client", "rich", "typer", "alembic", "pandas", "numpy", "mlflow")
    assert [name for name in unwanted if name in loaded] == []
