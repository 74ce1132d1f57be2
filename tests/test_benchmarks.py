"""The scale benchmark runs end to end on a small synthetic set, so it cannot rot between
measured runs: every backend, the pyshacl and PageRank baselines, candidates, the cohort job.
(Its figures are not asserted: speed is measured by running it, not in tests.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_scale_runs_and_prints_its_tables():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_scale.py"), "--sizes", "400", "--no-model",
         "--backends", "rdflib,oxigraph-memory,remote", "--exhaustive-twins", "10", "--latency-twins", "5"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "### 400 cities" in text and "### Summary" in text
    assert "example row counts and catalogs identical on all" in text
    from kg.examples import EXAMPLES

    for stage in ("KG: SHACL validation", f"store remote: {len(EXAMPLES)} example queries", "PPR: ppr_matrix",
                  "scoring: candidates", "cohort 1: outputs + HTML reports written"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {stage}"))
        assert re.search(r"\| \d+\.\d{3} \|", row), row
    # the exhaustive part ran on a 10-twin sample and was extrapolated
    assert "scoring: exhaustive, all" in text
    summary = text.split("### Summary")[1].splitlines()
    assert any(line.startswith("| 400 |") for line in summary)


@pytest.mark.slow
def test_bench_europe_runs_on_the_tiny_release(tmp_path):
    """bench_europe end to end on the tiny GCoM release: every stage row, and the vectorised
    scores equal the Python loop's."""
    from tests.kg.gcom_release import write_release

    gcom = write_release(tmp_path / "gcom")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_europe.py"), "--gcom", str(gcom),
                          "--repeat", "1", "--peers", "2"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    for stage in ("read the release", "release into the graph", "profiles:", "score 65 pilots",
                  "recruit: all 65 pilots", "peers: one city", "outputs: CSV + JSON"):
        row = next(line for line in out.stdout.splitlines() if line.startswith(f"| {stage}"))
        assert re.search(r"\| \d+\.\d{4} \|", row), row
    assert "same scores: True" in out.stdout and "same: True" in out.stdout
    assert "peak RSS" in out.stdout
