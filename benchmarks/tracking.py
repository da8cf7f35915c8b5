"""MLflow tracking, side by side: Stratus against `mlflow server --workers 1`, and the client's own ceiling.

Per backend (SQLite, then PostgreSQL) both servers start fresh on the same backend with a local artifacts
folder, and the same stock `MlflowClient` runs the same workload against each:

  (a) sequential log_metric calls                (b) log_batch of 1,000 metrics per call
  (c) 8 processes, each log_metric to its own run, checking no row is lost
  (d) search_runs with a metric filter and order over N runs (made untimed through log_batch), and
      fetching all of them page by page
  (e) a 100 MB artifact upload and download
  (f) the ceiling: (a), (b) and (d) against an ASGI app that does nothing (`{}`, and precomputed search
      pages), which bounds what any server can reach with the stock client

Rounds alternate the servers (in a rotating order) so a change in machine load hits all of them; each
figure is the median over rounds. Also: start-up time (spawn until a real API request is answered) and
idle memory (RSS of every process) of both servers, and of MLflow at its default worker count.
Targets are reported, never asserted.

    .venv/bin/python benchmarks/tracking.py [--quick] [--backends sqlite,postgresql] [--only a,b,c,d,e,f]
                                            [--rounds N] [--json results.json]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from _harness import (
    Server,
    console,
    fresh_database,
    idle_memory,
    json_safe,
    load_average,
    memory_now,
    progress,
    start_ceiling,
    start_mlflow,
    start_stratus,
    stop_on_signal,
)
from _workloads import (
    FULL,
    QUICK,
    SMOKE,
    Bench,
    Result,
    Sizes,
    SyntheticRun,
    artifact_transfer,
    ceiling_pages,
    concurrent_log_metric,
    fetch_all,
    log_batch_rate,
    log_metric_rate,
    make_blob,
    populate,
    search_filtered,
    synthetic_runs,
)
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("a", "b", "c", "d", "e", "f")
BACKENDS = ("sqlite", "postgresql")
SERVERS = ("stratus", "mlflow", "ceiling")


@dataclasses.dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    section: str
    has_ceiling: bool


def figures(sizes: Sizes) -> list[Figure]:
    mb = f"{sizes.artifact_bytes / 1e6:g} MB"
    return [
        Figure("a", "(a) sequential log_metric", "calls/s", True, "a", True),
        Figure("b", f"(b) log_batch, {sizes.metrics_per_batch:,} metrics/call", "metrics/s", True, "b", True),
        Figure("c", f"(c) {sizes.processes} processes x log_metric", "calls/s", True, "c", False),
        Figure("d_filtered", "(d) filtered + ordered search, 1 page", "s", False, "d", True),
        Figure("d_all", f"(d) fetch all {sizes.search_runs:,} runs", "s", False, "d", True),
        Figure("e_upload", f"(e) {mb} artifact upload", "MB/s", True, "e", False),
        Figure("e_download", f"(e) {mb} artifact download", "MB/s", True, "e", False),
    ]


# --- running ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        progress(f"stopping {server.kind}")
        server.stop()


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def rounds_of(
    name: str,
    benches: dict[str, Bench],
    servers: list[str],
    rounds: int,
    measure: Callable[[Bench, int], Result],
    show: Callable[[Result], str],
) -> dict[str, list[Result]]:
    """Each round runs every server once, in a rotating order, so drifting load spreads evenly."""
    samples: dict[str, list[Result]] = {s: [] for s in servers}
    for r in range(rounds):
        order = servers[r % len(servers) :] + servers[: r % len(servers)]
        for kind in order:
            result = measure(benches[kind], r)
            samples[kind].append(result)
            progress(f"  {name} round {r + 1}/{rounds} {kind:8s} {show(result)}")
    return samples


def summarise(samples: list[Result], field: str = "value") -> dict[str, Any]:
    values = [float(s[field]) for s in samples]
    return {"value": statistics.median(values), "samples": values, "details": samples}


def _rate(unit: str) -> Callable[[Result], str]:
    return lambda result: f"{result['value']:,.0f} {unit}"


def run_sections(
    backend: str,
    benches: dict[str, Bench],
    sizes: Sizes,
    only: set[str],
    runs: list[SyntheticRun],
    scratch: Path,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every section asked for; one that fails is reported and the others still run."""
    servers = ["stratus", "mlflow"]
    with_ceiling = [*servers, "ceiling"] if "ceiling" in benches else servers
    out: dict[str, dict[str, Any]] = {}
    errors: list[str] = []

    def section_a() -> None:
        progress(f"{backend}: (a) {sizes.log_metric_calls} sequential log_metric calls")
        samples = rounds_of(
            "(a)",
            benches,
            with_ceiling,
            sizes.rounds,
            lambda b, _: log_metric_rate(b, sizes),
            _rate("calls/s"),
        )
        out["a"] = {kind: summarise(s) for kind, s in samples.items()}

    def section_b() -> None:
        progress(f"{backend}: (b) {sizes.batches} log_batch calls of {sizes.metrics_per_batch} metrics")
        samples = rounds_of(
            "(b)",
            benches,
            with_ceiling,
            sizes.rounds,
            lambda b, _: log_batch_rate(b, sizes),
            _rate("metrics/s"),
        )
        out["b"] = {kind: summarise(s) for kind, s in samples.items()}

    def section_c() -> None:
        progress(f"{backend}: (c) {sizes.processes} processes x {sizes.calls_per_process} log_metric calls")
        samples = rounds_of(
            "(c)",
            benches,
            servers,
            sizes.rounds,
            lambda b, _: concurrent_log_metric(b, sizes),
            lambda r: f"{r['value']:,.0f} calls/s, {r['failed_calls']} failed, {r['rows_lost']} rows lost",
        )
        out["c"] = {kind: summarise(s) for kind, s in samples.items()}
        for kind, s in samples.items():
            out["c"][kind]["rows_lost"] = sum(r["rows_lost"] for r in s)
            out["c"][kind]["failed_calls"] = sum(r["failed_calls"] for r in s)

    def section_d() -> None:
        progress(f"{backend}: (d) creating {len(runs):,} runs through create_run + log_batch (untimed)")
        made = {kind: populate(benches[kind], runs, progress) for kind in with_ceiling}
        filtered = rounds_of(
            "(d) filtered search",
            benches,
            with_ceiling,
            sizes.rounds,
            lambda b, _: search_filtered(b, made[b.server.kind][0], runs, sizes),
            lambda r: f"{r['value']:.2f} s, {r['runs']} runs, correct={r['correct']}",
        )
        everything = rounds_of(
            "(d) fetch all",
            benches,
            with_ceiling,
            sizes.rounds,
            lambda b, _: fetch_all(b, made[b.server.kind][0], runs, sizes),
            lambda r: f"{r['value']:.2f} s, {r['runs']} runs in {r['pages']} pages, correct={r['correct']}",
        )
        out["d_filtered"] = {kind: summarise(s) for kind, s in filtered.items()}
        out["d_all"] = {kind: summarise(s) for kind, s in everything.items()}
        for kind in with_ceiling:
            out["d_all"][kind]["runs_not_created"] = made[kind][1]

    def section_e() -> None:
        progress(f"{backend}: (e) {sizes.artifact_bytes / 1e6:g} MB artifact upload and download")
        blob, digest = make_blob(scratch, sizes.artifact_bytes)
        try:
            samples = rounds_of(
                "(e)",
                benches,
                servers,
                sizes.rounds,
                lambda b, r: artifact_transfer(b, blob, digest, r, scratch),
                lambda r: (
                    f"up {r['upload_mb_s']:.0f} MB/s, down {r['download_mb_s']:.0f} MB/s, "
                    f"intact={r['intact']}"
                ),
            )
        finally:
            blob.unlink()
        out["e_upload"] = {kind: summarise(s, "upload_mb_s") for kind, s in samples.items()}
        out["e_download"] = {kind: summarise(s, "download_mb_s") for kind, s in samples.items()}

    sections = {"a": section_a, "b": section_b, "c": section_c, "d": section_d, "e": section_e}
    for name, section in sections.items():
        if name not in only:
            continue
        try:
            section()
        except Exception as exc:  # a server that fails one workload still gets measured on the others
            console.print_exception(max_frames=8)
            errors.append(f"({name}) {type(exc).__name__}: {exc}")
    return out, errors


