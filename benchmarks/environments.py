"""Environments and data, side by side: Stratus's uv builds and uploads against pip and cp on this machine.

Each round starts a fresh Stratus server (fresh home, empty `UV_CACHE_DIR`, empty `STRATUS_ENV_CACHE`)
and measures, through the SDK (`MLClient`):

  (1) cold build: `environments.build(name, version, wait=True)` of python 3.11 + scikit-learn, pandas,
      lightgbm (Stratus adds mlflow-skinny) against `python3.11 -m venv X && X/bin/pip install
      --no-cache-dir` of the same four packages, on the same interpreter
  (2) cache hit: a second version of the same spec, `build(..., wait=True)` round trip; and, for
      reference, `EnvironmentCache.get(hash)` in this process
  (3) data upload: `data.create_or_update(Data(path=<random file>, type="uri_file"))` against
      `cp --reflink=never SRC DST && sync DST && sha256sum DST`, both from a warm page cache

Stratus goes first in odd rounds and the anchor in even ones, so network and cache effects spread over
both; each figure is the median over rounds. Targets are reported, never asserted.

    .venv/bin/python benchmarks/environments.py [--quick] [--rounds N] [--data-mb MB] [--json results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import uv
from _harness import (
    Server,
    console,
    json_safe,
    load_average,
    progress,
    start_stratus,
    stop_on_signal,
)
from _workloads import make_blob
from rich.console import Console
from rich.table import Table

from stratus import MLClient
from stratus.entities.assets import Data, Environment
from stratus.environments import EnvironmentCache, require_interpreter
from stratus.environments.plan import LOGGING_PACKAGE, canonical_name

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "3.11"
HEAVY = ("scikit-learn", "pandas", "lightgbm")
TINY = ("six",)
CHUNK = 8 * 1024 * 1024
VENV_SEED = frozenset({"pip", "setuptools", "wheel"})
# The in-process cache lookup is far below a millisecond: time many and keep the median.
CACHE_GET_REPEATS = 200
# Further build calls on the cached version, after the first one (the figure), kept in the JSON.
CACHE_HIT_REPEATS = 10

Result = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Sizes:
    rounds: int
    packages: tuple[str, ...]
    data_bytes: int
    # Builds start from empty caches (the figure); warm ones only where the run checks the code paths.
    cold_caches: bool = True
    # What installs the anchor's venv: pip, the figure's anchor; uv only where the run checks code paths.
    anchor_installer: str = "pip"


FULL = Sizes(rounds=3, packages=HEAVY, data_bytes=1024 * 1_000_000)
QUICK = Sizes(rounds=1, packages=TINY, data_bytes=64 * 1_000_000)
# The smoke test's run: every step and check of QUICK, but from this machine's warm uv cache and with uv
# installing the anchor's venv too (pip alone takes ~30 s), so its figures say nothing about speed.
SMOKE = Sizes(rounds=1, packages=TINY, data_bytes=8 * 1_000_000, cold_caches=False, anchor_installer="uv")


# --- the server -----------------------------------------------------------------------------------------


def start_server(workdir: Path, uv_cache: Path | None, env_cache: Path) -> Server:
    """A fresh Stratus server whose builds see only the given (empty) uv cache, or this machine's uv cache
    when ``uv_cache`` is None, and the given environment cache."""
    extra_env = {"STRATUS_ENV_CACHE": str(env_cache)}
    if uv_cache is not None:
        uv_cache.mkdir(parents=True, exist_ok=True)
        extra_env["UV_CACHE_DIR"] = str(uv_cache)
    env_cache.mkdir(parents=True, exist_ok=True)
    return start_stratus(workdir, None, extra_env=extra_env)


# --- helpers ----------------------------------------------------------------------------------------


def warm(path: Path) -> None:
    """Read the whole file so both sides start from the page cache, not the disk."""
    with path.open("rb") as f:
        while f.read(CHUNK):
            pass


def _shell(command: str, log: Path, env: dict[str, str]) -> tuple[float, str]:
    """Seconds `bash -c command` took, and its stdout; stderr goes to the log. Raises if it failed."""
    with log.open("ab") as err:
        err.write(f"$ {command}\n".encode())
        err.flush()
        started = time.perf_counter()
        done = subprocess.run(
            ["bash", "-c", command], stdout=subprocess.PIPE, stderr=err, env=env, check=False
        )
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"`{command}` exited with {done.returncode}:\n{tail}")
    return seconds, done.stdout.decode(errors="replace")


def _versions_from_freeze(text: str) -> dict[str, str]:
    found = (re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.strip()) for line in text.splitlines())
    return {canonical_name(m.group(1)): m.group(2) for m in found if m}


def _wanted(versions: dict[str, str], sizes: Sizes) -> dict[str, str]:
    return {name: versions.get(name, "missing") for name in (*sizes.packages, LOGGING_PACKAGE)}


def _pip_env() -> dict[str, str]:
    # pip's check for a newer pip is a request to PyPI that installs nothing: left out for both sides.
    return {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONUNBUFFERED": "1"}


def _uv_version() -> str:
    done = subprocess.run([uv.find_uv_bin(), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


# --- one round ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Round:
    """One fresh server and the folders its measurements use."""

    index: int
    folder: Path
    server: Server
    client: MLClient
    env_cache: Path
    sizes: Sizes
    interpreter: Path
    built: Environment | None = None


def stratus_cold_build(rnd: Round) -> Result:
    name = f"bench-env-{rnd.index + 1}"
    registered = rnd.client.environments.create_or_update(
        Environment(name=name, python=PYTHON, pip=list(rnd.sizes.packages))
    )
    assert registered.version is not None
    started = time.perf_counter()
    built = rnd.client.environments.build(name, registered.version, wait=True)
    seconds = time.perf_counter() - started
    if built.status != "Succeeded" or not built.spec_hash:
        raise RuntimeError(f"environment {name}:{registered.version} ended as {built.status}")
    rnd.built = built
    local = EnvironmentCache(rnd.env_cache).get(built.spec_hash)
    if local is None:
        raise RuntimeError(f"the build succeeded but {rnd.env_cache} holds no environment {built.spec_hash}")
    versions = _versions_from_freeze(local.freeze_text)
    return {
        "value": seconds,
        "spec_hash": built.spec_hash,
        "version": built.version,
        "interpreter": local.status.interpreter,
        "python_version": local.python_version,
        "uv_version": local.status.uv_version,
        "server_timings": dict(local.status.timings),
        "packages_installed": len(versions),
        "versions": _wanted(versions, rnd.sizes),
    }


def anchor_cold_build(rnd: Round) -> Result:
    venv = rnd.folder / "anchor-venv"
    packages = [*rnd.sizes.packages, LOGGING_PACKAGE]
    python = str(venv / "bin" / "python")
    if rnd.sizes.anchor_installer == "uv":
        uv_bin = uv.find_uv_bin()
        install = (
            f"{shlex.quote(uv_bin)} pip install --quiet --python {shlex.quote(python)} {shlex.join(packages)}"
        )
        lister = [uv_bin, "pip", "list", "--python", python, "--format", "json"]
        installer = [uv_bin, "--version"]
    else:
        install = f"{shlex.quote(str(venv / 'bin' / 'pip'))} install --no-cache-dir {shlex.join(packages)}"
        lister = [python, "-m", "pip", "list", "--format", "json"]
        installer = [python, "-m", "pip", "--version"]
    command = f"{shlex.quote(str(rnd.interpreter))} -m venv {shlex.quote(str(venv))} && {install}"
    env = _pip_env()
    try:
        seconds, _ = _shell(command, rnd.folder / "anchor-pip.log", env)
        listed = subprocess.run(lister, capture_output=True, env=env, check=True)
        pip_version = subprocess.run(installer, capture_output=True, text=True, env=env, check=True)
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # a gigabyte of packages, not needed again
    # `python -m venv` seeds pip (and setuptools on older Pythons); uv's venv has neither: not counted.
    versions = {
        canonical_name(p["name"]): p["version"]
        for p in json.loads(listed.stdout)
        if canonical_name(p["name"]) not in VENV_SEED
    }
    return {
        "value": seconds,
        "interpreter": str(rnd.interpreter),
        "installer": rnd.sizes.anchor_installer,
        "pip_version": pip_version.stdout.split()[1],
        "packages_installed": len(versions),
        "versions": _wanted(versions, rnd.sizes),
    }


def cache_hit(rnd: Round) -> tuple[Result, Result]:
    """(the SDK round trip of building a new version whose spec is built, the in-process lookup)."""
    if rnd.built is None or rnd.built.spec_hash is None:
        raise RuntimeError("no cold build succeeded in this round, so there is nothing to hit")
    name = rnd.built.name
    second = rnd.client.environments.create_or_update(
        Environment(name=name, python=PYTHON, pip=list(rnd.sizes.packages))
    )
    assert second.version is not None
    if second.spec_hash != rnd.built.spec_hash:
        raise RuntimeError(f"the same spec hashed to {second.spec_hash}, not {rnd.built.spec_hash}")
    started = time.perf_counter()
    hit = rnd.client.environments.build(name, second.version, wait=True)
    first_ms = (time.perf_counter() - started) * 1000
    repeats = []
    for _ in range(CACHE_HIT_REPEATS):
        started = time.perf_counter()
        rnd.client.environments.build(name, second.version, wait=True)
        repeats.append((time.perf_counter() - started) * 1000)
    sdk = {
        "value": first_ms,
        "status": hit.status,
        "version": second.version,
        "first_version": rnd.built.version,
        "spec_hash": hit.spec_hash,
        "repeat_median_ms": statistics.median(repeats),
        "repeats_ms": repeats,
    }
    cache = EnvironmentCache(rnd.env_cache)
    spec_hash = rnd.built.spec_hash
    gets = []
    for _ in range(CACHE_GET_REPEATS):
        started = time.perf_counter()
        found = cache.get(spec_hash)
        gets.append((time.perf_counter() - started) * 1000)
        if found is None:
            raise RuntimeError(f"EnvironmentCache.get({spec_hash}) found nothing")
    in_process = {"value": statistics.median(gets), "first_ms": gets[0], "calls": len(gets)}
    return sdk, in_process


def stratus_upload(rnd: Round, blob: Path, digest: str) -> Result:
    warm(blob)
    started = time.perf_counter()
    data = rnd.client.data.create_or_update(
        Data(name=f"bench-data-{rnd.index + 1}", path=str(blob), type="uri_file")
    )
    seconds = time.perf_counter() - started
    size = blob.stat().st_size
    return {
        "value": size / 1e6 / seconds,
        "seconds": seconds,
        "intact": data.sha256 == digest and data.size == size,
        "uri": data.path,
    }


def anchor_copy(rnd: Round, blob: Path, digest: str) -> Result:
    target = rnd.folder / "anchor-copy.bin"
    src, dst = shlex.quote(str(blob)), shlex.quote(str(target))
    warm(blob)
    try:
        command = f"cp --reflink=never {src} {dst} && sync {dst} && sha256sum {dst}"
        seconds, out = _shell(command, rnd.folder / "anchor-copy.log", dict(os.environ))
    finally:
        target.unlink(missing_ok=True)
    return {
        "value": blob.stat().st_size / 1e6 / seconds,
        "seconds": seconds,
        "intact": out.split()[0] == digest,
    }


# --- all rounds -------------------------------------------------------------------------------------

FIGURES = {  # figure -> sides, in the order the table shows them
    "cold_build": ("stratus", "anchor"),
    "cache_hit": ("stratus", "in_process"),
    "data_upload": ("stratus", "anchor"),
}


class Recorder:
    """Every round's results per figure and side, and what failed; one failing step never stops the rest."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.samples: dict[str, dict[str, list[Result]]] = {
            figure: {side: [] for side in sides} for figure, sides in FIGURES.items()
        }
        self.errors: list[str] = []

    def measure(self, figure: str, side: str, index: int, step: Callable[[], Result], show: str) -> None:
        try:
            result = step()
        except Exception as exc:
            self.failed(f"round {index + 1} {figure} {side}", exc)
            return
        self.samples[figure][side].append(result)
        progress(f"  round {index + 1}/{self.rounds} {figure:11s} {side:10s} {show.format(**result)}")

    def failed(self, what: str, exc: Exception) -> None:
        console.print_exception(max_frames=6)
        self.errors.append(f"{what}: {type(exc).__name__}: {exc}")


