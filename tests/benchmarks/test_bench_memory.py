"""The memory benchmark at a tiny size: the real daemon, step by step, each variant in its own
process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_memory.py"
STEPS = ["python", "imports", "sandbox", "stages", "model", "moderation", "running"]


@pytest.mark.slow  # two daemons with the default model and the moderation models
def test_bench_memory_reports_each_steps_rss_for_each_variant(tmp_path) -> None:
    out = tmp_path / "memory.json"
    command = [sys.executable, str(BENCH), "--duration", "4", "--rate", "0.5", "--batch", "4"]
    command += ["--drain", "120", "--variants", "before,shipped", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    runs = {run["variant"]: run for run in json.loads(out.read_text())["runs"]}
    assert sorted(runs) == ["before", "shipped"]
    for run in runs.values():
        steps = {row["step"]: row for row in run["steps"]}
        assert list(steps) == STEPS
        assert steps["model"]["delta_mib"] > 50  # a model's worth (its weights come on use)
        assert steps["running"]["answered"] >= 1 and run["running"]["sampled_peak_mib"] > 0
        assert run["peak_rss_mib"] >= max(row["rss_mib"] for row in run["steps"])
        assert all(row["anon_mib"] > 0 and row["file_mib"] > 0 for row in run["steps"])
    assert runs["before"]["steps"][-1]["trims"] == 0
    assert runs["shipped"]["steps"][-1]["trims"] >= 1  # at least when the last batch ended
    assert "shipped: peak RSS" in done.stdout
