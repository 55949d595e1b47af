"""``redditbot status`` over a real SQLite store: reply and post jobs by state, polls, warnings."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from redditbot import cli
from redditbot.store import migrate
from redditbot.store.engine import make_engine, session_factory
from redditbot.store.models import Event, PollCursor, PostJob, ReplyJob

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_status_counts_reply_and_post_jobs(sqlite_empty_url: str, monkeypatch) -> None:
    migrate.upgrade(sqlite_empty_url)
    engine = make_engine(sqlite_empty_url)
    stamps = {"created_at": NOW, "updated_at": NOW}
    with session_factory(engine).begin() as session:
        for target, status in (("t1_a", "queued"), ("t1_b", "queued"), ("t1_c", "posted")):
            session.add(ReplyJob(account="bot", target_fullname=target, subreddit="python",
                                 link_fullname="t3_x", status=status, **stamps))  # fmt: skip
        session.add(PostJob(account="bot", subreddit="python", slot="2026-11-29T09:00",
                            status="failed", **stamps))  # fmt: skip
        session.add(PollCursor(account="bot", feed="inbox", last_success_at=NOW))
        session.add(Event(kind="poll_failed", level="warning", at=NOW, message="HTTP 503"))
    engine.dispose()
    monkeypatch.setenv("REDDITBOT_DATABASE__URL", sqlite_empty_url)
    monkeypatch.delenv("REDDITBOT_CONFIG", raising=False)
    out = io.StringIO()

    assert cli.main(["status"], out=out, err=io.StringIO()) == 0
    cells = [[cell.strip() for cell in line.split("|")] for line in out.getvalue().splitlines()]
    rows = {row[0]: row[1:] for row in cells if len(row) > 1}
    assert rows["status"] == ["reply jobs", "post jobs"]
    assert rows["queued"] == ["2", "0"] and rows["posted"] == ["1", "0"]
    assert rows["failed"] == ["0", "1"]
    assert rows["bot"][0] == "inbox" and "HTTP 503" in out.getvalue()
