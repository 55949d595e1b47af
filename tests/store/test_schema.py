"""The migrated schema on SQLite and PostgreSQL: constraints and the history view."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from redditbot.store.engine import make_engine, session_factory
from redditbot.store.models import (
    CommentRow,
    GenerationRow,
    ModerationVerdictRow,
    PostedReply,
    PostJob,
    ReplyJob,
    SubmissionRow,
)


@pytest.fixture
def session(db_url: str):
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def _thread(session) -> None:
    session.add(
        SubmissionRow(
            fullname="t3_abc",
            subreddit="python",
            author="op",
            title="How do I read a file?",
            created_utc=1.0,
        )
    )
    session.add(
        CommentRow(
            fullname="t1_c1",
            subreddit="python",
            link_fullname="t3_abc",
            parent_fullname="t3_abc",
            author="alice",
            body="I tried open() but it fails " * 20,
            permalink="/r/python/comments/abc/x/c1/",
            created_utc=2.0,
        )
    )
    session.flush()


def _job(session, target: str = "t1_c1", account: str = "bot") -> ReplyJob:
    job = ReplyJob(
        account=account,
        target_fullname=target,
        subreddit="python",
        link_fullname="t3_abc",
        trigger="mention",
    )
    session.add(job)
    session.flush()
    return job


def test_one_job_per_account_and_target(session) -> None:
    _thread(session)
    _job(session)
    session.commit()
    with pytest.raises(IntegrityError):
        _job(session)
    session.rollback()
    _job(session, account="other_bot")  # a second account may answer the same target
    session.commit()
    count = session.scalar(text("SELECT count(*) FROM reply_jobs"))
    assert count == 2


def test_reply_history_joins_target_generation_and_post(session) -> None:
    _thread(session)
    job = _job(session)
    session.add(
        GenerationRow(
            job_id=job.id,
            backend="transformers",
            model="smollm2-135m",
            prompt="p",
            output="draft text",
            tokens_in=10,
            tokens_out=3,
        )
    )
    session.add(ModerationVerdictRow(job_id=job.id, gate="output", decision="approve"))
    posted_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    session.add(
        PostedReply(
            job_id=job.id,
            account="bot",
            target_fullname="t1_c1",
            comment_fullname="t1_reply",
            body="final text",
            posted_at=posted_at,
        )
    )
    job.status = "posted"
    session.commit()
    row = session.execute(text("SELECT * FROM reply_history")).mappings().one()
    assert row["subreddit"] == "python"
    assert row["target_author"] == "alice"
    assert row["target_permalink"] == "/r/python/comments/abc/x/c1/"
    assert row["target_excerpt"].startswith("I tried open()") and len(row["target_excerpt"]) == 200
    assert row["thread_title"] == "How do I read a file?"
    assert row["reply_text"] == "final text"
    assert row["model"] == "smollm2-135m"
    assert row["status"] == "posted"
    assert row["reply_fullname"] == "t1_reply"
    assert str(row["posted_at"]).startswith("2026-01-02 03:04:05")


def test_reply_history_shows_the_draft_before_posting(session) -> None:
    _thread(session)
    job = _job(session, target="t3_abc")
    session.add(
        GenerationRow(
            job_id=job.id, backend="transformers", model="m", prompt="p", output="only a draft"
        )
    )
    session.commit()
    row = session.execute(text("SELECT * FROM reply_history")).mappings().one()
    assert row["target_author"] == "op"  # a submission target
    assert row["reply_text"] == "only a draft"
    assert row["posted_at"] is None


def test_timestamps_come_back_utc_aware(session) -> None:
    _thread(session)
    job = _job(session)
    session.commit()
    session.expire_all()
    assert session.get(ReplyJob, job.id).created_at.tzinfo is UTC


def test_naive_datetimes_are_refused(session) -> None:
    _thread(session)
    job = _job(session)
    job.not_before = datetime(2026, 1, 1)
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()


@pytest.mark.parametrize("model", [ReplyJob, PostJob])
def test_a_job_status_is_its_enum_stored_as_the_value(session, model) -> None:
    """The column holds "queued", ...: rows written before the Enum type read as ``Status``;
    a status the state machine does not have is refused on the way in and on the way out."""
    from redditbot.domain import Status

    table = model.__tablename__
    now = datetime(2026, 1, 1, tzinfo=UTC)
    if model is ReplyJob:
        job = model(account="bot", target_fullname="t1_x", subreddit="python",
                    link_fullname="t3_x", created_at=now, updated_at=now)  # fmt: skip
    else:
        job = model(account="bot", subreddit="python", slot="2026-01-01T00:00", verdict={},
                    created_at=now, updated_at=now)  # fmt: skip
    session.add(job)
    session.commit()
    assert session.execute(text(f"SELECT status FROM {table}")).scalar() == "queued"
    session.execute(text(f"UPDATE {table} SET status = 'pending_review'"))  # as old code wrote
    session.expire_all()
    assert session.get(model, job.id).status is Status.PENDING_REVIEW
    session.get(model, job.id).status = "waiting"
    with pytest.raises(StatementError, match="waiting"):
        session.flush()
    session.rollback()
    session.execute(text(f"UPDATE {table} SET status = 'lost'"))
    with pytest.raises(LookupError, match="lost"):
        session.scalars(select(model)).all()
