"""Concurrent writers lose nothing, even when the server is killed with SIGKILL between their writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from plugins.stratus_server import start_server, wait_ready

WRITERS = 8
METRICS = 1000
WRITER = f"""
import sys, mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric
client = MlflowClient()
run_id, key = sys.argv[1], "w" + sys.argv[2]
for start in range(0, {METRICS}, 50):
    client.log_batch(run_id, metrics=[Metric(key, float(i), i, i) for i in range(start, start + 50)])
print("done")
"""


def _count(url: str, token: str, run_id: str, key: str) -> int:
    response = httpx.get(
        f"{url}/api/2.0/mlflow/metrics/get-history",
        params={"run_id": run_id, "metric_key": key, "max_results": 25000},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    return len(response.json().get("metrics", []))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_writers_survive_a_killed_server(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    home = tmp_path / "home"
    database = (
        {} if backend == "sqlite" else {"STRATUS_DATABASE_URL": request.getfixturevalue("postgres_url")}
    )
    server = start_server(home, env=database)
    token, port = server.admin_token, server.port
    headers = {"Authorization": f"Bearer {token}"}
    run_id = httpx.post(
        f"{server.url}/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}, headers=headers
    ).json()["run"]["info"]["run_id"]
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": server.url,
        "MLFLOW_TRACKING_TOKEN": token,
        # Let the stock client ride out the restart with its own retries.
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "10",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
        "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    }
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, run_id, str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    try:
        deadline = time.monotonic() + 120
        while _count(server.url, token, run_id, "w0") < METRICS // 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        server.process.send_signal(signal.SIGKILL)  # no shutdown at all: acknowledged writes must be durable
        server.process.wait(10)
        server = start_server(home, port=port, wait=False, env=database)
        wait_ready(server)
        outputs = [w.communicate(timeout=300) for w in writers]
        assert [w.returncode for w in writers] == [0] * WRITERS, [o[1][-1500:] for o in outputs]
        counts = [_count(server.url, token, run_id, f"w{i}") for i in range(WRITERS)]
        assert counts == [METRICS] * WRITERS, "every point exactly once: none lost, retries not doubled"
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
        server.stop()