def _server_facts(server: Server, smoke: bool = False) -> dict[str, Any]:
    facts: dict[str, Any] = {"startup_s": server.startup_s, "probe_s": server.probe_s}
    if server.kind != "ceiling":
        progress(
            f"  {server.kind}: answered /ready or /health after {server.probe_s:.1f}s, API after "
            f"{server.startup_s:.1f}s; waiting for memory to settle"
        )
        settle = {"least": 0.5, "steady_for": 1.0, "most": 3.0} if smoke else {}
        facts["idle"] = idle_memory(server.process.pid, **settle).as_dict()
        progress(
            f"  {server.kind}: idle {facts['idle']['rss_mb']:.0f} MB RSS in {facts['idle']['processes']} "
            "process(es)"
        )
    return facts


def run_backend(
    backend: str,
    args: argparse.Namespace,
    sizes: Sizes,
    ceiling: Server | None,
    runs: list[SyntheticRun],
    workdir: Path,
) -> dict[str, Any]:
    folder = workdir / backend
    # Stratus runs the checkout's src/ as it is when the server starts: record which code that was.
    result: dict[str, Any] = {"load_average_before": load_average(), "stratus_code": _code_state()}
    postgres = backend == "postgresql"
    with contextlib.ExitStack() as stack:
        stratus_db = stack.enter_context(fresh_database(args.postgres_url, "stratus")) if postgres else None
        if postgres:
            mlflow_db = stack.enter_context(fresh_database(args.postgres_url, "mlflow"))
        else:
            mlflow_db = f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}"
        progress(f"{backend}: starting Stratus" + (f" on {stratus_db}" if stratus_db else ""))
        progress(f"{backend}: starting mlflow server --workers 1 on {mlflow_db}")
        starters = (
            lambda: start_stratus(folder / "stratus", stratus_db),
            lambda: start_mlflow(folder / "mlflow", mlflow_db),
        )
        # The smoke run starts both at once (their start-up figures then share the machine); measured runs
        # start one after the other.
        if args.smoke:
            stratus, mlflow = start_together(*starters)
            for server in (stratus, mlflow):
                server.stop_grace = 2.0  # nothing is measured at the stop: no graceful wind-down
                stack.enter_context(running(server))
        else:
            stratus = stack.enter_context(running(starters[0]()))
            mlflow = stack.enter_context(running(starters[1]()))
        servers = {"stratus": _server_facts(stratus, args.smoke), "mlflow": _server_facts(mlflow, args.smoke)}
        benches = {"stratus": Bench(stratus), "mlflow": Bench(mlflow)}
        if ceiling is not None:
            benches["ceiling"] = Bench(ceiling)
            servers["ceiling"] = {"startup_s": ceiling.startup_s}
        result["figures"], result["errors"] = run_sections(backend, benches, sizes, args.only, runs, folder)
        for kind, server in (("stratus", stratus), ("mlflow", mlflow)):
            servers[kind]["after_workload"] = memory_now(server.process.pid).as_dict()
        result["servers"] = servers
    if args.mlflow_default_workers:
        with contextlib.ExitStack() as stack:
            if postgres:
                default_db = stack.enter_context(fresh_database(args.postgres_url, "mlflowdefault"))
            else:
                default_db = f"sqlite:///{folder / 'mlflow-default' / 'mlflow.db'}"
            progress(
                f"{backend}: starting mlflow server at its default worker count (start-up and memory only)"
            )
            default = stack.enter_context(
                running(start_mlflow(folder / "mlflow-default", default_db, workers=None))
            )
            result["servers"]["mlflow_default_workers"] = _server_facts(default)
    result["load_average_after"] = load_average()
    return result


