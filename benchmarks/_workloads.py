"""The workloads of benchmarks/tracking.py, driven through the stock MLflow client (`MlflowClient`).

Each workload sets up untimed (experiment, runs, data), times only the client calls it measures, and
checks the server kept what it was sent. Against the ceiling app nothing is set up: it accepts any id.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness import Server
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

Progress = Callable[[str], None]
Result = dict[str, Any]

CEILING_RUN_ID = "0" * 32
CEILING_EXPERIMENT_ID = "1"
SEARCH_FILTER = "metrics.accuracy > 0.5"
SEARCH_ORDER = ["metrics.loss ASC"]


@dataclass(frozen=True)
class Sizes:
    log_metric_calls: int  # (a) per round
    warmup_calls: int
    batches: int  # (b) log_batch calls per round
    metrics_per_batch: int
    processes: int  # (c)
    calls_per_process: int
    search_runs: int  # (d)
    search_page_size: int
    artifact_bytes: int  # (e)
    rounds: int


FULL = Sizes(1000, 20, 20, 1000, 8, 250, 10_000, 1000, 100_000_000, 3)
QUICK = Sizes(30, 3, 2, 1000, 2, 8, 300, 100, 4_000_000, 1)
# The smoke test's: every section and check at the least size that still pages (3 pages of (d)).
SMOKE = Sizes(10, 2, 2, 100, 2, 3, 60, 20, 1_000_000, 1)


def _env_for(server: Server) -> dict[str, str | None]:
    return {"MLFLOW_TRACKING_URI": server.tracking_uri, "MLFLOW_TRACKING_TOKEN": server.token}


@contextlib.contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Bench:
    """One server as the stock client sees it: tracking URI and token in the environment, as users set."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.ceiling = server.kind == "ceiling"
        self._experiments: dict[str, str] = {}

    @contextlib.contextmanager
    def client(self) -> Iterator[MlflowClient]:
        import mlflow

        with _environment(_env_for(self.server)):
            mlflow.set_tracking_uri(self.server.tracking_uri)  # artifact URIs resolve against it
            yield MlflowClient(tracking_uri=self.server.tracking_uri)

    def experiment(self, client: MlflowClient, name: str = "bench") -> str:
        if self.ceiling:
            return CEILING_EXPERIMENT_ID
        if name not in self._experiments:
            self._experiments[name] = client.create_experiment(name)
        return self._experiments[name]

    def new_run(self, client: MlflowClient) -> str:
        if self.ceiling:
            return CEILING_RUN_ID
        return str(client.create_run(self.experiment(client)).info.run_id)


def _steps_stored(client: MlflowClient, run_id: str, key: str) -> set[int]:
    return {int(m.step) for m in client.get_metric_history(run_id, key)}


# --- (a) sequential log_metric ---------------------------------------------------------------------


def log_metric_rate(bench: Bench, sizes: Sizes) -> Result:
    with bench.client() as client:
        run_id = bench.new_run(client)
        for step in range(sizes.warmup_calls):
            client.log_metric(run_id, "warmup", 0.5, step=step)
        started = time.perf_counter()
        for step in range(sizes.log_metric_calls):
            client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
        seconds = time.perf_counter() - started
        result: Result = {"value": sizes.log_metric_calls / seconds, "seconds": seconds}
        if not bench.ceiling:
            result["stored"] = len(_steps_stored(client, run_id, "loss"))
            result["expected"] = sizes.log_metric_calls
    return result


# --- (b) log_batch of 1,000 metrics per call ---------------------------------------------------------


