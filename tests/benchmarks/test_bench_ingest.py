"""The listener benchmark: runs at tiny sizes, and its figures are the ones it claims."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.benchmarks.loader import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_ingest")


@pytest.fixture(scope="module")
def quick_run(bench, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """One ``--quick`` run: its JSON figures and the table it printed."""
    out = tmp_path_factory.mktemp("bench") / "figures.json"
    capture = pytest.MonkeyPatch()
    printed: list[str] = []
    capture.setattr("builtins.print", lambda text="", *_, **__: printed.append(str(text)))
    try:
        assert bench.main(["--quick", "--json", str(out)]) == 0
    finally:
        capture.undo()
    return json.loads(out.read_text(encoding="utf-8")), "\n".join(printed)


def test_quick_run_reports_both_sides_of_every_scenario(quick_run) -> None:
    figures, table = quick_run
    assert [s["per_round"] for s in figures["requests"]] == [20, 60]
    for scenario in figures["requests"]:
        ours, baseline = scenario["ours"], scenario["baseline"]
        assert scenario["items"] == 60 and scenario["subreddits"] == 3
        assert 0 < ours["requests"] < baseline["requests"]
        assert ours["seen"] == 60 and ours["missed"] == 0
        assert baseline["seen"] + baseline["missed"] == 60
        assert ours["token_requests"] == baseline["token_requests"] == 1
        assert ours["requests_per_1000"] == pytest.approx(ours["requests"] * 1000 / 60, abs=0.1)
        assert scenario["request_ratio"] == pytest.approx(
            baseline["requests"] / ours["requests"], abs=0.01
        )
    assert "baseline/ours requests" in table and "ours items/s" in table


def test_one_poll_costs_the_listener_three_requests_and_each_stream_one_or_two(quick_run):
    one_round = next(s for s in quick_run[0]["requests"] if s["rounds"] == 1)
    assert one_round["ours"]["requests"] == 3  # submissions, comments, inbox: 3 subreddits joined
    assert one_round["ours"]["priming_requests"] == 3
    # 6 streams; skip_existing primes with two requests each, a poll with news costs two more
    assert one_round["baseline"]["priming_requests"] == 12
    assert 6 < one_round["baseline"]["requests"] <= 12


def test_ingest_is_faster_than_one_insert_per_transaction(quick_run) -> None:
    figures = quick_run[0]
    backends = {row["backend"]: row for row in figures["ingest"]}
    assert "sqlite" in backends
    assert "postgresql" in backends or any("PostgreSQL" in s for s in figures["skipped"])
    for row in backends.values():
        assert (row["items"], row["baseline_items"]) == (300, 100)
        assert row["items_per_s"] > row["baseline_items_per_s"] > 0
        assert row["speedup"] == pytest.approx(
            row["items_per_s"] / row["baseline_items_per_s"], rel=0.01
        )


def test_a_stream_misses_what_a_busy_subreddit_posts_beyond_one_page(bench, tmp_path) -> None:
    scenario = bench.measure_requests(1, 150, 150, seed=1, workdir=tmp_path)
    comments = sum(a.kind == "comment" for a in bench.plan_rounds(["bench00"], 150, 150, 1)[0])
    assert comments > 100
    assert (scenario.ours.seen, scenario.ours.missed) == (150, 0)
    # One page per poll, no paging back; PRAW asks for 100 - k items on its k-th poll without
    # ``before`` (k = 1 here, after priming): 99 seen.
    assert scenario.baseline.missed == comments - 99
    assert scenario.ours.requests == 4  # the listener paged back: 1 + 2 comment pages + inbox


def test_arrivals_are_deterministic_and_favour_the_first_subreddits(bench) -> None:
    names = bench.subreddit_names(20)
    rounds = bench.plan_rounds(names, 1000, 50, seed=3)
    assert rounds == bench.plan_rounds(names, 1000, 50, seed=3)
    assert rounds != bench.plan_rounds(names, 1000, 50, seed=4)
    assert [len(r) for r in rounds] == [50] * 20
    per_subreddit = Counter(a.subreddit for r in rounds for a in r)
    assert per_subreddit["bench00"] > 3 * per_subreddit["bench19"] > 0
    threads = sum(a.kind == "submission" for r in rounds for a in r)
    assert 50 < threads < 150  # about one in ten


def test_quick_flag_and_sizes_parse(bench) -> None:
    args = bench.parse_args(["--subreddits", "5", "--per-round", "10,30", "--ingest", "50"])
    assert (args.subreddits, args.per_round, args.ingest, args.baseline_ingest) == (
        5,
        [10, 30],
        50,
        50,
    )
    assert bench.parse_args(["--quick"]).per_round == [20, 60]
