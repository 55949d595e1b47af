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


def real_record(variant: str, n: int, line: int, seconds: float, first: dict, chosen: dict):
    return {
        "variant": variant, "n": n, "line": line, "seconds": seconds, "chosen": 1 if n > 1 else 0,
        "human": f"human reply number {line} lol", "reply": chosen["text"],
        "input": {"subreddit": "funny", "title": f"post {line}", "text": f"parent {line}?"},
        "candidates": [first, chosen] if n > 1 else [first],
    }  # fmt: skip


def real_candidate(text: str, finish: str, decision: str = "approve") -> dict:
    return {"text": text, "finish_reason": finish, "moderation": {"decision": decision}}


def test_real_report_times_n1_from_its_own_run_and_counts_replies_cut_mid_sentence(bench, tmp_path):
    cut = real_candidate("this one was cut right in the", "length", "reject")
    ended = real_candidate("This one ends well.", "length")
    natural = real_candidate("Short and done", "stop")
    records = [
        *(real_record("v", 4, i, 6.0, cut if i % 2 else natural, ended) for i in range(6)),
        *(real_record("v", 1, i, 2.0 + i % 2, natural, natural) for i in range(6)),
        *(real_record("w", 4, i, 9.0, natural, natural) for i in range(6)),
    ]
    path = tmp_path / "real.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")

    table = [line.split() for line in bench.real_report(path).splitlines()[1:5]]

    # variant pick parents AUC asst median human ratio cut mid rel-bot rel-hum pass s/reply
    v1, v4, v1_alone, w1 = table
    assert v1[:3] == ["v", "n=1", "6"] and v1[8:10] == ["50.0%", "50.0%"]
    assert v1[12:] == ["50.0%", "2.50"]  # the n=1 run's seconds, not the n=4 run's 6.0
    assert (
        v4[:2] == ["v", "n=4"] and v4[8:10] == ["100.0%", "0.0%"] and v4[12:] == ["100.0%", "6.00"]
    )
    assert v1_alone[:2] == ["v", "n=1"] and v1_alone[13] == "2.50"
    assert w1[:2] == ["w", "n=1"] and w1[13] == "n/a"  # no n=1 run of w: not measured


def test_same_thread_examples_never_show_a_targets_human_reply(bench):
    cassettes = load_benchmark("reddit_cassettes")

    def pair(name, parent, text, reply, ancestors=()):
        draft = {
            "subreddit": "funny",
            "title": "post",
            "author": "a",
            "text": text,
            "ancestors": [{"author": "b", "text": t} for t in ancestors],
            "thread": "t3_x",
        }
        return cassettes.Pair(draft, reply, name, parent, "t3_x", 5)  # fmt: skip

    target = pair("t1_h", "t1_p", "the parent", "the human answer")
    every = [
        target,
        pair("t1_c", "t1_h", "the human answer", "a reply to the answer"),  # answers it
        pair("t1_d", "t1_c", "a reply to the answer", "deeper", ["the human answer"]),  # below
        pair("t1_o", "t1_q", "another parent", "another answer"),
    ]
    examples = bench.thread_examples(every, [target])

    assert [(e.reply, e.link_id) for e in examples] == [("another answer", "t1_q")]
    keyed = bench._keyed_by_parent(bench_input(target), target)
    assert keyed.thread == "t1_p" and keyed.line == 3  # its own parent's examples are skipped


def bench_input(pair):
    from redditbot.cli.draft import parse_input

    return parse_input(3, json.dumps(pair.draft_input))
