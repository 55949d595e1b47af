"""The quality benchmark's fixed target set and its report (the generation itself is not run)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.benchmarks.loader import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_quality")


def test_two_hundred_targets_from_every_subreddit_in_a_fixed_order(bench):
    targets = bench.corpus_targets(200)

    subs = Counter(t.context.subreddit for t in targets)
    assert len(targets) == 200
    assert len(subs) == 5 and min(subs.values()) >= 30
    assert len({t.context.subreddit for t in targets[:5]}) == 5  # round-robin
    assert [t.context for t in bench.corpus_targets(10)] == [t.context for t in targets[:10]]


def test_few_shot_examples_never_come_from_the_targets_own_thread(bench):
    examples = bench.corpus_examples()
    target = bench.corpus_targets(1)[0]
    chosen = bench.few_shot_examples(
        examples[target.context.subreddit.lower()], count=2, max_chars=400,
        exclude_link=target.link,
    )  # fmt: skip

    assert len(chosen) == 2
    assert target.context.title not in {context.title for context, _ in chosen}


def candidate(decision: str, relevance: float, chars: int, degenerate: bool = False) -> dict:
    return {
        "decision": decision, "score": relevance, "relevance_target": relevance,
        "relevance_thread": relevance, "fluency": 0.2, "length_fit": 0.5, "chars": chars,
        "chosen": False, "text": "t" * chars, "degenerate": degenerate,
        "reasons": [] if decision == "approve" else ["degenerate:few-words:0.9"], "finish": "stop",
    }  # fmt: skip


def test_report_compares_first_candidate_with_reranked_one(bench, tmp_path, capsys):
    result = {"best": 1, "target": "why?", "candidates": [
        candidate("reject", 0.9, 5, degenerate=True), candidate("approve", 0.5, 100),
    ]}  # fmt: skip
    lines = [{"index": i, "subreddit": "Cooking", "plain": result, "community": result}
             for i in range(2)]  # fmt: skip
    path = tmp_path / "out.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")

    bench.report(path)

    out = capsys.readouterr().out
    rows = {tuple(line.split()[:2]): line.split() for line in out.splitlines()
            if line.startswith(("plain ", "community "))}  # fmt: skip
    assert rows[("plain", "n=1")][2:4] == ["0.0%", "100.0%"]  # pass 1st, degenerate
    assert rows[("plain", "n=4")][2:4] == ["100.0%", "0.0%"]
    assert rows[("community", "n=4")][4] == "0.500"  # mean relevance of the chosen
    assert "all 8 drafts: degenerate 50.0%, pass 50.0%" in out
