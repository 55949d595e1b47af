"""Fixtures: a small synthetic subreddit in a migrated SQLite store, and the tiny model."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from redditbot.domain import Comment, Submission
from redditbot.store import migrate
from redditbot.store.engine import make_engine, session_factory
from redditbot.store.models import OptOut
from redditbot.store.queries import upsert_items
from tests.generation.conftest import build_tiny_model

SUBREDDIT = "pizzatalk"
BOT = "replybot"
SECRET = "ZEBRAQUOKKA"  # only ever written by the opted-out user
BOT_TEXT = "BOTSAYS"  # only ever written by the bot
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
TOPICS = [
    "wood oven crust", "sourdough crust", "corner place pizza", "market stall pizza",
    "thin crust", "deep dish", "tomato sauce", "fresh basil", "mozzarella cheese",
    "garlic oil", "pizza stone", "olive oil", "oven heat", "pizza dough", "crust edge",
    "cheese pull",
]  # fmt: skip
THREADS = len(TOPICS)


def _post(i: int, author: str = "") -> Submission:
    topic = TOPICS[i]
    return Submission(
        id=f"p{i}", subreddit=SUBREDDIT, author=author or f"poster{i}",
        title=f"What about the {topic}?", selftext=f"I think the {topic} is great.",
        created_utc=1000.0 + i * 100,
    )  # fmt: skip


def _comment(cid: str, post: int, parent: str, author: str | None, body: str, **kw) -> Comment:
    return Comment(
        id=cid, subreddit=SUBREDDIT, link_id=f"t3_p{post}", parent_id=parent, author=author,
        body=body, created_utc=1000.0 + post * 100 + len(cid), **kw,
    )  # fmt: skip


def thread_items(i: int) -> list[Submission | Comment]:
    """A post, a top-level answer and a reply to it, all in this subreddit's style."""
    topic = TOPICS[i]
    return [
        _post(i),
        _comment(f"a{i}", i, f"t3_p{i}", f"fan{i}", f"the {topic} is the best, cheers mate"),
        _comment(f"b{i}", i, f"t1_a{i}", f"pal{i}", f"agreed, the {topic} wins, cheers mate"),
    ]


def special_items() -> list[Submission | Comment]:
    """The rows that must not become training text, and one that must."""
    return [
        # an opted-out user, a reply to them (dropped) and a reply below that (kept, without them)
        _comment("s1", 0, "t3_p0", "SecretUser", f"{SECRET} my private pizza opinion"),
        _comment("s2", 0, "t1_s1", "pal50", "the crust is good, cheers mate"),
        _comment("s3", 0, "t1_s2", "fan51", "the oven is hot, cheers mate"),
        # the bot, and a reply to it
        _comment("r1", 1, "t3_p1", BOT, f"{BOT_TEXT} as a bot I like pizza"),
        _comment("r2", 1, "t1_r1", "fan52", "the cheese is nice, cheers mate"),
        # deleted and removed comments, and a reply to a deleted one
        _comment("d1", 2, "t3_p2", None, "[deleted]", deleted=True),
        _comment("d2", 2, "t1_d1", "fan53", "the sauce is red, cheers mate"),
        _comment("d3", 2, "t3_p2", "troll", "[removed]", removed=True),
        # a double post of the same answer
        _comment("x1", 3, "t3_p3", "fan3", f"the {TOPICS[3]} is the best,  cheers mate"),
        # a user who opted out and back in: kept
        _comment("o1", 4, "t3_p4", "ChangedMind", "the deep dish is fine, cheers mate"),
        # another subreddit
        Comment(
            id="z1",
            subreddit="elsewhere",
            link_id="t3_q1",
            parent_id="t3_q1",
            author="stranger",
            body="OTHERPLACE text",
            created_utc=5.0,
        ),  # fmt: skip
        Submission(id="q1", subreddit="elsewhere", author="stranger", title="OTHERPLACE"),
    ]


def store_subreddit(url: str) -> None:
    """Migrate ``url`` and store the synthetic subreddit and the opt-outs in it."""
    migrate.upgrade(url)
    engine = make_engine(url)
    items = [item for i in range(THREADS) for item in thread_items(i)] + special_items()
    with session_factory(engine)() as session:
        upsert_items(session, items, account="botacct", bot_username=BOT, now=NOW)
        session.add(OptOut(username="SecretUser", opted_out=True, source_fullname="t1_s0"))
        session.add(OptOut(username="ChangedMind", opted_out=False, source_fullname="t1_o0"))
        session.commit()
    engine.dispose()


@pytest.fixture
def store_url(sqlite_empty_url: str) -> str:
    """A migrated SQLite store holding r/pizzatalk (16 threads) and the special rows."""
    store_subreddit(sqlite_empty_url)
    return sqlite_empty_url


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """The generation tests' tiny random Llama with a ChatML template."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-chat"), chat_template=True)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread, above all on a CPU shared with other jobs."""
    import torch  # a dependency of the package, not an optional one

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: takes more than 10 s (still runs in CI)")
