"""Delete what users delete: stored text of items deleted, removed or whose account was deleted
on the sandbox Reddit is purged, with its copies in prompts, within a request budget."""

from __future__ import annotations

from pathlib import Path

import praw
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from redditbot.config import Settings
from redditbot.pipeline.housekeeping import Housekeeping
from redditbot.pipeline.listen import Listener
from redditbot.pipeline.purge import Purger
from redditbot.quality.fewshot import stored_examples
from redditbot.reddit.sandbox import DEMO_BOT, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from redditbot.store import queries
from redditbot.store.engine import release_freed_pages
from redditbot.store.models import (
    CommentRow,
    Event,
    GenerationRow,
    PostJob,
    ReplyJob,
    SubmissionRow,
)
from redditbot.training.dataset import build_dataset

from .conftest import StepClock


def listener(gateway, sessions, clock, subreddits=("learnpython",)) -> Listener:
    return Listener(gateway, sessions, account="bot", bot_username=DEMO_BOT,
                    subreddits=list(subreddits), clock=clock)  # fmt: skip


def purger(gateway, sessions, clock, requests: int = 10) -> Purger:
    return Purger(gateway, sessions, account="bot", requests=requests, clock=clock)


def stored(sessions, model, fullname: str):
    with sessions() as session:
        return session.get(model, fullname)


def stored_count(sessions) -> int:
    with sessions() as session:
        names = list(session.scalars(select(CommentRow.fullname)))
        return len(names) + len(list(session.scalars(select(SubmissionRow.fullname))))


def as_author(sandbox, name: str) -> praw.Reddit:
    """PRAW logged in as a corpus user (their password is the sandbox default)."""
    kwargs = sandbox.praw_kwargs(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, name, "password")
    return praw.Reddit(**kwargs, ratelimit_seconds=0)


def add_generation(sessions, clock, target: str, link: str, prompt: str, candidate: str) -> int:
    with sessions.begin() as session:
        job = ReplyJob(account="bot", target_fullname=target, subreddit="learnpython",
                       link_fullname=link, status="drafted", created_at=clock(),
                       updated_at=clock())  # fmt: skip
        session.add(job)
        session.flush()
        row = GenerationRow(job_id=job.id, backend="scripted", model="m", prompt=prompt,
                            output=candidate, candidates=[{"text": candidate, "score": 0.5}],
                            created_at=clock())  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def all_stored_text(sessions) -> str:
    """Every text column that can hold a copy of a user's words."""
    with sessions() as session:
        parts = [f"{c.author} {c.body}" for c in session.scalars(select(CommentRow))]
        parts += [
            f"{s.author} {s.title} {s.selftext}" for s in session.scalars(select(SubmissionRow))
        ]
        parts += [
            f"{g.prompt} {g.output} {g.candidates}" for g in session.scalars(select(GenerationRow))
        ]
        parts += [f"{p.prompt}" for p in session.scalars(select(PostJob))]
    return "\n".join(parts)


@pytest.fixture
def thread(world, gateway, sessions, clock, sandbox):
    """A learnpython thread with comments by three users, stored by the listener."""
    post = "t3_" + world.add_submission("learnpython", "carol", "Unique thread title for purge",
                                        "The selftext carol wrote about generators.")  # fmt: skip
    mine = "t1_" + world.add_comment(post, "alice", "Alice explains list comprehensions at length.")
    removed = "t1_" + world.add_comment(post, "bob", "Bob links to a spammy course website.")
    kept = "t1_" + world.add_comment(post, "dave", "Dave suggests reading the tutorial first.")
    carol_reply = "t1_" + world.add_comment(kept, "carol", "Carol agrees with dave about docs.")
    listener(gateway, sessions, clock).run_once()
    assert stored(sessions, CommentRow, mine).body.startswith("Alice explains")
    return {"post": post, "mine": mine, "removed": removed, "kept": kept, "carol": carol_reply}


