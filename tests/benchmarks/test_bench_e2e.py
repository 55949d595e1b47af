"""The end-to-end benchmark at a tiny size: the real daemon, fixed batches against continuous
generation under the same mentions, each in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_e2e.py"


@pytest.mark.slow  # two daemons with the default model and the moderation models
def test_bench_e2e_compares_fixed_batches_with_continuous_generation(tmp_path) -> None:
    out = tmp_path / "e2e.json"
    command = [sys.executable, str(BENCH), "--duration", "6", "--rates", "0.5", "--batch", "4"]
    command += ["--drain", "240", "--json", str(out), "--modes", "fixed,continuous"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    report = json.loads(out.read_text())
    runs = {row["mode"]: row for row in report["runs"]}
    assert sorted(runs) == ["continuous", "fixed"]
    for row in runs.values():
        assert row["rate_per_s"] == 0.5 and row["batch"] == 4 and row["mentions"] >= 2
        # every mention was answered or settled otherwise (a rejected draft is never posted)
        assert 0 < row["answered"] <= row["mentions"], row
        assert 0 < row["latency_p50_s"] <= row["latency_p95_s"] < 240
        assert row["replies_per_min"] > 0 and 0 <= row["moderation_pass"] <= 1
        assert row["peak_rss_mib"] > 100  # its own process: at least a model's worth
        legs = ("to_job", "to_draft", "to_posted")
        for leg in legs:
            assert 0 <= row["phases_p50_s"][leg] <= row["phases_p95_s"][leg], row
    [line] = report["comparisons"]
    assert line.startswith("0.5/s: continuous / fixed p50 x") and "peak RSS" in line
    assert line in done.stdout
