"""The evaluation set and the benchmark script that scores the filter on it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from redditbot.moderation.moderator import Moderator
from tests.benchmarks.loader import load_benchmark
from tests.moderation.helpers import make_settings

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data" / "moderation_eval.jsonl"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_moderation")


def rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


def test_evaluation_set_is_large_labelled_and_covers_every_category():
    data = rows()
    assert len(data) >= 300 and len({r["id"] for r in data}) == len(data)
    counts = Counter(r["category"] for r in data)
    for category in (
        "clean",
        "alarming_clean",
        "toxic",
        "personal_data",
        "spam",
        "injection",
        "degenerate",
        "borderline",
        "echo",
    ):
        assert counts[category] >= 15, category
    assert {r["expect"] for r in data} == {"approve", "flag"}


def test_evaluate_reports_precision_recall_and_misses(bench):
    sample = [
        {
            "id": "a",
            "category": "toxic",
            "expect": "flag",
            "text": "kys",
            "parent": "",
            "subreddit": "",
        },
        {
            "id": "b",
            "category": "clean",
            "expect": "approve",
            "text": "Water the basil daily.",
            "parent": "",
            "subreddit": "",
        },
        {
            "id": "c",
            "category": "toxic",
            "expect": "flag",
            "text": "You smell of elderberries.",
            "parent": "",
            "subreddit": "",
        },
    ]
    settings = make_settings(toxicity={"classifier": "wordlist"})
    report = bench.evaluate(sample, Moderator(settings, meaning=None))
    assert report.overall() == {"precision": 1.0, "recall": 0.5}
    assert report.family("toxic") == {"precision": 1.0, "recall": 0.5, "fired": 1}
    assert [m.row["id"] for m in report.misses()] == ["c"]
    text = "\n".join(bench.render(report))
    assert "toxic" in text and "flag→approve" in text


def test_named_categories_latency_and_the_held_out_rows(bench):
    def outcome(category, categories, seconds):
        row = {"id": category, "category": category, "expect": "flag", "text": "x"}
        return bench.Outcome(row, bool(categories), (), (), categories, seconds)

    report = bench.Report([outcome("threat", ("threat",), 0.01),
                           outcome("threat", ("harassment",), 0.02),
                           outcome("harassment", ("threat",), 0.03)])  # fmt: skip
    assert report.named("threat") == {"precision": 0.5, "recall": 0.5}
    assert report.latency_ms() == {"p50": 20.0, "p95": 30.0}
    rows = bench.meaning_rows("eval")
    assert len(rows) > 400 and {r["expect"] for r in rows} == {"flag", "approve"}


def test_filter_meets_its_floor_on_the_whole_set(bench):
    report = bench.evaluate(rows(), Moderator(make_settings()))
    overall = report.overall()
    # Floors a little under the measured figures, so a regression shows up here.
    assert overall["precision"] >= 0.93 and overall["recall"] >= 0.92
