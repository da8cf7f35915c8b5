"""benchmarks/cli.py end to end at --quick size: one run of every command beside its anchor against a real
server, and one server start on a new home and on a used one; checks the report's shape, never speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "cli.py"
COMMANDS = ["minimal_help", "minimal_list", "python", "stratus_help", "stratus_list", "stratus_version"]


@pytest.mark.timeout(300)  # ~15 s: three server starts and a dozen short processes
def test_quick_run_measures_every_figure_judges_every_target_and_cleans_up(tmp_path: Path) -> None:
    results, scratch = tmp_path / "results.json", tmp_path / "scratch"
    command = [sys.executable, str(SCRIPT), "--quick", "--json", str(results), "--scratch", str(scratch)]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    report = json.loads(results.read_text())
    meta, figures = report["meta"], report["figures"]
    assert report["errors"] == [] and meta["runs"] == 1

    assert sorted(figures) == sorted([*COMMANDS, "start_new", "start_used"])  # --quick leaves out mlflow
    for figure, entry in figures.items():
        assert entry["value"] > 0 and entry["samples"] == [entry["value"]], figure
    for figure in ("start_new", "start_used"):
        (detail,) = figures[figure]["details"]
        assert detail["first_request_s"] >= detail["value"]  # /ready answers before a real request

    targets = {check["figure"]: check for check in report["targets"]}
    assert sorted(targets) == ["start_new", "start_used", "stratus_help", "stratus_list", "stratus_version"]
    assert all(isinstance(check["met"], bool) and check["value"] > 0 for check in targets.values())
    for figure, anchor in (("stratus_help", "minimal_help"), ("stratus_list", "minimal_list")):
        ratio = figures[figure]["value"] / figures[anchor]["value"]
        assert targets[figure]["anchor"] == anchor and targets[figure]["ratio"] == pytest.approx(ratio, 1e-3)

    assert set(meta["bytecode"]) == {"src", "site_packages"}
    for key in ("load_average_start", "load_average_end"):
        assert len(meta[key]) == 3
    assert meta["cpus"] >= 1 and meta["typer_version"] and meta["python"]
    assert "The command line's start" in done.stdout and "server start to /ready, used home" in done.stdout
    # The servers' homes, their logs and the minimal app are gone.
    assert list(scratch.iterdir()) == []
