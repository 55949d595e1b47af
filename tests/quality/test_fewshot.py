"""Few-shot examples: best-scored human replies of the same subreddit, never the same thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from redditbot.domain import ThreadContext
from redditbot.quality.fewshot import ExampleSource, few_shot_examples, stored_examples
from redditbot.store.models import CommentRow, SubmissionRow
from tests.conftest import migrated_sessions


def source(reply: str, score: int, link: str) -> ExampleSource:
    return ExampleSource(ThreadContext("Cooking", f"title of {link}"), reply, score, link)


def test_best_scored_first_one_per_thread_own_thread_excluded():
    sources = [
        source("fine answer", 10, "t3_a"),
        source("best answer, but in the thread being answered", 99, "t3_own"),
        source("second answer of thread b", 30, "t3_b"),
        source("top answer of thread b", 50, "t3_b"),
        source("answer of c", 20, "t3_c"),
    ]

    examples = few_shot_examples(sources, count=2, max_chars=100, exclude_link="t3_own")

    assert [reply for _, reply in examples] == ["top answer of thread b", "answer of c"]
    assert examples[0][0].title == "title of t3_b"


def test_long_and_empty_replies_are_not_examples():
    sources = [source("x" * 101, 50, "t3_a"), source("   ", 40, "t3_b"), source("ok", 1, "t3_c")]

    examples = few_shot_examples(sources, count=3, max_chars=100)

    assert [reply for _, reply in examples] == ["ok"]


def test_zero_count_gives_none():
    assert few_shot_examples([source("ok", 1, "t3_a")], count=0, max_chars=100) == ()


@pytest.fixture
def sessions(sqlite_empty_url: str) -> Iterator[sessionmaker[Session]]:
    yield from migrated_sessions(sqlite_empty_url)


def post(fullname: str, subreddit: str = "Cooking") -> SubmissionRow:
    return SubmissionRow(
        fullname=fullname, subreddit=subreddit, author="op", title=f"Thread {fullname}",
        selftext="Help please", created_utc=1.0,
    )  # fmt: skip


def comment(fullname: str, link: str, parent: str, body: str, score: int, **extra) -> CommentRow:
    return CommentRow(
        fullname=fullname, subreddit=extra.pop("subreddit", "Cooking"), link_fullname=link,
        parent_fullname=parent, author=extra.pop("author", "cook"), body=body, created_utc=2.0,
        score=score, depth=0 if parent.startswith("t3_") else 1, **extra,
    )  # fmt: skip


def test_stored_examples_come_from_the_subreddits_stored_threads(sessions):
    with sessions.begin() as session:
        session.add_all([post("t3_a"), post("t3_b"), post("t3_own"), post("t3_x", "gardening")])
        session.add_all([
            comment("t1_q", "t3_a", "t3_a", "Is the yeast dead?", 5, author="asker"),
            comment("t1_r", "t3_a", "t1_q", "Proof it in warm water first.", 80),
            comment("t1_b", "t3_b", "t3_b", "Salt the pasta water well.", 40),
            comment("t1_bot", "t3_b", "t3_b", "I am the bot.", 500, bot_account="me"),
            comment("t1_del", "t3_b", "t3_b", "[removed]", 400, removed=True),
            comment("t1_own", "t3_own", "t3_own", "Same thread: not an example.", 300),
            comment("t1_x", "t3_x", "t3_x", "Water tomatoes deeply.", 900, subreddit="gardening"),
        ])  # fmt: skip
    with sessions() as session:
        examples = stored_examples(
            session, "cooking", count=3, max_chars=200, exclude_link="t3_own"
        )

    (first_ctx, first), (second_ctx, second) = examples
    assert first == "Proof it in warm water first."
    assert (first_ctx.title, first_ctx.target_body, first_ctx.target_author) == (
        "Thread t3_a", "Is the yeast dead?", "asker",
    )  # fmt: skip
    assert second == "Salt the pasta water well."
    assert second_ctx.target_body is None  # answers the post itself


def test_no_stored_threads_no_examples(sessions):
    with sessions() as session:
        assert stored_examples(session, "Cooking", count=2, max_chars=200) == ()
