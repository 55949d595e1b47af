"""A training run froze its pairs when it started; when some of them are deleted on Reddit (and
purged from the store) before it is resumed, the resume must not train on them: the frozen pairs
are deleted and the resume is refused, with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from redditbot.errors import ConfigError
from redditbot.store import purge
from redditbot.store.engine import make_engine, session_factory
from redditbot.store.models import CommentRow
from redditbot.training import runs
from redditbot.training.dataset import build_dataset, purged_pairs
from tests.training.conftest import BOT, SUBREDDIT
from tests.training.test_commands import PERSONA, FakeContext, run, settings_for


@pytest.fixture
def store(store_url):
    engine = make_engine(store_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def started_run(store, tmp_path):
    """A run that froze its pairs and was interrupted before its first checkpoint."""
    with store() as session:
        dataset = build_dataset(session, SUBREDDIT, bot_usernames=[BOT], validation_fraction=0.1)
    out = tmp_path / "tuned"
    runs.start_run(out, dataset, runs.TrainConfig(), base="base-model", persona=PERSONA)
    return out, dataset


def delete_on_reddit(store, fullname: str) -> None:
    with store.begin() as session:
        purge.purge(session, {fullname: "deleted"}, datetime(2026, 12, 1, tzinfo=UTC))


def test_a_run_whose_frozen_pairs_were_purged_is_not_resumed(store, store_url, started_run):
    out, dataset = started_run
    pair = dataset.train[0]
    words = pair.reply
    assert words in (out / runs.DATASET_FILE).read_text()
    delete_on_reddit(store, pair.reply_id)
    with store() as session:
        tainted = purged_pairs(session, [*dataset.train, *dataset.validation])
    assert pair.reply_id in tainted  # and the pairs answering it
    ctx = FakeContext(settings_for(store_url))
    with pytest.raises(ConfigError, match=f"{len(tainted)} of its frozen pairs were deleted on"):
        run(ctx, "train", "--subreddit", SUBREDDIT, "--out", str(out), "--resume")
    assert not (out / runs.DATASET_FILE).exists()  # the stored copy is gone with it
    assert json.loads((out / runs.RUN_FILE).read_text())["purged"] == {"pairs": len(tainted)}
    with pytest.raises(ConfigError, match="can no longer resume"):  # and stays refused
        run(ctx, "train", "--subreddit", SUBREDDIT, "--out", str(out), "--resume")


def test_a_purged_thread_or_comment_above_the_reply_taints_the_pair(store, started_run):
    _, dataset = started_run
    pairs = [*dataset.train, *dataset.validation]
    with store() as session:
        assert purged_pairs(session, pairs) == []  # nothing purged: the run may resume
    with store() as session:
        parent_of = {p.reply_id: session.get(CommentRow, p.reply_id).parent_fullname for p in pairs}
    deep = next(p for p in pairs if parent_of[p.reply_id].startswith("t1_"))  # answers a comment
    parent = parent_of[deep.reply_id]
    delete_on_reddit(store, parent)
    with store() as session:
        tainted = purged_pairs(session, pairs)
    assert deep.reply_id in tainted
    assert parent not in parent_of or parent in tainted  # the parent's own pair, if it has one
    delete_on_reddit(store, deep.thread)
    with store() as session:
        in_thread = {p.reply_id for p in pairs if p.thread == deep.thread}
        assert in_thread <= set(purged_pairs(session, pairs))
