"""The command line's start, side by side: `stratus` against a minimal Typer app doing the same, and the
server's start to `/ready`.

Every figure is the median of `--runs` (10) fresh processes, each timed from spawn to exit:

  python -c pass                  the interpreter alone (reference)
  mlflow --version                another ML tool's command line (reference; not in --quick)
  stratus --version               target: under 0.3 s
  stratus workspace --help        against the minimal app's `workspace --help` (Typer's Rich help): <= 1.2x
  stratus workspace list          against the minimal app's `workspace list`, one httpx GET of the same URL
                                  with the same token, both against one Stratus server: <= 1.2x
  server start to /ready          `stratus server start` until `/ready` answers 200, on a new home and on a
                                  used one (the first run's home again): under 2 s

The minimal app is written by the benchmark into its scratch folder. Runs go in rounds: each round runs
every command once, in an order rotated by the round, then one start on a new home and one on the used
home, so a change in machine load falls on every figure. Targets are reported, never asserted.

    .venv/bin/python benchmarks/cli.py [--quick] [--runs N] [--no-mlflow] [--json results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from _harness import (
    BIN,
    Server,
    clean_env,
    console,
    json_safe,
    load_average,
    progress,
    start_stratus,
    stop_on_signal,
)
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
RUNS = 10
START_POLL_S = 0.01  # how often `/ready` is asked while a server starts
VERSION_TARGET_S = 0.3
RATIO_TARGET = 1.2
START_TARGET_S = 2.0

MINIMAL_APP = '''"""The anchor of benchmarks/cli.py: a minimal Typer app with Rich help and one command
doing one httpx GET, as `stratus workspace list` does."""

import json
import sys

import httpx
import typer

app = typer.Typer(no_args_is_help=True)
workspace = typer.Typer(help="Manage workspaces.", no_args_is_help=True)
app.add_typer(workspace, name="workspace")


@workspace.command("list")
def list_(
    url: str = typer.Option(..., envvar="STRATUS_URL", help="Server URL"),
    token: str = typer.Option(..., envvar="STRATUS_TOKEN", help="Bearer token"),
) -> None:
    """List the workspaces."""
    response = httpx.get(f"{url}/api/v1/workspaces", headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    sys.stdout.write(json.dumps(response.json()["value"], indent=2) + "\\n")


if __name__ == "__main__":
    app()
'''

Result = dict[str, Any]


@dataclass(frozen=True)
class Command:
    """One command line measured; ``check`` says whether its output is what it should print."""

    figure: str
    argv: list[str]
    check: Callable[[str], bool]


def _lists_default(out: str) -> bool:
    with contextlib.suppress(ValueError, TypeError):
        return "default" in {w["name"] for w in json.loads(out)}
    return False


def _is_help(out: str) -> bool:
    return "Manage workspaces." in out and "list" in out


def commands(minimal: Path, *, mlflow: bool) -> list[Command]:
    python, stratus = str(BIN / "python"), str(BIN / "stratus")
    stratus_version = version("stratus-ml")
    reference = [Command("mlflow_version", [str(BIN / "mlflow"), "--version"], lambda out: "version" in out)]
    return [
        Command("python", [python, "-c", "pass"], lambda out: out == ""),
        *(reference if mlflow else []),
        Command("stratus_version", [stratus, "--version"], lambda out: out.strip() == stratus_version),
        Command("stratus_help", [stratus, "workspace", "--help"], _is_help),
        Command("minimal_help", [python, str(minimal), "workspace", "--help"], _is_help),
        Command("stratus_list", [stratus, "workspace", "list"], _lists_default),
        Command("minimal_list", [python, str(minimal), "workspace", "list"], _lists_default),
    ]


def run_command(command: Command, env: dict[str, str], cwd: Path) -> Result:
    started = time.perf_counter()
    done = subprocess.run(command.argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or not command.check(done.stdout):
        raise RuntimeError(
            f"`{' '.join(command.argv)}` exited with {done.returncode} or printed something else:\n"
            f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        )
    return {"value": seconds}


def start_to_ready(workdir: Path) -> Result:
    """`stratus server start` until `/ready` answers (the home is `workdir/stratus-home`)."""
    server: Server = start_stratus(workdir, None, poll=START_POLL_S)
    try:
        return {"value": server.probe_s, "first_request_s": server.startup_s}
    finally:
        server.stop()


# --- rounds -------------------------------------------------------------------------------------------


class Recorder:
    """Every run's result per figure, and what failed; one failing run never stops the rest."""

    def __init__(self) -> None:
        self.samples: dict[str, list[Result]] = {}
        self.errors: list[str] = []

    def measure(self, figure: str, index: int, step: Callable[[], Result]) -> None:
        try:
            result = step()
        except Exception as exc:
            console.print_exception(max_frames=4)
            self.errors.append(f"round {index + 1} {figure}: {type(exc).__name__}: {exc}")
            return
        self.samples.setdefault(figure, []).append(result)


