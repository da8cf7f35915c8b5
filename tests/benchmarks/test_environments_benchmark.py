"""benchmarks/environments.py end to end at --quick sizes: a cold build with empty caches on both sides, a
cache hit, and a data upload against cp, each measured once; checks the shape and the correctness checks
the benchmark makes (same packages installed, intact copies), never speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "environments.py"


@pytest.mark.network  # the benchmark compares cold builds from PyPI with pip's, by design
@pytest.mark.timeout(300)  # ~45 s: a real server, a uv build and a pip install, both from PyPI
def test_quick_run_measures_every_figure_and_cleans_up(tmp_path: Path) -> None:
    results, scratch = tmp_path / "results.json", tmp_path / "scratch"
    command = [sys.executable, str(SCRIPT), "--quick", "--json", str(results), "--scratch", str(scratch)]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    report = json.loads(results.read_text())
    meta, figures = report["meta"], report["figures"]
    rounds = meta["sizes"]["rounds"]
    assert rounds == 1 and meta["sizes"]["packages"] == ["six"]
    assert report["errors"] == []

    expected = {"cold_build": ["anchor", "stratus"], "cache_hit": ["in_process", "stratus"]}
    expected["data_upload"] = ["anchor", "stratus"]
    assert {figure: sorted(sides) for figure, sides in figures.items()} == expected
    for figure, sides in figures.items():
        for side, entry in sides.items():
            assert entry["value"] > 0, (figure, side)
            assert len(entry["samples"]) == len(entry["details"]) == rounds, (figure, side)

    cold = figures["cold_build"]
    stratus, anchor = cold["stratus"]["details"][0], cold["anchor"]["details"][0]
    # Both sides built on the same interpreter and installed the asked-for package and mlflow-skinny.
    assert stratus["interpreter"] == anchor["interpreter"] == meta["interpreter"]
    for side in (stratus, anchor):
        assert set(side["versions"]) == {"six", "mlflow-skinny"}
        assert "missing" not in side["versions"].values()
        assert side["packages_installed"] > 2
    assert set(stratus["server_timings"]) >= {"resolve", "install"}  # resolved from PyPI, not a lock

    hit = figures["cache_hit"]["stratus"]["details"][0]
    assert hit["status"] == "Succeeded" and hit["spec_hash"] == stratus["spec_hash"]
    assert hit["version"] != hit["first_version"]
    assert len(hit["repeats_ms"]) > 0
    assert figures["cache_hit"]["in_process"]["details"][0]["calls"] > 1

    for side in ("stratus", "anchor"):
        upload = figures["data_upload"][side]["details"][0]
        assert upload["intact"], side
        assert upload["seconds"] > 0
    assert figures["data_upload"]["stratus"]["details"][0]["uri"].startswith("azureml://datastores/")

    assert {check["figure"] for check in report["targets"]} == {"cold_build", "cache_hit", "data_upload"}
    assert all(isinstance(check["met"], bool) for check in report["targets"])
    assert report["rounds"][0]["order"] == ["stratus", "anchor"]
    for key in ("load_average_start", "load_average_end"):
        assert len(meta[key]) == 3
    assert meta["cpus"] >= 1 and meta["uv_version"].startswith("uv ") and meta["python"]
    assert "Environments and data: Stratus vs pip / cp" in done.stdout
    # Servers, caches, environments, the random file and the copies are gone.
    assert list(scratch.iterdir()) == []
