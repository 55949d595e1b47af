"""Pairs from the store: what is kept, what never is, the prompt format and the split."""

from __future__ import annotations

import json

import pytest

from redditbot.domain import GenerationRequest
from redditbot.generation.prompts import ApproxTokenizer, build_messages
from redditbot.store.engine import make_engine, session_factory
from redditbot.training.dataset import (
    Dataset,
    Pair,
    build_dataset,
    read_dataset,
    split_by_thread,
    write_jsonl,
)
from tests.training.conftest import BOT, BOT_TEXT, SECRET, SUBREDDIT, THREADS

PERSONA = "You love pizza."


def load(url: str, **kwargs) -> Dataset:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        dataset = build_dataset(session, SUBREDDIT, **kwargs)
    engine.dispose()
    return dataset


@pytest.fixture
def dataset(store_url: str) -> Dataset:
    return load(store_url, validation_fraction=0.25)


def everything(dataset: Dataset) -> str:
    """All text that would reach training or an export."""
    return json.dumps(list(dataset.records(PERSONA)))


def by_id(dataset: Dataset) -> dict[str, Pair]:
    return {pair.reply_id: pair for pair in dataset.train + dataset.validation}


def test_opted_out_users_text_and_name_never_reach_the_dataset(dataset):
    text = everything(dataset)
    assert SECRET not in text
    assert "secretuser" not in text.lower()
    assert dataset.dropped["opted_out"] == 1  # their own comment
    assert dataset.dropped["parent_opted_out"] == 1  # the answer to it: no context without them


def test_a_reply_further_down_keeps_its_context_without_the_opted_out_user(dataset):
    pair = by_id(dataset)["t1_s3"]
    assert pair.context.target_author == "pal50"
    assert pair.context.ancestors == ()  # SecretUser's comment above pal50 is left out


def test_the_bots_own_text_never_reaches_the_dataset(dataset):
    text = everything(dataset)
    assert BOT_TEXT not in text
    assert BOT not in text
    assert dataset.dropped["bot"] == 1
    assert dataset.dropped["parent_bot"] == 1


def test_the_configured_bot_username_is_excluded_even_on_unmarked_rows(store_url):
    dataset = load(store_url, bot_usernames=["fan5"])
    assert "t1_a5" not in by_id(dataset)
    assert "fan5" not in everything(dataset)


def test_deleted_removed_and_duplicate_comments_are_left_out(dataset):
    assert "[deleted]" not in everything(dataset)
    assert "[removed]" not in everything(dataset)
    assert dict(dataset.dropped) == {
        "bot": 1, "parent_bot": 1, "opted_out": 1, "parent_opted_out": 1,
        "deleted": 1, "parent_deleted": 1, "removed": 1, "duplicate": 1,
    }  # fmt: skip


def test_users_who_opted_back_in_and_other_subreddits(dataset):
    ids = by_id(dataset)
    assert ids["t1_o1"].reply == "the deep dish is fine, cheers mate"
    assert "OTHERPLACE" not in everything(dataset)
    assert len(ids) == THREADS * 2 + 2  # two per thread, plus s3 and o1


def test_the_split_is_by_thread_and_stable(store_url, dataset):
    train_threads = {p.thread for p in dataset.train}
    validation_threads = {p.thread for p in dataset.validation}
    assert not train_threads & validation_threads
    assert len(validation_threads) == 4  # ceil(16 * 0.25)
    assert load(store_url, validation_fraction=0.25) == dataset
    assert load(store_url, validation_fraction=0.25, seed=1).validation != dataset.validation


def test_split_keeps_at_least_one_thread_for_training():
    pairs = [Pair(f"t3_{i}", f"t1_{i}", None, "x") for i in range(2)]  # type: ignore[arg-type]
    train, validation = split_by_thread(pairs, 0.9)
    assert (len(train), len(validation)) == (1, 1)
    assert split_by_thread(pairs[:1], 0.5) == (pairs[:1], [])


def test_records_hold_the_generators_chat_messages_and_the_reply(dataset):
    pair = by_id(dataset)["t1_b7"]
    record = next(r for r in dataset.records(PERSONA) if r["reply_id"] == "t1_b7")
    request = GenerationRequest(key="k", context=pair.context, persona=PERSONA)
    assert record["messages"][:-1] == build_messages(request, ApproxTokenizer(), 10**9)
    assert record["messages"][-1] == {"role": "assistant", "content": pair.reply}
    assert (
        "u/fan7 replied:\n> the fresh basil is the best, cheers mate"
        in (record["messages"][1]["content"])
    )


def test_jsonl_round_trip(dataset, tmp_path):
    path = tmp_path / "pairs.jsonl"
    assert write_jsonl(dataset.records(PERSONA), path) == 34
    again = read_dataset(path, SUBREDDIT)
    assert (again.train, again.validation) == (dataset.train, dataset.validation)