def start_together(*starters: Callable[[], Server]) -> list[Server]:
    """Servers started at the same time; when one fails to start, the others are stopped."""
    with concurrent.futures.ThreadPoolExecutor(len(starters)) as pool:
        futures = [pool.submit(start) for start in starters]
    started = [f.result() for f in futures if f.exception() is None]
    failures = [f.exception() for f in futures if f.exception() is not None]
    if failures:
        for server in started:
            server.stop()
        raise failures[0]
    return started


# --- reporting ------------------------------------------------------------------------------------------


def _ratio(ours: float | None, theirs: float | None, higher_is_better: bool) -> float | None:
    """How many times better `ours` is than `theirs` (> 1 is better)."""
    if not ours or not theirs:
        return None
    return ours / theirs if higher_is_better else theirs / ours


def _value(figs: dict[str, Any], key: str, kind: str) -> float | None:
    entry = figs.get(key, {}).get(kind)
    return float(entry["value"]) if entry else None


def _check(figure: str, target: str, met: bool, actual: str) -> dict[str, Any]:
    return {"figure": figure, "target": target, "met": met, "actual": actual}


def evaluate(backend: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the figure it was judged on."""
    figs = result["figures"]
    checks: list[dict[str, Any]] = []
    share = 0.8 if backend == "sqlite" else 0.6
    for key in ("a", "b"):
        fraction = _ratio(_value(figs, key, "stratus"), _value(figs, key, "ceiling"), True)
        if fraction is not None:
            checks.append(_check(key, f">= {share:.0%} of ceiling", fraction >= share, f"{fraction:.0%}"))
    if "c" in figs:
        speedup = _ratio(_value(figs, "c", "stratus"), _value(figs, "c", "mlflow"), True) or 0.0
        lost = figs["c"]["stratus"]["rows_lost"]
        actual = f"{speedup:.1f}x, {lost} lost"
        checks.append(_check("c", ">= 4x MLflow, 0 lost", speedup >= 4 and lost == 0, actual))
    for key in ("d_filtered", "d_all"):
        ours, theirs = _value(figs, key, "stratus"), _value(figs, key, "mlflow")
        ceiling = _value(figs, key, "ceiling")
        if ours and theirs:
            # Throughput is 1/time: the bar is the lower of 10x MLflow's and 80 % of the ceiling's.
            allowed = max(theirs / 10, ceiling / 0.8) if ceiling else theirs / 10
            actual = f"{theirs / ours:.1f}x MLflow"
            checks.append(_check(key, f"<= {allowed:.2f} s", ours <= allowed, actual))
    for key in ("e_upload", "e_download"):
        faster = _ratio(_value(figs, key, "stratus"), _value(figs, key, "mlflow"), True)
        if faster is not None:
            checks.append(_check(key, ">= MLflow", faster >= 1, f"{faster:.2f}x"))
    stratus = result["servers"]["stratus"]
    startup, rss = stratus["startup_s"], stratus["idle"]["rss_mb"]
    checks.append(_check("startup", "< 3 s", startup < 3, f"{startup:.2f} s"))
    checks.append(_check("idle_rss", "< 300 MB", rss < 300, f"{rss:.0f} MB"))
    return checks


SERVER_ROWS = (
    ("startup", "start-up (spawn to first API answer)", "s"),
    ("idle_rss", "idle memory (RSS, all processes)", "MB"),
    ("processes", "processes at idle", ""),
)


def _server_value(facts: dict[str, Any], key: str) -> float:
    if key == "startup":
        return float(facts["startup_s"])
    return float(facts["idle"]["rss_mb" if key == "idle_rss" else "processes"])


def table(backend: str, result: dict[str, Any], sizes: Sizes) -> Table:
    figs = result["figures"]
    servers = result["servers"]
    targets = {c["figure"]: c for c in result["targets"]}
    grid = Table(title=f"MLflow tracking on {backend}: Stratus vs mlflow server --workers 1 (medians)")
    columns: tuple[str, ...] = ("figure", "unit", "Stratus", "MLflow", "ceiling", "Stratus vs MLflow")
    columns += ("Stratus % ceiling", "MLflow % ceiling", "target", "met", "actual")
    for column in columns:
        grid.add_column(column, justify="left" if column in ("figure", "unit", "target") else "right")

    def mark(key: str) -> list[str]:
        check = targets.get(key)
        if check is None:
            return ["", "", ""]
        return [check["target"], "[green]yes[/green]" if check["met"] else "[red]no[/red]", check["actual"]]

    def times(value: float | None, spec: str) -> str:
        return format(value, spec) if value else "-"

    for fig in figures(sizes):
        if fig.key not in figs:
            continue
        v = {kind: _value(figs, fig.key, kind) for kind in SERVERS}
        grid.add_row(
            fig.label,
            fig.unit,
            _fmt(v["stratus"]),
            _fmt(v["mlflow"]),
            _fmt(v["ceiling"]),
            times(_ratio(v["stratus"], v["mlflow"], fig.higher_is_better), ".2f") + "x",
            times(_ratio(v["stratus"], v["ceiling"], fig.higher_is_better), ".0%"),
            times(_ratio(v["mlflow"], v["ceiling"], fig.higher_is_better), ".0%"),
            *mark(fig.key),
        )
        if fig.key == "c":
            lost = [str(figs["c"][kind]["rows_lost"]) for kind in ("stratus", "mlflow")]
            grid.add_row("(c) rows lost", "rows", *lost, *[""] * 7)
    default = servers.get("mlflow_default_workers")
    for key, label, unit in SERVER_ROWS:
        ours, theirs = _server_value(servers["stratus"], key), _server_value(servers["mlflow"], key)
        vs = times(_ratio(ours, theirs, False), ".2f") + "x" if key != "processes" else ""
        show = _fmt if key != "processes" else lambda n: f"{n:.0f}"
        grid.add_row(label, unit, show(ours), show(theirs), "", vs, "", "", *mark(key))
        if default:
            theirs = _server_value(default, key)
            vs = times(_ratio(ours, theirs, False), ".2f") + "x" if key != "processes" else ""
            grid.add_row("  MLflow at its default worker count", unit, "", show(theirs), "", vs, *[""] * 5)
    return grid


# --- entry point ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="the smoke test's run: least sizes, servers started together, memory read after 1 s of calm, "
        "no MLflow at its default worker count (checks every step; its figures compare nothing)",
    )
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections to run, e.g. a,b,f")
    parser.add_argument("--rounds", type=int, help="rounds per figure (default 3, --quick 1)")
    parser.add_argument("--search-runs", type=int, help="runs for (d) (default 10,000)")
    parser.add_argument("--artifact-mb", type=float, help="artifact size for (e) in MB (default 100)")
    parser.add_argument("--json", type=Path, help="also write every figure and sample here")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="server where fresh bench_* databases are created and dropped",
    )
    parser.add_argument(
        "--no-mlflow-default-workers",
        dest="mlflow_default_workers",
        action="store_false",
        help="skip starting MLflow at its default worker count (its start-up time and memory)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, databases)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.mlflow_default_workers = False
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.only = {s.strip() for s in args.only.split(",") if s.strip()}
    for name, given, allowed in (
        ("--backends", set(args.backends), BACKENDS),
        ("--only", args.only, SECTIONS),
    ):
        if not given or not given <= set(allowed):
            parser.error(f"{name} takes a comma-separated subset of {','.join(allowed)}")
    return args


def sizes_for(args: argparse.Namespace) -> Sizes:
    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    changes: dict[str, int] = {}
    if args.rounds:
        changes["rounds"] = args.rounds
    if args.search_runs:
        changes["search_runs"] = args.search_runs
    if args.artifact_mb:
        changes["artifact_bytes"] = int(args.artifact_mb * 1e6)
    return dataclasses.replace(sizes, **changes)


def _git(*args: str) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10)
        return done.stdout.strip()
    return ""


def _code_state() -> dict[str, Any]:
    return {"commit": _git("rev-parse", "HEAD"), "src_modified": bool(_git("status", "--porcelain", "src"))}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_for(args)
    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    report: dict[str, Any] = {
        "meta": {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": [sys.executable, *sys.argv],
            "sizes": dataclasses.asdict(sizes),
            "sections": sorted(args.only),
            "stratus_version": version("stratus-ml"),
            "mlflow_version": version("mlflow"),
            "commit": _git("rev-parse", "HEAD"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_start": load_average(),
        },
        "backends": {},
    }
    workdir = Path(tempfile.mkdtemp(prefix="stratus-bench-"))
    out = Console(width=max(Console().width, 200))
    try:
        with contextlib.ExitStack() as stack:
            runs = synthetic_runs(sizes.search_runs) if "d" in args.only else []
            ceiling = None
            if "f" in args.only:
                pages = workdir / "ceiling-pages.json"
                pages.write_text(json.dumps(ceiling_pages(runs, sizes.search_page_size)))
                progress("starting the ceiling app (uvicorn, 1 worker)")
                ceiling = stack.enter_context(running(start_ceiling(workdir / "ceiling", pages)))
            for backend in args.backends:
                result = run_backend(backend, args, sizes, ceiling, runs, workdir)
                result["targets"] = evaluate(backend, result)
                report["backends"][backend] = result
                print_backend(out, backend, result, sizes)
                write_json(args.json, report)  # a later backend that fails leaves this one's figures
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]: every server was stopped and every database dropped")
        return 130
    finally:
        if args.keep:
            progress(f"scratch folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report["meta"]["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["meta"]["load_average_end"] = load_average()
    write_json(args.json, report)
    errors = [f"{b}: {e}" for b, r in report["backends"].items() for e in r["errors"]]
    for error in errors:
        console.print(f"[red]section failed[/red] {error}")
    return 1 if errors else 0


def print_backend(out: Console, backend: str, result: dict[str, Any], sizes: Sizes) -> None:
    out.print(table(backend, result, sizes))
    load = result["load_average_before"], result["load_average_after"]
    out.print(
        f"load average (1, 5, 15 min) before {load[0]}, after {load[1]} on {os.cpu_count()} CPUs; "
        "other users share this machine, so the figures are noisy."
    )
    code = result["stratus_code"]
    dirty = " with uncommitted changes in src/" if code["src_modified"] else ""
    out.print(f"Stratus ran commit {code['commit'][:12]}{dirty}.\n")


def write_json(path: Path | None, report: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(json_safe(report), indent=2) + "\n")
        progress(f"results written to {path}")


if __name__ == "__main__":
    sys.exit(main())