def _batch(index: int, size: int, prefix: str) -> list[Metric]:
    """Distinct (key, step) points: 100 keys, size / 100 steps per batch."""
    now = int(time.time() * 1000)
    keys = 100
    return [
        Metric(f"{prefix}{j % keys}", random.random(), now, index * (size // keys) + j // keys)
        for j in range(size)
    ]


def log_batch_rate(bench: Bench, sizes: Sizes) -> Result:
    batches = [_batch(i, sizes.metrics_per_batch, "m") for i in range(sizes.batches)]
    with bench.client() as client:
        run_id = bench.new_run(client)
        client.log_batch(run_id, metrics=_batch(0, sizes.metrics_per_batch, "warmup"))
        started = time.perf_counter()
        for metrics in batches:
            client.log_batch(run_id, metrics=metrics)
        seconds = time.perf_counter() - started
        total = sizes.batches * sizes.metrics_per_batch
        result: Result = {"value": total / seconds, "seconds": seconds, "metrics": total}
        if not bench.ceiling:
            result["stored"] = sum(len(_steps_stored(client, run_id, f"m{k}")) for k in range(100))
            result["expected"] = total
    return result


# --- (c) processes logging at once --------------------------------------------------------------------


def _metric_worker(
    env: dict[str, str | None],
    run_id: str,
    calls: int,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """One training process: its own client, its own run, `calls` log_metric calls once told to go."""
    for name, value in env.items():
        if value is not None:
            os.environ[name] = value
    client = MlflowClient()
    client.log_metric(run_id, "warmup", 0.0, step=0)  # import and connect before the clock starts
    ready.put(os.getpid())
    go.wait()
    failed: list[int] = []
    started = time.perf_counter()
    for step in range(calls):
        try:
            client.log_metric(run_id, "loss", float(step), step=step)
        except Exception:  # the client already retried; the server refused or lost this one
            failed.append(step)
    results.put({"run_id": run_id, "start": started, "end": time.perf_counter(), "failed": failed})


def concurrent_log_metric(bench: Bench, sizes: Sizes, timeout: float = 900) -> Result:
    context = multiprocessing.get_context("spawn")  # no inherited client state or sockets
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    with bench.client() as client:
        run_ids = [bench.new_run(client) for _ in range(sizes.processes)]
        env = _env_for(bench.server)
        workers = [
            context.Process(
                target=_metric_worker, args=(env, run_id, sizes.calls_per_process, ready, go, results)
            )
            for run_id in run_ids
        ]
        try:
            for worker in workers:
                worker.start()
            for _ in workers:
                ready.get(timeout=timeout)
            go.set()
            reports = [results.get(timeout=timeout) for _ in workers]
            for worker in workers:
                worker.join(timeout)
        finally:
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()
                    worker.join(5)
        seconds = max(r["end"] for r in reports) - min(r["start"] for r in reports)
        calls = sizes.processes * sizes.calls_per_process
        failed = sum(len(r["failed"]) for r in reports)
        lost = 0
        for report in reports:
            acknowledged = set(range(sizes.calls_per_process)) - set(report["failed"])
            lost += len(acknowledged - _steps_stored(client, report["run_id"], "loss"))
    return {
        "value": calls / seconds,
        "seconds": seconds,
        "calls": calls,
        "failed_calls": failed,
        "rows_lost": lost,
    }


# --- (d) search over many runs -------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticRun:
    name: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


def synthetic_runs(count: int, seed: int = 7) -> list[SyntheticRun]:
    rng = random.Random(seed)
    runs = []
    for i in range(count):
        metrics = {k: round(rng.random(), 6) for k in ("accuracy", "loss", "f1", "precision", "recall")}
        params = {
            "learning_rate": str(round(rng.uniform(1e-4, 1e-1), 6)),
            "batch_size": str(rng.choice([16, 32, 64, 128])),
            "optimizer": rng.choice(["adam", "sgd", "rmsprop"]),
            "depth": str(rng.randint(2, 12)),
            "seed": str(i),
        }
        tags = {"team": rng.choice(["vision", "nlp", "tabular"]), "dataset": "bench-v1", "purpose": "search"}
        runs.append(SyntheticRun(f"run-{i:05d}", metrics, params, tags))
    return runs


def matching(runs: Sequence[SyntheticRun]) -> list[SyntheticRun]:
    """What SEARCH_FILTER and SEARCH_ORDER select."""
    return sorted((r for r in runs if r.metrics["accuracy"] > 0.5), key=lambda r: r.metrics["loss"])


def populate(
    bench: Bench, runs: Sequence[SyntheticRun], progress: Progress, threads: int = 8
) -> tuple[str, int]:
    """Create the runs (untimed): create_run, then one log_batch with the run's metrics, params and tags.
    Returns the experiment id and how many runs could not be made (after the client's own retries)."""
    with bench.client() as client:
        experiment_id = bench.experiment(client, "search")
        if bench.ceiling:
            return experiment_id, 0
        now = int(time.time() * 1000)

        def create(run: SyntheticRun) -> bool:
            try:
                run_id = client.create_run(experiment_id, run_name=run.name).info.run_id
                client.log_batch(
                    run_id,
                    metrics=[Metric(k, v, now, 0) for k, v in run.metrics.items()],
                    params=[Param(k, v) for k, v in run.params.items()],
                    tags=[RunTag(k, v) for k, v in run.tags.items()],
                )
            except Exception as exc:
                progress(f"{bench.server.kind}: creating {run.name} failed: {exc}")
                return False
            return True

        started = time.monotonic()
        done = failed = 0
        with ThreadPoolExecutor(threads) as pool:
            for ok in pool.map(create, runs):
                done += 1
                failed += not ok
                if done % 1000 == 0 or done == len(runs):
                    elapsed = time.monotonic() - started
                    progress(f"{bench.server.kind}: {done:,}/{len(runs):,} runs ({elapsed:.0f}s)")
    return experiment_id, failed


def search_filtered(bench: Bench, experiment_id: str, runs: Sequence[SyntheticRun], sizes: Sizes) -> Result:
    with bench.client() as client:
        started = time.perf_counter()
        page = client.search_runs(
            [experiment_id], SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=sizes.search_page_size
        )
        seconds = time.perf_counter() - started
    # Runs that tie on loss may come in either order: compare the losses, and check every run matches.
    expected = [r.metrics["loss"] for r in matching(runs)[: sizes.search_page_size]]
    by_name = {r.name: r for r in runs}
    got = [by_name.get(r.info.run_name) for r in page]
    correct = (
        all(r is not None and r.metrics["accuracy"] > 0.5 for r in got)
        and [r.metrics["loss"] for r in got if r is not None] == expected
    )
    return {"value": seconds, "runs": len(got), "expected_runs": len(expected), "correct": correct}


def fetch_all(bench: Bench, experiment_id: str, runs: Sequence[SyntheticRun], sizes: Sizes) -> Result:
    with bench.client() as client:
        names: list[str] = []
        token: str | None = None
        pages = 0
        started = time.perf_counter()
        while True:
            page = client.search_runs([experiment_id], max_results=sizes.search_page_size, page_token=token)
            names += [r.info.run_name for r in page]
            pages += 1
            token = page.token
            if not token:
                break
        seconds = time.perf_counter() - started
    return {
        "value": seconds,
        "runs": len(names),
        "pages": pages,
        "correct": sorted(names) == sorted(r.name for r in runs),
    }


def _run_json(run: SyntheticRun, index: int, now: int) -> dict[str, Any]:
    run_id = f"{index + 1:032x}"
    return {
        "info": {
            "run_id": run_id,
            "run_uuid": run_id,
            "run_name": run.name,
            "experiment_id": CEILING_EXPERIMENT_ID,
            "user_id": "bench",
            "status": "RUNNING",
            "start_time": now + index,
            "artifact_uri": f"mlflow-artifacts:/{CEILING_EXPERIMENT_ID}/{run_id}/artifacts",
            "lifecycle_stage": "active",
        },
        "data": {
            "metrics": [{"key": k, "value": v, "timestamp": now, "step": 0} for k, v in run.metrics.items()],
            "params": [{"key": k, "value": v} for k, v in run.params.items()],
            "tags": [
                {"key": k, "value": v}
                for k, v in {**run.tags, "mlflow.runName": run.name, "mlflow.user": "bench"}.items()
            ],
        },
        "inputs": {},
        "outputs": {},
    }


def ceiling_pages(runs: Sequence[SyntheticRun], page_size: int) -> dict[str, list[dict[str, Any]]]:
    """The pages a server sends for the two searches, for the ceiling app to answer with."""
    now = int(time.time() * 1000)
    index = {run.name: i for i, run in enumerate(runs)}

    def paged(selected: Sequence[SyntheticRun]) -> list[dict[str, Any]]:
        pages: list[dict[str, Any]] = []
        for start in range(0, max(len(selected), 1), page_size):
            page: dict[str, Any] = {
                "runs": [_run_json(r, index[r.name], now) for r in selected[start : start + page_size]]
            }
            if start + page_size < len(selected):
                page["next_page_token"] = str(len(pages) + 1)
            pages.append(page)
        return pages

    return {"filtered": paged(matching(runs)), "all": paged(runs)}


# --- (e) artifact upload and download --------------------------------------------------------------


def make_blob(folder: Path, size: int) -> tuple[Path, str]:
    path = folder / "blob.bin"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        remaining = size
        while remaining:
            chunk = os.urandom(min(remaining, 8 * 1024 * 1024))
            digest.update(chunk)
            out.write(chunk)
            remaining -= len(chunk)
    return path, digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_transfer(bench: Bench, blob: Path, digest: str, round_index: int, scratch: Path) -> Result:
    megabytes = blob.stat().st_size / 1e6
    target = scratch / f"download-{bench.server.kind}-{round_index}"
    with bench.client() as client:
        run_id = bench.new_run(client)
        started = time.perf_counter()
        client.log_artifact(run_id, str(blob), artifact_path="data")
        upload = time.perf_counter() - started
        started = time.perf_counter()
        local = Path(client.download_artifacts(run_id, f"data/{blob.name}", str(target)))
        download = time.perf_counter() - started
    intact = _sha256(local) == digest
    shutil.rmtree(target, ignore_errors=True)
    return {
        "upload_mb_s": megabytes / upload,
        "download_mb_s": megabytes / download,
        "upload_s": upload,
        "download_s": download,
        "megabytes": megabytes,
        "intact": intact,
    }
