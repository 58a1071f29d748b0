"""The lint benchmark runs and its generated corpus is valid (its speed is not tested)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_scenarios_generates_a_valid_corpus_and_reports_every_run() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_scenarios.py"), "--files", "60",
         "--repeat", "2"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    report = dict(line.rsplit(maxsplit=1) for line in out.splitlines() if line.strip())
    assert (report["files"], report["valid"], report["problems"]) == ("60", "60", "0")
    assert int(report["flows"]) >= 60 and report["repeats"] == "2"
    fastest, median, slowest = (report[k] for k in ("files/s", "files/s median", "files/s slowest"))
    assert float(fastest) >= float(median) >= float(slowest) > 0