def test_deleted_removed_and_deleted_accounts_are_purged_with_their_copies(
    world, sandbox, gateway, sessions, clock, thread
) -> None:
    alice, bob, carol = (
        "Alice explains list comprehensions at length.",
        "Bob links to a spammy course website.",
        "Carol agrees with dave about docs.",
    )
    answered = add_generation(sessions, clock, thread["mine"], thread["post"],
                              f"u/alice replied:\n> {alice}", f"Yes! {alice}")  # fmt: skip
    few_shot = add_generation(sessions, clock, thread["kept"], thread["post"],
                              f"Example:\n> {bob}\nu/dave replied:\n> Dave suggests reading "
                              "the tutorial first.", "Read the docs.")  # fmt: skip
    with sessions.begin() as session:
        session.add(PostJob(account="bot", subreddit="learnpython", slot="2026-01-01T00:00",
                            status="posted", prompt=f"Title: a post\nBody: {bob}",
                            created_at=clock(), updated_at=clock()))  # fmt: skip
    as_author(sandbox, "alice").comment(thread["mine"][3:]).delete()  # as its author would
    world.remove(thread["removed"])
    world.delete_account("carol")
    sandbox.requests.clear()

    purged = purger(gateway, sessions, clock).run_once()

    assert purged == 4  # alice's comment, bob's, and both of carol's items
    assert sandbox.requests.count(kind="api") == -(-stored_count(sessions) // 100)  # 100 a request
    row = stored(sessions, CommentRow, thread["mine"])
    assert (row.body, row.author, row.deleted) == ("[deleted]", None, True)
    assert row.purged_at is not None
    assert stored(sessions, CommentRow, thread["removed"]).body == "[removed]"
    post = stored(sessions, SubmissionRow, thread["post"])
    assert (post.title, post.selftext, post.author) == ("[deleted]", "", None)
    assert stored(sessions, CommentRow, thread["kept"]).body.startswith("Dave suggests")
    everything = all_stored_text(sessions)
    for text in (alice, bob, carol, "Unique thread title for purge", "carol wrote", "carol"):
        assert text not in everything
    with sessions() as session:
        first, second = (session.get(GenerationRow, i) for i in (answered, few_shot))
        [event] = session.scalars(select(Event).where(Event.kind == "purge"))
    assert first.prompt.startswith("[purged") and alice not in first.candidates[0]["text"]
    assert "[purged]" in second.prompt and "Dave suggests" in second.prompt
    assert event.data["comments"] == 3 and event.data["submissions"] == 1
    assert event.data["reasons"] == {"account_deleted": 2, "deleted": 1, "removed": 1}
    assert event.data["post_jobs"] == 1
    assert event.data["generations"] == 2 and event.data["checked"] == stored_count(sessions)


def test_purged_items_never_reach_exports_or_few_shot(
    world, sandbox, gateway, sessions, clock, thread
) -> None:
    world.delete_account("dave")
    purger(gateway, sessions, clock).run_once()
    with sessions() as session:
        dataset = build_dataset(session, "learnpython", bot_usernames=[DEMO_BOT])
        examples = stored_examples(session, "learnpython", count=50, max_chars=2000)
    pairs = [p for p in (*dataset.train, *dataset.validation)]
    assert all("Dave suggests" not in p.reply and "Dave suggests" not in str(p.context)
               for p in pairs)  # fmt: skip
    assert all("Dave suggests" not in reply and "Dave suggests" not in str(context)
               for context, reply in examples)  # fmt: skip


def test_what_the_listener_sees_deleted_is_purged_as_it_is_stored(
    world, sandbox, gateway, sessions, clock, thread
) -> None:
    alice = "Alice explains list comprehensions at length."
    gen = add_generation(sessions, clock, thread["kept"], thread["post"],
                         f"Example:\n> {alice}", "Read the docs.")  # fmt: skip
    world.delete(thread["mine"])
    listener(gateway, sessions, clock).refresh([thread["mine"]])
    with sessions() as session:
        assert alice not in session.get(GenerationRow, gen).prompt
        assert session.get(CommentRow, thread["mine"]).purged_at is not None
        assert session.scalars(select(Event).where(Event.kind == "purge")).one()


def test_a_deleted_accounts_text_is_not_stored_again(
    world, sandbox, gateway, sessions, clock, thread
) -> None:
    world.delete_account("dave")  # Reddit still shows the text, with author [deleted]
    purger(gateway, sessions, clock).run_once()
    listener(gateway, sessions, clock).refresh([thread["kept"]])
    row = stored(sessions, CommentRow, thread["kept"])
    assert (row.body, row.author) == ("[deleted]", None)


def test_one_item_of_a_deleted_account_purges_everything_it_wrote(
    world, sandbox, gateway, sessions, clock, thread
) -> None:
    world.delete_account("carol")
    listener(gateway, sessions, clock).refresh([thread["carol"]])  # Reddit asked about one
    post = stored(sessions, SubmissionRow, thread["post"])
    assert (post.title, post.author) == ("[deleted]", None) and post.purged_at is not None


def test_each_run_stays_within_its_request_budget_and_checks_the_oldest_first(
    world, sandbox, gateway, sessions, clock
) -> None:
    listener(gateway, sessions, clock, subreddits=("learnpython", "gardening")).run_once()
    total = stored_count(sessions)
    assert 100 < total < 200
    sandbox.requests.clear()
    purger(gateway, sessions, clock, requests=1).run_once()
    assert sandbox.requests.count(kind="api") == 1  # the budget, whatever is left unchecked
    assert len(checked_times(sessions)) == 100
    first = min(checked_times(sessions))
    clock.advance(60)
    purger(gateway, sessions, clock, requests=1).run_once()
    times = checked_times(sessions)
    assert len(times) == total  # the second run took the never-checked items first
    assert times.count(first) == 100  # and nothing checked within the recheck period
    sandbox.requests.clear()
    assert purger(gateway, sessions, clock, requests=1).run_once() == 0
    assert sandbox.requests.count(kind="api") == 0  # all fresh: no request at all
    clock.advance(24 * 3600)
    purger(gateway, sessions, clock, requests=1).run_once()
    assert checked_times(sessions).count(first) == 0  # the oldest checks come round again


def checked_times(sessions) -> list:
    with sessions() as session:
        times = [c for c in session.scalars(select(CommentRow.checked_at)) if c]
        return times + [c for c in session.scalars(select(SubmissionRow.checked_at)) if c]


def test_housekeeping_runs_the_purge_with_the_configured_budget(
    world, sandbox, gateway, sessions, clock, thread
) -> None:
    settings = Settings(housekeeping={"purge_requests": 5}, subreddits=[{"name": "learnpython"}])
    house = Housekeeping(gateway, sessions, settings, account="bot", clock=clock,
                         refresh=lambda names: 0, release_stale_leases=lambda: 0)  # fmt: skip
    world.delete(thread["mine"])
    house.run_once()
    assert stored(sessions, CommentRow, thread["mine"]).purged_at is not None
    off = Settings(housekeeping={"purge_requests": 0}, subreddits=[{"name": "learnpython"}])
    assert (
        Housekeeping(
            gateway,
            sessions,
            off,
            account="bot",
            clock=clock,
            refresh=lambda n: 0,
            release_stale_leases=lambda: 0,
        ).purger.run_once()
        == 0
    )


@pytest.fixture
def sessions_on_insecure_build(sqlite_empty_url):
    """SQLite sessions as on a build whose secure_delete default is off (Debian's is on): a
    listener ahead of the engine's own switches it off, so only the engine's pragma turns it on."""
    from sqlalchemy import event

    from redditbot.store import migrate
    from redditbot.store.engine import make_engine, session_factory

    migrate.upgrade(sqlite_empty_url)
    engine = make_engine(sqlite_empty_url)

    def insecure(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA secure_delete=OFF")

    event.listen(engine, "connect", insecure, insert=True)
    yield session_factory(engine)
    engine.dispose()


def test_purged_text_does_not_linger_in_the_sqlite_file(
    world, sandbox, gateway, sessions_on_insecure_build, sqlite_empty_url, clock
) -> None:
    sessions = sessions_on_insecure_build
    # Long enough for overflow pages: freed, they would keep the text without secure_delete.
    marker = "QUOKKAZEBRA-9931 my phone number is in this comment. " * 200
    post = "t3_" + world.add_submission("learnpython", "erin", "A title", "a body")
    secret = "t1_" + world.add_comment(post, "erin", marker)
    listener(gateway, sessions, clock).run_once()
    path = Path(make_url(sqlite_empty_url).database)
    release_freed_pages(sessions)
    assert b"QUOKKAZEBRA-9931" in path.read_bytes()  # the check below can see it
    world.delete(secret)
    purger(gateway, sessions, clock).run_once()
    for file in (path, path.with_name(path.name + "-wal")):
        if file.exists():
            assert b"QUOKKAZEBRA-9931" not in file.read_bytes(), file


def test_a_run_records_its_counts_even_when_nothing_was_gone(
    world, sandbox, gateway, sessions, clock, thread
) -> None:
    purger(gateway, sessions, clock).run_once()
    with sessions() as session:
        [event] = session.scalars(select(Event).where(Event.kind == "purge"))
    assert event.data["comments"] == 0 and event.data["checked"] >= 5


def test_upsert_after_a_purge_keeps_the_row_purged(sessions, clock: StepClock) -> None:
    from redditbot.domain import Comment

    alive = Comment(id="z1", subreddit="learnpython", link_id="t3_z", parent_id="t3_z",
                    author="zed", body="zed's words", created_utc=1.0)  # fmt: skip
    gone = Comment(id="z1", subreddit="learnpython", link_id="t3_z", parent_id="t3_z",
                   author=None, body="zed's words", created_utc=1.0)  # fmt: skip
    for item in (alive, gone, alive):
        with sessions.begin() as session:
            queries.upsert_items(session, [item], account="bot", bot_username=DEMO_BOT,
                                 now=clock())  # fmt: skip
    row = stored(sessions, CommentRow, "t1_z1")
    assert (row.body, row.author) == ("[deleted]", None)
