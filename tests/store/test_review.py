"""The one review path (store/review.py) that `redditbot review`, `redditbot posts` and the web
pages share: state change, the reviewer's edit, and who decided what and when, on both backends."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from redditbot.cli.review import add_commands
from redditbot.errors import EXIT_FAILURE
from redditbot.store.models import Event, ModerationVerdictRow, PostJob, ReplyJob
from redditbot.store.review import NotHeld, ReviewDecision, review_post, review_reply

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DRAFT = "Use pathlib: Path('notes.txt').read_text()."


def held_reply(sessions, status: str = "pending_review", target: str = "t1_c2") -> int:
    with sessions.begin() as session:
        job = ReplyJob(account="bot", target_fullname=target, subreddit="learnpython",
                       link_fullname="t3_p1", status=status, reply_text=DRAFT, created_at=NOW,
                       updated_at=NOW)  # fmt: skip
        session.add(job)
        session.flush()
        return job.id


def held_post(sessions, slot: str = "2026-06-01T12:00") -> int:
    with sessions.begin() as session:
        job = PostJob(account="bot", subreddit="learnpython", slot=slot,
                      status="pending_review", title="A title", body="A body", created_at=NOW,
                      updated_at=NOW)  # fmt: skip
        session.add(job)
        session.flush()
        return job.id


def decide(sessions, job_id: int, decision: ReviewDecision, review=review_reply) -> None:
    with sessions.begin() as session:
        review(session, job_id, decision, now=NOW)


def records(sessions, job_id: int):
    with sessions() as session:
        verdicts = session.scalars(
            select(ModerationVerdictRow).where(ModerationVerdictRow.job_id == job_id)
        ).all()  # fmt: skip
        events = session.scalars(select(Event).where(Event.kind == "review")).all()
        return verdicts, events


def test_an_edited_approval_records_who_what_and_when(sessions) -> None:
    job_id = held_reply(sessions)
    edit = "Path('notes.txt').read_text() reads it in one line."
    decide(sessions, job_id, ReviewDecision(True, "web:alice", edits={"reply_text": edit}))
    with sessions() as session:
        job = session.get(ReplyJob, job_id)
        assert (job.status, job.reason, job.reply_text) == ("approved", "reviewer_edited", edit)
    [verdict], [event] = records(sessions, job_id)
    assert (verdict.gate, verdict.decision, verdict.reasons) == ("review", "approve",
                                                                 ["reviewer_edited"])  # fmt: skip
    assert verdict.checks == [{"name": "reviewer", "reason": "web:alice"}]
    assert verdict.created_at == NOW and event.at == NOW and event.job_id == job_id
    assert event.data["reviewer"] == "web:alice"
    assert event.data["edits"] == {"reply_text": {"before": DRAFT, "after": edit}}
    assert "by web:alice" in event.message


def test_an_unchanged_text_is_a_plain_approval(sessions) -> None:
    job_id = held_reply(sessions)
    decide(sessions, job_id, ReviewDecision(True, "cli:bob", edits={"reply_text": DRAFT}))
    [verdict], [event] = records(sessions, job_id)
    assert verdict.reasons == ["reviewer_approved"] and event.data["edits"] == {}


def test_a_rejection_keeps_the_draft_and_the_reason(sessions) -> None:
    job_id = held_reply(sessions)
    decision = ReviewDecision(False, "web:alice", reason="off topic", edits={"reply_text": "x"})
    decide(sessions, job_id, decision)
    with sessions() as session:
        job = session.get(ReplyJob, job_id)
        assert (job.status, job.reason, job.reply_text) == ("rejected", "reviewer:off topic",
                                                            DRAFT)  # fmt: skip


def test_a_job_not_held_is_refused_and_nothing_is_recorded(sessions) -> None:
    job_id = held_reply(sessions, status="approved")
    with pytest.raises(NotHeld, match=f"job {job_id} is approved, not pending_review"):
        decide(sessions, job_id, ReviewDecision(True, "web:alice"))
    with pytest.raises(NotHeld, match="job 999 does not exist"):
        decide(sessions, 999, ReviewDecision(True, "web:alice"))
    assert records(sessions, job_id) == ([], [])
    assert NotHeld.exit_code == EXIT_FAILURE  # not a configuration mistake (78)


def test_the_second_of_two_decisions_is_refused(sessions) -> None:
    job_id = held_reply(sessions)
    decide(sessions, job_id, ReviewDecision(True, "web:alice"))
    with pytest.raises(NotHeld, match="is approved"):
        decide(sessions, job_id, ReviewDecision(False, "web:bob"))


def test_a_post_is_edited_field_by_field(sessions) -> None:
    job_id = held_post(sessions)
    decide(sessions, job_id, ReviewDecision(True, "web:alice", edits={"title": "Better"}),
           review_post)  # fmt: skip
    with sessions() as session:
        job = session.get(PostJob, job_id)
        assert (job.status, job.reason, job.title, job.body) == (
            "approved", "reviewer_edited", "Better", "A body",
        )  # fmt: skip
    [event] = records(sessions, job_id)[1]
    assert event.data["job_kind"] == "post" and event.data["edits"]["title"]["after"] == "Better"


def test_only_the_jobs_own_fields_can_be_edited(sessions) -> None:
    job_id = held_reply(sessions)
    with pytest.raises(ValueError, match="cannot edit"):
        decide(sessions, job_id, ReviewDecision(True, "web:alice", edits={"title": "no"}))


def test_the_cli_goes_the_same_way(sessions, db_url: str) -> None:
    job_id = held_reply(sessions)
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(["review", "approve", str(job_id), "--text", "Edited at a terminal"])
    lines: list[str] = []
    ctx = SimpleNamespace(settings=SimpleNamespace(database=SimpleNamespace(url=db_url)),
                          print=lambda *p: lines.append(" ".join(map(str, p))))  # fmt: skip
    assert args.handler(ctx, args) == 0 and lines == [f"job {job_id}: approved"]
    [verdict], [event] = records(sessions, job_id)
    assert verdict.reasons == ["reviewer_edited"]
    assert event.data["reviewer"].startswith("cli:")


def cli(db_url: str, *argv: str) -> list[str]:
    """``redditbot ARGV`` through the real parser (every command group), lines it printed."""
    from redditbot.cli import build_parser

    args = build_parser().parse_args(list(argv))
    lines: list[str] = []
    ctx = SimpleNamespace(settings=SimpleNamespace(database=SimpleNamespace(url=db_url)),
                          print=lambda *p: lines.append(" ".join(map(str, p))))  # fmt: skip
    assert args.handler(ctx, args) == 0
    return lines


def test_reviewing_a_post_records_its_verdict_beside_the_moderators(sessions, db_url) -> None:
    moderated = {"decision": "review", "reasons": ["review_mode"], "checks": []}
    approved, rejected = held_post(sessions), held_post(sessions, slot="2026-06-02T12:00")
    with sessions.begin() as session:
        for job_id in (approved, rejected):
            session.get(PostJob, job_id).verdict = moderated
    assert cli(db_url, "posts", "approve", str(approved), "--body", "Edited") == [
        f"post job {approved}: approved"
    ]
    assert cli(db_url, "posts", "reject", str(rejected), "--reason", "spam") == [
        f"post job {rejected}: rejected"
    ]
    with sessions() as session:
        for job_id, decision, reason in ((approved, "approve", "reviewer_edited"),
                                         (rejected, "reject", "reviewer:spam")):  # fmt: skip
            verdict = session.get(PostJob, job_id).verdict
            review = verdict.pop("review")
            assert verdict == moderated  # the moderator's verdict is kept
            assert (review["decision"], review["reasons"]) == (decision, [reason])
            [check] = review["checks"]
            assert check["name"] == "reviewer" and check["reason"].startswith("cli:")
            assert datetime.fromisoformat(review["at"]).tzinfo is not None


def test_replies_and_posts_take_the_same_review_path(sessions, db_url, monkeypatch) -> None:
    import redditbot.store.review as store_review

    seen: list[tuple[str, int]] = []
    real = store_review.review

    def spy(session, kind, job_id, decision, *, now):
        seen.append((kind, job_id))
        return real(session, kind, job_id, decision, now=now)

    monkeypatch.setattr(store_review, "review", spy)
    monkeypatch.setattr("redditbot.cli.review.review", spy)
    reply, post = held_reply(sessions), held_post(sessions)
    assert cli(db_url, "review", "reject", str(reply)) == [f"job {reply}: rejected"]
    assert cli(db_url, "posts", "approve", str(post)) == [f"post job {post}: approved"]
    with sessions.begin() as session:  # the web pages' functions, too
        store_review.review_reply(session, held_reply(sessions, target="t1_c3"),
                                  ReviewDecision(True, "web:alice"), now=NOW)  # fmt: skip
    assert [kind for kind, _ in seen] == ["reply", "post", "reply"]
    [verdict], _ = records(sessions, reply)
    assert (verdict.gate, verdict.decision, verdict.reasons) == ("review", "reject",
                                                                 ["reviewer:reviewer"])  # fmt: skip
