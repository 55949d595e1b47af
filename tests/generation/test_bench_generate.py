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
    command += ["--contenders", "baseline,batched,llama.cpp"]
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


def test_bench_generate_compares_library_batching_and_continuous_arrivals(tiny_model_dir):
    command = [sys.executable, str(BENCH), "--model", str(tiny_model_dir), "--prompts", "4"]
    command += ["--batch-size", "2", "--max-new-tokens", "6", "--threads", "1", "--rate", "20"]
    command += ["--contenders", "baseline,hf-batched,batched,continuous,poisson-fixed,poisson-cont"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    rows = dict(re.findall(r"^([\w.-]+) +[\d.]+ tok/s .* tokens +(\d+) ", out, re.M))
    names = ["baseline", "hf-batched", "batched", "continuous", "poisson-fixed", "poisson-cont"]
    assert sorted(rows) == sorted(names), out
    # the same greedy replies everywhere, so the same tokens (transformers' batching included)
    assert len(set(rows.values())) == 1 and 0 < int(rows["baseline"]) <= 4 * 6, out
    for ours in ("batched", "continuous", "poisson-fixed", "poisson-cont"):
        assert f"{ours}: same as baseline (greedy) in 4 of 4 replies" in out, out
    assert re.search(r"^hf-batched: same as baseline \(greedy\) in \d of 4 replies", out, re.M)
    assert re.search(r"^batched / hf-batched .* throughput: [\d.]+x$", out, re.M), out
    assert re.search(r"^continuous / batched throughput at saturation: [\d.]+x", out, re.M), out
    assert re.search(r"^poisson arrivals: continuous / fixed latency p50 [\d.]+x, p95 [\d.]+x",
                     out, re.M), out  # fmt: skip


def test_bench_generate_names_an_unknown_contender(tiny_model_dir):
    command = [sys.executable, str(BENCH), "--model", str(tiny_model_dir), "--contenders", "fast"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "--contenders: unknown ['fast']" in done.stderr


def test_bench_generate_compares_shared_prompts_with_a_copy_per_candidate(tiny_model_dir):
    command = [sys.executable, str(BENCH), "--model", str(tiny_model_dir), "--prompts", "3"]
    command += ["--batch-size", "6", "--max-new-tokens", "4", "--threads", "1"]
    command += ["--candidates", "2", "--contenders", "batched,batched-own"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    rows = dict(re.findall(r"^(batched|batched-own) +[\d.]+ tok/s .* tokens +(\d+) ", out, re.M))
    # two rows a reply, both ways: the same greedy tokens
    assert sorted(rows) == ["batched", "batched-own"] and len(set(rows.values())) == 1, out
    assert 3 < int(rows["batched"]) <= 3 * 2 * 4, out
    assert re.search(r"^batched \(shared prompts\) / batched-own: throughput [\d.]+x, peak RSS "
                     r"\d+ / \d+ MB$", out, re.M), out  # fmt: skip