def run_round(rnd: Round, order: list[str], blob: Path, digest: str, recorder: Recorder) -> None:
    builds = {"stratus": partial(stratus_cold_build, rnd), "anchor": partial(anchor_cold_build, rnd)}
    for side in order:
        progress(f"round {rnd.index + 1}: cold build, {side}")
        recorder.measure("cold_build", side, rnd.index, builds[side], "{value:.1f} s {versions}")
    try:
        sdk, in_process = cache_hit(rnd)
    except Exception as exc:
        recorder.failed(f"round {rnd.index + 1} cache_hit", exc)
    else:
        recorder.measure("cache_hit", "stratus", rnd.index, lambda: sdk, "{value:.1f} ms, status {status}")
        recorder.measure("cache_hit", "in_process", rnd.index, lambda: in_process, "{value:.4f} ms")
    uploads = {
        "stratus": partial(stratus_upload, rnd, blob, digest),
        "anchor": partial(anchor_copy, rnd, blob, digest),
    }
    for side in order:
        show = "{value:,.0f} MB/s ({seconds:.2f} s), intact={intact}"
        recorder.measure("data_upload", side, rnd.index, uploads[side], show)


def run_rounds(
    args: argparse.Namespace, sizes: Sizes, workdir: Path, interpreter: Path
) -> tuple[Recorder, list[dict[str, Any]]]:
    recorder = Recorder(sizes.rounds)
    rounds: list[dict[str, Any]] = []
    progress(f"writing {sizes.data_bytes / 1e6:g} MB of random bytes to {workdir}")
    blob, digest = make_blob(workdir, sizes.data_bytes)
    for index in range(sizes.rounds):
        folder = workdir / f"round-{index + 1}"
        order = ["stratus", "anchor"] if index % 2 == 0 else ["anchor", "stratus"]
        facts: dict[str, Any] = {"round": index + 1, "order": order, "load_average_before": load_average()}
        with contextlib.ExitStack() as stack:
            if not args.keep:  # caches, environments and the uploaded copy: gigabytes per round
                stack.callback(shutil.rmtree, folder, ignore_errors=True)
            caches = "an empty uv cache" if sizes.cold_caches else "this machine's uv cache"
            progress(f"round {index + 1}: starting Stratus with {caches} and an empty environment cache")
            uv_cache = folder / "uv-cache" if sizes.cold_caches else None
            server = start_server(folder / "stratus", uv_cache, folder / "env-cache")
            stack.callback(server.stop)
            facts["stratus_startup_s"] = server.startup_s
            assert server.token is not None
            client = MLClient(server.token, endpoint=server.base_url, show_progress=False)
            stack.callback(client.close)
            rnd = Round(index, folder, server, client, folder / "env-cache", sizes, interpreter)
            run_round(rnd, order, blob, digest, recorder)
        facts["load_average_after"] = load_average()
        rounds.append(facts)
    blob.unlink()
    return recorder, rounds


