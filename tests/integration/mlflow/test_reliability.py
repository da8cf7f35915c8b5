"""Concurrent writers lose nothing, even when the server is killed with SIGKILL between their writes.

The writers are the stock ``MlflowClient`` with its own retries: eight threads of one process (importing
mlflow is the slow part, so one import per backend instead of eight), each with its own run key and
connections to the server. Each thread records every acknowledged batch with the wall-clock times the call
started and returned, which is the evidence that it was writing before the kill, was in flight across it,
and wrote through the restarted server afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from plugins.stratus_server import LiveServer, start_server, wait_ready

WRITERS = 8
BATCH = 50
PROGRESS_DEADLINE = 180  # seconds to wait for a stage of the writers' progress before failing

# argv: run id, writer count, progress file, stop file. Each thread writes batches of fresh steps until the
# stop file exists, appending "<key> <started> <returned>" per acknowledged batch. A thread that fails
# ends the whole process with its traceback, so the test sees it at once; a batch whose answer the kill cut
# short is sent again (the one error the client's own retries leave to the caller).
WRITER = f"""
import os, sys, threading, time, traceback
from mlflow import MlflowClient
from mlflow.entities import Metric

run_id, writers, progress, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()
out = open(progress, "a")

def write(key):
    try:
        client, step = MlflowClient(), 0
        while not os.path.exists(stop):
            batch = [Metric(key, float(i), i, i) for i in range(step, step + {BATCH})]
            started = time.time()
            while True:
                try:
                    client.log_batch(run_id, metrics=batch)
                    break
                except Exception as exc:
                    # A kill between the answer's headers and its body leaves the client an answer cut
                    # short, which its retries do not cover (they end when an answer begins): the outcome
                    # is unknown, so the batch goes again, as a careful script would; batches are
                    # idempotent. Any other error fails the writer.
                    if "Connection broken" not in str(exc) and "IncompleteRead" not in str(exc):
                        raise
                    print(f"{{key}}: answer cut short, sending the batch again", file=sys.stderr, flush=True)
            returned = time.time()
            with lock:
                out.write(f"{{key}} {{started}} {{returned}}\\n")
                out.flush()
            step += {BATCH}
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)

threads = [threading.Thread(target=write, args=(f"w{{i}}",)) for i in range(writers)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


@dataclass(frozen=True)
class Ack:
    key: str
    started: float
    returned: float


def _acks(progress: Path) -> list[Ack]:
    if not progress.exists():
        return []
    lines = progress.read_text().split("\n")[:-1]  # the last piece may be a line still being written
    return [
        Ack(key, float(started), float(returned)) for key, started, returned in (ln.split() for ln in lines)
    ]


def _steps(server: LiveServer, run_id: str, key: str) -> list[int]:
    """Every stored point of ``key`` (its step), all pages."""
    steps: list[int] = []
    params = {"run_id": run_id, "metric_key": key, "max_results": "10000"}
    while True:
        response = httpx.get(
            f"{server.url}/api/2.0/mlflow/metrics/get-history",
            params=params,
            headers={"Authorization": f"Bearer {server.admin_token}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        steps += [int(m["step"]) for m in body.get("metrics", [])]
        if not body.get("next_page_token"):
            return steps
        params["page_token"] = body["next_page_token"]


def _wait_for(condition: Callable[[], bool], what: str, writer: subprocess.Popen[str], errors: Path) -> None:
    deadline = time.monotonic() + PROGRESS_DEADLINE
    while not condition():
        if writer.poll() is not None:
            pytest.fail(
                f"the writers exited ({writer.returncode}) before {what}:\n{errors.read_text()[-3000:]}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"no progress within {PROGRESS_DEADLINE}s: waiting for {what}")
        time.sleep(0.1)


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
    run_id = httpx.post(
        f"{server.url}/api/2.0/mlflow/runs/create",
        json={"experiment_id": "0"},
        headers={"Authorization": f"Bearer {token}"},
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
    keys = {f"w{i}" for i in range(WRITERS)}
    progress, stop, errors = tmp_path / "acks.txt", tmp_path / "stop", tmp_path / "writers.err"
    with errors.open("w") as err:  # a file, not a pipe that could fill and block the writers
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, run_id, str(WRITERS), str(progress), str(stop)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
    try:
        _wait_for(
            lambda: {a.key for a in _acks(progress)} == keys, "every writer's first ack", writer, errors
        )
        killed = time.time()
        server.process.send_signal(signal.SIGKILL)  # no shutdown at all: acknowledged writes must be durable
        server.process.wait(10)
        reaped = time.time()  # a call started after this can only be answered by the restarted server
        server = start_server(home, port=port, wait=False, env=database)
        wait_ready(server)
        _wait_for(
            lambda: {a.key for a in _acks(progress) if a.started > reaped} == keys,
            "every writer's ack of a batch begun after the kill",
            writer,
            errors,
        )
        stop.touch()
        assert writer.wait(120) == 0, errors.read_text()[-3000:]
        acks = _acks(progress)
        # The evidence that the kill hit running writers and that the stock client's retries carried
        # calls across it: every writer was acknowledged before the kill and after the restart, and
        # some calls began before the kill and were answered only by the restarted server.
        assert {a.key for a in acks if a.returned < killed} == keys
        assert {a.key for a in acks if a.started > reaped} == keys
        assert [a for a in acks if a.started < killed and a.returned > reaped], (
            "no call was in flight at the kill"
        )
        for key in sorted(keys):
            acknowledged = sum(a.key == key for a in acks)
            stored = sorted(_steps(server, run_id, key))
            # Every acknowledged point exactly once: none lost, retried batches not doubled.
            assert stored == list(range(acknowledged * BATCH)), (key, acknowledged, len(stored))
    finally:
        stop.touch()
        if writer.poll() is None:
            writer.kill()
            writer.wait(10)
        server.stop()
