"""Delete what users delete, everywhere: after a purge no table of the database still holds the
deleted text, a quoted piece of it, a purged thread's slug, or the name of its author.

Each place a copy can live is one test (the copy stored where the pipeline would put it, then
the purge, then every column of every table of the migrated database searched); one test puts
them all together, and one holds the list of every column the store has, so a new table or
column must be looked at before it can hold someone's words unnoticed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select, text

from redditbot.domain import Status
from redditbot.store import purge
from redditbot.store.models import (
    Base,
    CommentRow,
    Event,
    GenerationRow,
    ModerationVerdictRow,
    OptOut,
    PostedReply,
    PostJob,
    ReplyJob,
    SelectionDecision,
    SubmissionRow,
)

NOW = datetime(2026, 1, 2, tzinfo=UTC)
# alice deletes one comment (her account stays); carol deletes her account.
SECRET = "Alice's cousin Quentin lives at 42 Wallaby Way, café Zoë, and hates Mondays."
SECRET_PIECE = SECRET[6:40]  # a moderation reason quotes up to 60 characters of it, cut anywhere
CAROL_TITLE = "Zanzibar marmots overwintering question"
CAROL_SELFTEXT = "My neighbour Percival keeps marmots in his shed."
SLUG = "zanzibar_marmots_overwintering_question"
POST_LINK = f"/r/learnpython/comments/cpost/{SLUG}/"
FORBIDDEN = (SECRET, SECRET_PIECE, "Quentin lives", CAROL_TITLE, CAROL_SELFTEXT, SLUG)
NAMES = ("alice", "carol")  # alice wrote nothing else; carol's account is gone


@pytest.fixture
def session(sessions):
    with sessions.begin() as session:
        _thread(session)
        session.flush()
        yield session


def _thread(session) -> None:
    session.add(
        SubmissionRow(
            fullname="t3_cpost",
            subreddit="learnpython",
            author="carol",
            title=CAROL_TITLE,
            selftext=CAROL_SELFTEXT,
            permalink=POST_LINK,
            url=f"https://www.reddit.com{POST_LINK}",
            created_utc=1.0,
        )  # fmt: skip
    )
    comments = [
        ("t1_ca1", "t3_cpost", "alice", SECRET),
        ("t1_cd1", "t1_ca1", "dave", "Dave answers the question about marmots kindly."),
        ("t1_cc1", "t1_cd1", "carol", "Carol thanks dave for the marmot advice."),
    ]
    for fullname, parent, author, body in comments:
        session.add(
            CommentRow(
                fullname=fullname,
                subreddit="learnpython",
                link_fullname="t3_cpost",
                parent_fullname=parent,
                author=author,
                body=body,
                permalink=f"{POST_LINK}{fullname[3:]}/",
                created_utc=2.0,
            )  # fmt: skip
        )


def _job(session, target: str = "t1_ca1", **fields) -> ReplyJob:
    """The one reply job on ``target`` (one per target, as in the store), with ``fields`` set."""
    query = select(ReplyJob).where(ReplyJob.target_fullname == target)
    job = session.scalars(query).first() or ReplyJob(
        account="bot", subreddit="learnpython", target_fullname=target,
        link_fullname="t3_cpost", status=Status.DRAFTED)  # fmt: skip
    for name, value in fields.items():
        setattr(job, name, value)
    session.add(job)
    session.flush()
    return job


def _generation(session, job: ReplyJob, prompt: str, output: str = "Sure.") -> GenerationRow:
    row = GenerationRow(job_id=job.id, backend="scripted", model="m", prompt=prompt,
                        output=output, candidates=[{"text": output, "score": 0.4}])  # fmt: skip
    session.add(row)
    session.flush()
    return row


# --------------------------------------------------------------------------- the places


def generation_of_the_answering_job(session) -> None:
    job = _job(session)
    _generation(session, job, f"u/alice replied:\n> {SECRET}\nWrite your reply to u/alice.",
                f"Hi u/alice! About Quentin: {SECRET}")  # fmt: skip


def generation_quoting_it_as_context(session) -> None:
    job = _job(session, target="t1_cd1")
    _generation(session, job, f"u/alice replied:\n> {SECRET}\nu/dave replied:\n> Dave answers")


def reply_job_text_and_reason(session) -> None:
    _job(session, reply_text=f"> {SECRET}\n\nu/alice, that sounds rough.",
         reason=f"regenerate:leak:prompt-overlap:{SECRET_PIECE!r}")  # fmt: skip


def moderation_verdict(session) -> None:
    job = _job(session)
    session.add(
        ModerationVerdictRow(
            job_id=job.id,
            gate="input",
            decision="reject",
            checks=[
                {
                    "name": "injection",
                    "passed": False,
                    "score": 1.0,
                    "reason": f"injection:{SECRET_PIECE!r}",
                },
                {"name": "blocked", "passed": False, "score": 1.0, "reason": "blocked:user:alice"},
            ],
            reasons=[f"injection:{SECRET_PIECE!r}", "blocked:user:alice"],
        )  # fmt: skip
    )


def moderation_verdict_of_a_job_shown_it_as_an_example(session) -> None:
    """A draft in another thread, shown the deleted comment as a few-shot example, echoed a
    piece of it: the verdict quotes the piece, not a whole line the purge could look for."""
    job = _job(session, target="t1_x9", link_fullname="t3_other")
    generation = _generation(session, job, f"Example:\nu/alice: {SECRET}\n\nu/zed: Hi")
    session.add(
        ModerationVerdictRow(
            job_id=job.id,
            generation_id=generation.id,
            gate="output",
            decision="review",
            reasons=[f"leak:prompt-overlap:{SECRET_PIECE!r}"],
        )  # fmt: skip
    )


def a_deleted_accounts_name_elsewhere(session) -> None:
    """Another thread's prompt quotes zed thanking carol: her name goes, zed's words stay."""
    job = _job(session, target="t1_x8", link_fullname="t3_other2")
    _generation(session, job, "u/zed replied:\n> Thanks u/Carol, and carol's answers too")
    session.add(Event(kind="review", job_id=job.id, message="reply job approved by op",
                      data={"reason": "reviewer:mentions carol"}))  # fmt: skip


def posted_reply(session) -> None:
    job = _job(session, status=Status.POSTED)
    session.add(
        PostedReply(
            job_id=job.id,
            account="bot",
            target_fullname="t1_ca1",
            comment_fullname="t1_bot1",
            permalink=f"{POST_LINK}bot1/",
            body=f"> {SECRET}\n\nSorry to hear that, u/alice.",
        )  # fmt: skip
    )


def the_bots_own_stored_comment(session) -> None:
    session.add(
        CommentRow(
            fullname="t1_bot1",
            subreddit="learnpython",
            link_fullname="t3_other",
            parent_fullname="t1_ca1",
            author="redditbot",
            bot_account="bot",
            body=f"> {SECRET}\n\nSorry to hear that.",
            created_utc=3.0,
            permalink="/r/learnpython/comments/other/x/bot1/",
        )  # fmt: skip
    )


def selection_decision(session) -> None:
    session.add(
        SelectionDecision(
            account="bot",
            fullname="t1_ca1",
            subreddit="learnpython",
            decision="queued",
            trigger="keyword",
            reason=f"input:injection:{SECRET_PIECE!r}",
        )  # fmt: skip
    )


def events(session) -> None:
    job = _job(session, status=Status.PENDING_REVIEW)
    session.add(
        Event(kind="duplicate_found", fullname="t1_ca1", message="duplicate reply to alice",
              data={"author": "alice", "comment": "t1_bot1", "permalink": f"{POST_LINK}bot1/"})
    )  # fmt: skip
    session.add(
        Event(kind="review", job_id=job.id, message=f"reply job {job.id} approved by op",
              data={"reviewer": "op", "reason": f"quoted {SECRET_PIECE!r}",
                    "edits": {"reply_text": {"before": f"> {SECRET}", "after": "Hi."}}})
    )  # fmt: skip
    session.add(Event(kind="stage_error", message=f"moderate: ValueError: {SECRET}"))
    # tied to nothing, found by the text alone (as JSON holds it: "caf\u00e9 Zo\u00eb")
    session.add(Event(kind="poll_failed", data={"error": f"bad item: {SECRET}"}))


def post_job(session) -> None:
    session.add(
        PostJob(account="bot", subreddit="learnpython", slot="2026-01-01T00:00",
                status=Status.POSTED, prompt=f"Example thread:\nTitle: {CAROL_TITLE}\n"
                f"Body: {CAROL_SELFTEXT}\nu/alice: {SECRET}",
                title=CAROL_TITLE, body=f"Inspired by: {SECRET}", output=f"{CAROL_TITLE}\n"
                f"{SECRET}", verdict={"decision": "review",
                                      "reasons": [f"leak:prompt-overlap:{SECRET_PIECE!r}"]})
    )  # fmt: skip


def opt_out_of_the_deleted_account(session) -> None:
    session.add(OptOut(username="Carol", opted_out=True, source_fullname="t1_cc1"))


def thread_permalinks(session) -> None:
    """The submission's slug is its title: every comment's permalink in the thread carries it."""
    # (stored by _thread already: t1_cd1's permalink survives the purge, with the slug)


PLACES: dict[str, Callable] = {
    f.__name__: f
    for f in (
        generation_of_the_answering_job,
        generation_quoting_it_as_context,
        reply_job_text_and_reason,
        moderation_verdict,
        moderation_verdict_of_a_job_shown_it_as_an_example,
        a_deleted_accounts_name_elsewhere,
        posted_reply,
        the_bots_own_stored_comment,
        selection_decision,
        events,
        post_job,
        opt_out_of_the_deleted_account,
        thread_permalinks,
    )
}


# --------------------------------------------------------------------------- the search


def everything(session) -> list[tuple[str, str, str]]:
    """(table, column, value as text) of every non-empty value of every table in the database
    (read from the database itself, not from the models: tables no model names are searched too)."""
    found = []
    for table in inspect(session.connection()).get_table_names():
        for row in session.execute(text(f'SELECT * FROM "{table}"')).mappings():
            for column, value in row.items():
                if value is not None:
                    shown = value if isinstance(value, str) else json.dumps(value, default=str)
                    found.append((table, column, shown))
    return found


def leftovers(session) -> list[tuple[str, str, str]]:
    """Every stored value that still holds a forbidden piece or name."""
    session.flush()
    session.expire_all()
    bad = []
    for table, column, value in everything(session):
        lowered = value.lower()
        pieces = [p for p in FORBIDDEN if p.lower() in lowered]
        pieces += [n for n in NAMES if purge._name_pattern(n).search(value)]
        if pieces:
            bad.append((table, column, value))
    return bad


def run_purge(session) -> purge.PurgeCounts:
    return purge.purge(session, {"t1_ca1": "deleted", "t1_cc1": "account_deleted"}, NOW)


@pytest.mark.parametrize("place", list(PLACES))
def test_the_purge_leaves_no_copy_in_this_place(session, place: str) -> None:
    PLACES[place](session)
    session.flush()
    assert leftovers(session), "the copies are there to be found before the purge"
    run_purge(session)
    assert leftovers(session) == []


def test_the_purge_leaves_no_copy_anywhere_when_every_place_holds_one(session) -> None:
    for place in PLACES.values():
        place(session)
    session.flush()
    counts = run_purge(session)
    assert leftovers(session) == []
    tables = set(counts.copies)
    assert {"generations", "reply_jobs", "moderation_verdicts", "posted_replies", "events",
            "selection_decisions", "post_jobs", "comments", "submissions"} <= tables  # fmt: skip
    assert counts.opt_outs == 1 and counts.data()["copies"] == dict(sorted(counts.copies.items()))


def test_what_is_not_the_purged_users_stays(session) -> None:
    """dave's words and name stay; a job answering dave keeps its prompt, less alice's line."""
    generation_quoting_it_as_context(session)
    selection_decision(session)
    run_purge(session)
    dave = session.get(CommentRow, "t1_cd1")
    assert dave.body.startswith("Dave answers") and dave.author == "dave"
    assert dave.permalink == "/r/learnpython/comments/cpost/_/cd1/"  # the link still works
    [prompt] = session.scalars(select(GenerationRow.prompt))
    assert prompt == "u/[deleted] replied:\n> [purged]\nu/dave replied:\n> Dave answers"
    [reason] = session.scalars(select(SelectionDecision.reason))
    assert reason == "input:injection:'[purged]'"


def test_the_bots_own_comment_is_marked_so_a_refresh_does_not_store_the_quote_again(
    session,
) -> None:
    the_bots_own_stored_comment(session)
    run_purge(session)
    own = session.get(CommentRow, "t1_bot1")
    assert own.body == "> [purged]\n\nSorry to hear that." and own.purged_at == NOW
    assert own.author == "redditbot"  # still the bot's: never answered, never trained on


def test_an_item_that_arrives_deleted_has_no_text_to_look_for(session) -> None:
    """Reddit's placeholders are nobody's words: "[deleted]" elsewhere is left as it is."""
    job = _job(session, target="t1_x7", link_fullname="t3_other")
    _generation(session, job, "u/[deleted] replied:\n> [deleted]\n> [removed]")
    session.add(CommentRow(fullname="t1_gone", subreddit="learnpython", link_fullname="t3_o",
                           parent_fullname="t3_o", author="[deleted]", body="[deleted]",
                           created_utc=1.0))  # fmt: skip
    session.flush()
    counts = purge.purge(session, {"t1_gone": "account_deleted"}, NOW)
    assert counts.comments == 1 and not counts.copies
    [prompt] = session.scalars(select(GenerationRow.prompt))
    assert prompt == "u/[deleted] replied:\n> [deleted]\n> [removed]"


def test_a_deleted_account_with_many_comments_is_purged_in_one_go(session) -> None:
    """1200 comments: 2400 things to look for in each column, more than SQLite takes at once."""
    for i in range(1200):
        session.add(CommentRow(fullname=f"t1_m{i}", subreddit="learnpython", link_fullname="t3_o",
                               parent_fullname="t3_o", author="mallory", created_utc=1.0,
                               body=f"Mallory's comment number {i}, all her own."))  # fmt: skip
    job = _job(session, target="t1_x6", link_fullname="t3_other")
    _generation(session, job, "u/mallory: Mallory's comment number 1199, all her own.")
    session.flush()
    counts = purge.purge(session, {"t1_m0": "account_deleted"}, NOW)
    assert counts.comments == 1200 and counts.copies == {"generations": 1}
    [prompt] = session.scalars(select(GenerationRow.prompt))
    assert prompt == "u/[deleted]: [purged]"


def test_a_second_purge_of_the_same_items_changes_nothing(session) -> None:
    for place in PLACES.values():
        place(session)
    run_purge(session)
    again = run_purge(session)
    assert (again.rows, sum(again.copies.values()), again.opt_outs) == (0, 0, 0)


# Every column of every table, and whether the purge scrubs it as a copy ("copy": Text or JSON,
# scrubbed by type in redditbot.store.purge) or why it cannot hold someone's words. A new column
# fails this test until it is put here: decide whether it can hold a copy of a user's text or
# name, and if it can, make it Text or JSON (scrubbed by type) and give it a place test above.
COLUMNS = {
    "comments": {"body": "blanked", "author": "blanked", "permalink": "slug", "*": "ids"},
    "submissions": {
        "title": "blanked",
        "selftext": "blanked",
        "url": "blanked",
        "author": "blanked",
        "permalink": "slug",
        "*": "ids",
    },  # fmt: skip
    "generations": {
        "prompt": "copy",
        "output": "copy",
        "candidates": "copy",
        "parameters": "copy",
        "model": "model name",
        "*": "ids",
    },  # fmt: skip
    "moderation_verdicts": {"checks": "copy", "reasons": "copy", "*": "ids"},
    "reply_jobs": {"reason": "copy", "reply_text": "copy", "*": "ids"},
    "post_jobs": {
        "reason": "copy",
        "title": "copy",
        "body": "copy",
        "prompt": "copy",
        "output": "copy",
        "verdict": "copy",
        "permalink": "copy",
        "model": "model name",
        "*": "ids",
    },  # fmt: skip
    "posted_replies": {"body": "copy", "permalink": "copy", "delete_reason": "copy", "*": "ids"},
    "events": {"message": "copy", "data": "copy", "*": "ids"},
    "selection_decisions": {"reason": "copy", "*": "ids"},
    "subreddits": {"*": "ids"},
    "subreddit_pauses": {"pause_reason": "copy", "*": "ids"},
    "opt_outs": {"username": "deleted with the account", "*": "ids"},
    "inbox_items": {"*": "ids"},
    "poll_cursors": {"*": "ids"},
}
# Columns of names and ids only: an account of the bot, a subreddit, a fullname, a status, a
# time, a number, a flag. Changing one of these to hold text must come with a review here.
IDS = {
    "comments": {"fullname", "subreddit", "link_fullname", "parent_fullname", "created_utc",
                 "score", "depth", "locked", "archived", "stickied", "distinguished", "removed",
                 "deleted", "bot_account", "first_seen_at", "updated_at", "checked_at",
                 "purged_at"},
    "submissions": {"fullname", "subreddit", "created_utc", "score", "num_comments", "is_self",
                    "locked", "archived", "over_18", "stickied", "distinguished", "removed",
                    "deleted", "bot_account", "first_seen_at", "updated_at", "checked_at",
                    "purged_at"},
    "generations": {"id", "job_id", "backend", "tokens_in", "tokens_out", "latency_ms",
                    "created_at"},
    "moderation_verdicts": {"id", "job_id", "generation_id", "gate", "decision", "created_at"},
    "reply_jobs": {"id", "account", "subreddit", "status", "attempts", "not_before",
                   "lease_owner", "lease_expires_at", "created_at", "updated_at",
                   "target_fullname", "link_fullname", "trigger"},
    "post_jobs": {"id", "account", "subreddit", "status", "attempts", "not_before",
                  "lease_owner", "lease_expires_at", "created_at", "updated_at", "slot",
                  "flair_id", "flair_text", "generations", "submission_fullname", "dry_run",
                  "reconciled", "posted_at"},
    "posted_replies": {"id", "job_id", "account", "target_fullname", "comment_fullname",
                       "dry_run", "reconciled", "posted_at", "deleted_at"},
    "events": {"id", "at", "level", "kind", "account", "subreddit", "job_id", "fullname"},
    "selection_decisions": {"account", "fullname", "subreddit", "decision", "trigger",
                            "decided_at"},
    "subreddits": {"name", "first_seen_at"},
    "subreddit_pauses": {"account", "subreddit", "forbidden_count", "paused_until"},
    "opt_outs": {"opted_out", "source_fullname", "updated_at"},
    "inbox_items": {"account", "fullname", "kind", "received_at", "read_at"},
    "poll_cursors": {"account", "feed", "last_fullname", "last_created_utc", "last_success_at",
                     "lease_owner", "lease_expires_at", "updated_at"},
}  # fmt: skip


def test_every_column_of_every_table_was_looked_at(session) -> None:
    """The database's tables and columns (as migrated) are exactly the reviewed ones, and every
    column reviewed as a copy is one the purge scrubs."""
    stored = inspect(session.connection())
    tables = set(stored.get_table_names()) - {"alembic_version"}
    assert tables == set(COLUMNS), "a table was added or dropped: review it in COLUMNS"
    for table in sorted(tables):
        columns = {c["name"] for c in stored.get_columns(table)}
        reviewed = (set(COLUMNS[table]) - {"*"}) | IDS[table]
        assert columns == reviewed, f"{table}: review {sorted(columns ^ reviewed)}"
        scrubbed = {c.name for c in purge._copy_columns(Base.metadata.tables[table])}
        copies = {c for c, why in COLUMNS[table].items() if why in ("copy", "slug")}
        if table in ("comments", "submissions"):  # blanked; scrubbed only in the bot's own rows
            copies |= {c for c, why in COLUMNS[table].items() if why == "blanked"} - {
                "author",
                "url",
            }
        assert scrubbed == copies, f"{table}: the purge scrubs {sorted(scrubbed)}"