# --- reporting ------------------------------------------------------------------------------------------


def summarise(samples: dict[str, dict[str, list[Result]]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for figure, sides in samples.items():
        out[figure] = {}
        for side, results in sides.items():
            if results:
                values = [float(r["value"]) for r in results]
                out[figure][side] = {
                    "value": statistics.median(values),
                    "samples": values,
                    "details": results,
                }
    return out


def _value(figures: dict[str, Any], figure: str, side: str) -> float | None:
    entry = figures.get(figure, {}).get(side)
    return float(entry["value"]) if entry else None


def evaluate(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the figure it was judged on; the ratio is > 1 when Stratus is better."""
    checks: list[dict[str, Any]] = []
    ours, theirs = _value(figures, "cold_build", "stratus"), _value(figures, "cold_build", "anchor")
    if ours and theirs:
        ratio = theirs / ours
        checks.append({"figure": "cold_build", "target": ">= 5x faster", "ratio": ratio, "met": ratio >= 5})
    hit = _value(figures, "cache_hit", "stratus")
    if hit is not None:
        checks.append({"figure": "cache_hit", "target": "< 100 ms", "ratio": None, "met": hit < 100})
    ours, theirs = _value(figures, "data_upload", "stratus"), _value(figures, "data_upload", "anchor")
    if ours and theirs:
        ratio = ours / theirs
        checks.append(
            {"figure": "data_upload", "target": ">= 0.7x MB/s", "ratio": ratio, "met": ratio >= 0.7}
        )
    return checks


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.{digits}f}"


def table(report: dict[str, Any]) -> Table:
    figures, sizes = report["figures"], report["meta"]["sizes"]
    targets = {c["figure"]: c for c in report["targets"]}
    packages = ", ".join(sizes["packages"])
    grid = Table(title=f"Environments and data: Stratus vs pip / cp (medians of {sizes['rounds']} round(s))")
    for column in ("figure", "unit", "Stratus", "anchor", "ratio", "target", "met"):
        grid.add_column(column, justify="left" if column in ("figure", "unit", "target") else "right")

    def judged(figure: str) -> list[str]:
        check = targets.get(figure)
        if check is None:
            return ["-", "", ""]
        ratio = "-" if check["ratio"] is None else f"{check['ratio']:.2f}x"
        return [ratio, check["target"], "[green]yes[/green]" if check["met"] else "[red]no[/red]"]

    anchor = (
        "pip install --no-cache-dir" if sizes.get("anchor_installer", "pip") == "pip" else "uv pip install"
    )
    caches = "empty caches" if sizes.get("cold_caches", True) else "WARM caches (not a figure)"
    grid.add_row(
        f"cold build: {packages} (+ {LOGGING_PACKAGE}), {caches}; anchor python -m venv + {anchor}",
        "s",
        _fmt(_value(figures, "cold_build", "stratus")),
        _fmt(_value(figures, "cold_build", "anchor")),
        *judged("cold_build"),
    )
    grid.add_row(
        "cache hit: build(wait=True) of a new version of a built spec, through the SDK",
        "ms",
        _fmt(_value(figures, "cache_hit", "stratus")),
        "-",
        *judged("cache_hit"),
    )
    grid.add_row(
        "  for reference: EnvironmentCache.get(hash) in process",
        "ms",
        _fmt(_value(figures, "cache_hit", "in_process"), 3),
        "-",
        "-",
        "",
        "",
    )
    grid.add_row(
        f"data upload: {sizes['data_bytes'] / 1e6:g} MB uri_file; anchor cp --reflink=never, sync, sha256sum",
        "MB/s",
        _fmt(_value(figures, "data_upload", "stratus")),
        _fmt(_value(figures, "data_upload", "anchor")),
        *judged("data_upload"),
    )
    return grid


def print_report(out: Console, report: dict[str, Any]) -> None:
    out.print(table(report))
    meta = report["meta"]
    for side in ("stratus", "anchor"):
        for result in report["figures"].get("cold_build", {}).get(side, {}).get("details", []):
            found = ", ".join(f"{k} {v}" for k, v in result["versions"].items())
            out.print(f"{side} installed {result['packages_installed']} packages: {found}")
    mismatched = report["versions_differ"]
    if mismatched:
        out.print(f"[red]versions differ between the two sides[/red] for {', '.join(mismatched)}")
    out.print(
        f"Python {meta['interpreter_version']} ({meta['interpreter']}), {meta['uv_version']}; "
        f"load average (1, 5, 15 min) before {meta['load_average_start']}, after {meta['load_average_end']} "
        f"on {meta['cpus']} CPUs; other users share this machine, so the figures are noisy."
    )


def _versions_differ(figures: dict[str, Any]) -> list[str]:
    seen: dict[str, set[str]] = {}
    for side in ("stratus", "anchor"):
        for result in figures.get("cold_build", {}).get(side, {}).get("details", []):
            for name, found in result["versions"].items():
                seen.setdefault(name, set()).add(found)
    return sorted(name for name, found in seen.items() if len(found) > 1)


# --- entry point ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one round, pip=['six'], 64 MB of data")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="the smoke test's run: --quick with 8 MB, warm uv cache, uv for the anchor (no figures)",
    )
    parser.add_argument("--rounds", type=int, help="rounds (default 3, --quick 1)")
    parser.add_argument(
        "--data-mb", type=float, help="size of the uploaded file in MB (default 1024, --quick 64)"
    )
    parser.add_argument(
        "--json", type=Path, help="also write every round's values, medians and machine facts"
    )
    parser.add_argument(
        "--scratch", type=Path, help="folder for the run's temporary folder (default: the system's temp)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, caches, copies)")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.data_mb is not None and args.data_mb <= 0:
        parser.error("--data-mb must be above 0")
    return args


def sizes_for(args: argparse.Namespace) -> Sizes:
    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    if args.rounds:
        sizes = dataclasses.replace(sizes, rounds=args.rounds)
    if args.data_mb:
        sizes = dataclasses.replace(sizes, data_bytes=int(args.data_mb * 1e6))
    return sizes


def _commit() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        return done.stdout.strip()
    return ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_for(args)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop_on_signal)
    interpreter = require_interpreter(PYTHON)  # the one Stratus's builds find: the anchor uses it too
    report: dict[str, Any] = {
        "meta": {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": [sys.executable, *sys.argv],
            "sizes": dataclasses.asdict(sizes),
            "stratus_version": version("stratus-ml"),
            "commit": _commit(),
            "python": platform.python_version(),
            "interpreter": str(interpreter.path),
            "interpreter_version": interpreter.version,
            "uv_version": _uv_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_start": load_average(),
        },
    }
    if args.scratch:
        args.scratch.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="stratus-envbench-", dir=args.scratch))
    try:
        recorder, rounds = run_rounds(args, sizes, workdir, interpreter.path)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]: every server was stopped")
        return 130
    finally:
        if args.keep:
            progress(f"scratch folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report["meta"]["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["meta"]["load_average_end"] = load_average()
    report["rounds"] = rounds
    report["figures"] = summarise(recorder.samples)
    report["targets"] = evaluate(report["figures"])
    report["versions_differ"] = _versions_differ(report["figures"])
    report["errors"] = errors = recorder.errors
    print_report(Console(width=max(Console().width, 200)), report)
    if args.json is not None:
        args.json.write_text(json.dumps(json_safe(report), indent=2) + "\n")
        progress(f"results written to {args.json}")
    for error in errors:
        console.print(f"[red]failed[/red] {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