def run_rounds(runs: int, workdir: Path, *, mlflow: bool) -> tuple[Recorder, dict[str, Any]]:
    recorder = Recorder()
    minimal = workdir / "minimal_app.py"
    minimal.write_text(MINIMAL_APP)
    with contextlib.ExitStack() as stack:
        progress("starting the Stratus server the commands talk to")
        server = start_stratus(workdir / "cli-server", None)
        stack.callback(server.stop)
        assert server.token is not None
        # Both command lines reach the server from these; neither finds a saved profile.
        env = clean_env(
            STRATUS_URL=server.base_url,
            STRATUS_TOKEN=server.token,
            STRATUS_CONFIG_DIR=str(workdir / "config"),
            STRATUS_HOME=str(workdir / "client-home"),
            COLUMNS="100",  # both render their help at one width
        )
        measured = commands(minimal, mlflow=mlflow)
        used_home = workdir / "start-1"
        for index in range(runs):
            shift = index % len(measured)
            for command in measured[shift:] + measured[:shift]:
                recorder.measure(command.figure, index, lambda c=command: run_command(c, env, workdir))
            fresh = workdir / f"start-{index + 1}"
            recorder.measure("start_new", index, lambda f=fresh: start_to_ready(f))
            if fresh != used_home:  # only the first new home is started again
                shutil.rmtree(fresh, ignore_errors=True)
            recorder.measure("start_used", index, lambda: start_to_ready(used_home))
            summary = ", ".join(
                f"{figure} {samples[-1]['value']:.2f}" for figure, samples in recorder.samples.items()
            )
            progress(f"round {index + 1}/{runs}: {summary}")
    return recorder, {"server_startup_s": server.startup_s}


# --- reporting ------------------------------------------------------------------------------------------


def summarise(samples: dict[str, list[Result]]) -> dict[str, Any]:
    return {
        figure: {
            "value": statistics.median(float(r["value"]) for r in results),
            "samples": [float(r["value"]) for r in results],
            **({"details": results} if any(len(r) > 1 for r in results) else {}),
        }
        for figure, results in samples.items()
    }


def _value(figures: dict[str, Any], figure: str) -> float | None:
    entry = figures.get(figure)
    return float(entry["value"]) if entry else None


