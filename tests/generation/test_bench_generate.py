"""Smoke test: the generation benchmark runs every contender end to end at a tiny size."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_generate.py"


def test_bench_generate_compares_batched_with_the_sequential_baseline(tiny_model_dir):
    command = [sys.executable, str(BENCH), "--model", str(tiny_model_dir), "--prompts", "3"]
    command += ["--batch-size", "3", "--max-new-tokens", "4", "--threads", "1", "--repeat", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    rows = re.findall(r"^(baseline|batched) +([\d.]+) tok/s .* tokens +(\d+)", out, re.M)
    assert len(rows) == 4, out  # two rounds, each with both contenders
    assert all(float(tps) > 0 and 0 < int(tokens) <= 3 * 4 for _, tps, tokens in rows), out
    # both write the same greedy replies, so they count the same tokens
    assert len({tokens for _, _, tokens in rows}) == 1, out
    assert re.search(r"^median over 2 rounds: batched / baseline [\d.]+x wall-clock", out, re.M)
    assert re.search(r"^llama.cpp +skipped: ", out, re.M), out
