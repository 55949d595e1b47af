"""``redditbot status`` over a real SQLite store: reply and post jobs by state, polls, warnings."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from redditbot import cli
from redditbot.store import migrate
from redditbot.store.engine import make_engine, session_factory
from redditbot.store.models import Event, PollCursor, PostJob, ReplyJob

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


JOBS = (("t1_a", "queued"), ("t1_b", "queued"), ("t1_c", "posted"), ("t1_d", "pending_review"))


def seed(url: str, monkeypatch) -> None:
    """Four reply jobs (one held, with a long reply), a failed post job, a poll, a warning."""
    migrate.upgrade(url)
    engine = make_engine(url)
    stamps = {"created_at": NOW, "updated_at": NOW}
    with session_factory(engine).begin() as session:
        for target, status in JOBS:
            session.add(ReplyJob(account="bot", target_fullname=target, subreddit="python",
                                 link_fullname="t3_x", status=status, reply_text=LONG,
                                 **stamps))  # fmt: skip
        session.add(PostJob(account="bot", subreddit="python", slot="2026-11-29T09:00",
                            status="failed", **stamps))  # fmt: skip
        session.add(PollCursor(account="bot", feed="inbox", last_success_at=NOW))
        session.add(Event(kind="poll_failed", level="warning", at=NOW, message="HTTP 503"))
    engine.dispose()
    monkeypatch.setenv("REDDITBOT_DATABASE__URL", url)
    monkeypatch.delenv("REDDITBOT_CONFIG", raising=False)


LONG = "A reply long enough that every table cuts it: " + "word " * 40


def json_of(*argv: str):
    """The command's whole stdout parsed as one JSON document."""
    out, err = io.StringIO(), io.StringIO()
    assert cli.main([*argv, "--json"], out=out, err=err) == 0, err.getvalue()
    return json.loads(out.getvalue())


def test_status_counts_reply_and_post_jobs(sqlite_empty_url: str, monkeypatch) -> None:
    seed(sqlite_empty_url, monkeypatch)
    out = io.StringIO()

    assert cli.main(["status"], out=out, err=io.StringIO()) == 0
    cells = [[cell.strip() for cell in line.split("|")] for line in out.getvalue().splitlines()]
    rows = {row[0]: row[1:] for row in cells if len(row) > 1}
    assert rows["status"] == ["reply jobs", "post jobs"]
    assert rows["queued"] == ["2", "0"] and rows["posted"] == ["1", "0"]
    assert rows["failed"] == ["0", "1"]
    assert rows["bot"][0] == "inbox" and "HTTP 503" in out.getvalue()


def test_every_listing_command_prints_one_json_document(db_url: str, monkeypatch) -> None:
    seed(db_url, monkeypatch)
    status = json_of("status")
    assert status["reply_jobs"]["queued"] == 2 and status["post_jobs"]["failed"] == 1
    assert status["feeds"][0]["feed"] == "inbox"
    assert status["feeds"][0]["last_success_at"].startswith("2026-11-29T12:00")
    assert status["recent_warnings"][0]["message"] == "HTTP 503"
    (held,) = json_of("review", "list")
    assert held["target"] == "t1_d" and held["reply_text"] == LONG  # whole, not cut
    (post,) = json_of("posts", "list")
    assert (post["subreddit"], post["status"]) == ("python", "failed")
    history = json_of("history")
    assert sorted(row["status"] for row in history) == sorted(status for _, status in JOBS)
    assert all(row["reply_text"] == LONG for row in history)
    by_target = {row["target_fullname"]: row["status"] for row in history}
    assert by_target == dict(JOBS)  # scripts can tell which item each job answers
    rows = json_of("sql", "SELECT target_fullname AS t FROM reply_jobs ORDER BY 1")
    assert rows == [{"t": target} for target, _ in JOBS]