def evaluate(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the figure (and for ratios the anchor) it was judged on."""
    checks: list[dict[str, Any]] = []
    version_s = _value(figures, "stratus_version")
    if version_s is not None:
        target = f"< {VERSION_TARGET_S} s"
        met = version_s < VERSION_TARGET_S
        checks.append({"figure": "stratus_version", "target": target, "value": version_s, "met": met})
    for ours, anchor in (("stratus_help", "minimal_help"), ("stratus_list", "minimal_list")):
        ours_s, anchor_s = _value(figures, ours), _value(figures, anchor)
        if ours_s is not None and anchor_s:
            ratio = ours_s / anchor_s
            target = f"<= {RATIO_TARGET}x"
            met = ratio <= RATIO_TARGET
            check = {"figure": ours, "anchor": anchor, "target": target, "value": ours_s, "ratio": ratio}
            checks.append({**check, "met": met})
    for figure in ("start_new", "start_used"):
        start_s = _value(figures, figure)
        if start_s is not None:
            met = start_s < START_TARGET_S
            checks.append({"figure": figure, "target": f"< {START_TARGET_S} s", "value": start_s, "met": met})
    return checks


ROWS = (  # figure, what it is, its anchor
    ("python", "python -c pass (reference)", None),
    ("mlflow_version", "mlflow --version (reference)", None),
    ("stratus_version", "stratus --version", "python"),
    ("stratus_help", "stratus workspace --help; anchor: the minimal app's", "minimal_help"),
    ("stratus_list", "stratus workspace list; anchor: the minimal app's (one httpx GET)", "minimal_list"),
    ("start_new", "stratus server start to /ready, new home", None),
    ("start_used", "stratus server start to /ready, used home", None),
)


def table(report: dict[str, Any]) -> Table:
    figures = report["figures"]
    targets = {check["figure"]: check for check in report["targets"]}
    grid = Table(title=f"The command line's start (seconds, medians of {report['meta']['runs']} runs)")
    for column in ("figure", "Stratus", "anchor", "ratio", "target", "met"):
        grid.add_column(column, justify="left" if column in ("figure", "target") else "right")
    for figure, what, anchor in ROWS:
        value = _value(figures, figure)
        base = _value(figures, anchor) if anchor else None
        check = targets.get(figure)
        ratio = f"{value / base:.2f}x" if value is not None and base else "-"
        met = "" if check is None else "[green]yes[/green]" if check["met"] else "[red]no[/red]"
        grid.add_row(what, _fmt(value), _fmt(base), ratio, check["target"] if check else "", met)
    return grid


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_report(out: Console, report: dict[str, Any]) -> None:
    out.print(table(report))
    meta = report["meta"]
    out.print(
        f"Python {meta['python']}, typer {meta['typer_version']}, httpx {meta['httpx_version']}, "
        f"mlflow {meta['mlflow_version']}; bytecode present: {meta['bytecode']}, "
        f"PYTHONDONTWRITEBYTECODE={meta['pythondontwritebytecode'] or 'unset'}; load average (1, 5, 15 min) "
        f"before {meta['load_average_start']}, after {meta['load_average_end']} on {meta['cpus']} CPUs; "
        "other users share this machine, so the figures are noisy."
    )


# --- entry point ----------------------------------------------------------------------------------------


def _has_bytecode(module: str) -> bool:
    """Whether `module`'s source has an up-to-date-looking .pyc beside it (what an install compiled)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return False
    return Path(importlib.util.cache_from_source(spec.origin)).is_file()


def _versions() -> dict[str, str]:
    found = {}
    for name in ("stratus-ml", "typer", "httpx", "mlflow"):
        try:
            found[f"{name.split('-')[0]}_version"] = version(name)
        except Exception:  # a missing anchor is reported, not fatal
            found[f"{name.split('-')[0]}_version"] = "missing"
    return found


def _commit() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        return done.stdout.strip()
    return ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="one run of each, without mlflow --version (the smoke test)"
    )
    parser.add_argument(
        "--no-mlflow", action="store_true", help="leave out the mlflow --version reference (seconds per run)"
    )
    parser.add_argument("--runs", type=int, help=f"runs of each figure (default {RUNS}, --quick 1)")
    parser.add_argument("--json", type=Path, help="also write every run's values, medians and machine facts")
    parser.add_argument(
        "--scratch", type=Path, help="folder for the run's temporary folder (default: the system's temp)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (homes, logs)")
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = args.runs or (1 if args.quick else RUNS)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop_on_signal)
    report: dict[str, Any] = {
        "meta": {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": [sys.executable, *sys.argv],
            "runs": runs,
            **_versions(),
            "commit": _commit(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "bytecode": {
                "src": _has_bytecode("stratus.cli.main"),
                "site_packages": _has_bytecode("typer.main"),
            },
            "pythondontwritebytecode": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
            "load_average_start": load_average(),
        },
    }
    if args.scratch:
        args.scratch.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="stratus-clibench-", dir=args.scratch))
    try:
        recorder, facts = run_rounds(runs, workdir, mlflow=not (args.quick or args.no_mlflow))
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]: every server was stopped")
        return 130
    finally:
        if args.keep:
            progress(f"scratch folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report["meta"].update(facts)
    report["meta"]["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["meta"]["load_average_end"] = load_average()
    report["figures"] = summarise(recorder.samples)
    report["targets"] = evaluate(report["figures"])
    report["errors"] = recorder.errors
    print_report(Console(width=max(Console().width, 160)), report)
    if args.json is not None:
        args.json.write_text(json.dumps(json_safe(report), indent=2) + "\n")
        progress(f"results written to {args.json}")
    for error in recorder.errors:
        console.print(f"[red]failed[/red] {error}")
    return 1 if recorder.errors else 0


if __name__ == "__main__":
    sys.exit(main())
