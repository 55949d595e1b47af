"""Leases are written and judged on the database's clock, whatever the process's clock says.

Each claim function is asked by a process whose clock runs a day ahead (as when NTP fails on
one host) to take a lease another instance still holds: none may.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from redditbot.domain import Status
from redditbot.pipeline.submit import PostWriter
from redditbot.store import queries
from redditbot.store.models import PollCursor, PostJob, ReplyJob

AHEAD = timedelta(days=1)
LEASE = timedelta(minutes=10)


def ahead() -> datetime:
    return datetime.now(UTC) + AHEAD


def add_job(
    sessions, model: type, status: Status, *, held_for: timedelta | None = LEASE, key: int = 1
) -> int:
    """A job in ``status``; with ``held_for``, leased by another instance for that long (a
    negative span: its lease ended that long ago), on the database's clock."""
    now = datetime.now(UTC)
    common = {"account": "bot", "subreddit": "learnpython", "status": status.value,
              "created_at": now, "updated_at": now}  # fmt: skip
    if model is ReplyJob:
        row = ReplyJob(target_fullname=f"t1_{key}", link_fullname="t3_abc", **common)
    else:
        row = PostJob(slot=f"2026-01-0{key}T00:00", verdict={}, **common)
    with sessions.begin() as session:
        session.add(row)
        session.flush()
        if held_for is not None:
            row.lease_owner = "instance-a"
            row.lease_expires_at = queries.db_now(session, held_for)
        return row.id


def lease_of(sessions, model: type, job_id: int) -> tuple[str | None, datetime | None]:
    with sessions() as session:
        row = session.get(model, job_id)
        return row.lease_owner, row.lease_expires_at


@pytest.mark.parametrize("model", [ReplyJob, PostJob])
def test_claim_jobs_does_not_steal_a_live_lease(sessions, model) -> None:
    job_id = add_job(sessions, model, Status.APPROVED)
    with sessions.begin() as session:
        stolen = queries.claim_jobs(session, account="bot", status=Status.APPROVED, owner="b",
                                    now=ahead(), lease=LEASE, limit=10, model=model)  # fmt: skip
    assert stolen == []
    assert lease_of(sessions, model, job_id)[0] == "instance-a"


@pytest.mark.parametrize("model", [ReplyJob, PostJob])
def test_claim_jobs_writes_the_expiry_on_the_database_clock(sessions, model) -> None:
    job_id = add_job(sessions, model, Status.APPROVED, held_for=-timedelta(seconds=1))
    with sessions.begin() as session:
        [job] = queries.claim_jobs(session, account="bot", status=Status.APPROVED, owner="b",
                                   now=ahead(), lease=LEASE, limit=10, model=model)  # fmt: skip
        db_time = queries.database_time(session)
    owner, expires = lease_of(sessions, model, job_id)
    assert owner == "b" and job.lease_expires_at == expires
    assert abs((expires - db_time) - LEASE) < timedelta(seconds=5)  # not a day later


def test_try_lease_does_not_steal_a_live_feed_lease(sessions) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        assert queries.try_lease(session, account="bot", name="comments:a", owner="instance-a",
                                 now=now, ttl=timedelta(minutes=2))  # fmt: skip
    with sessions.begin() as session:
        assert not queries.try_lease(session, account="bot", name="comments:a", owner="b",
                                     now=ahead(), ttl=timedelta(minutes=2))  # fmt: skip
    with sessions() as session:
        row = session.get(PollCursor, ("bot", "comments:a"))
        assert row.lease_owner == "instance-a"
        assert row.lease_expires_at - queries.database_time(session) < timedelta(minutes=3)


def test_try_lease_takes_a_feed_lease_that_ran_out_on_the_database_clock(sessions) -> None:
    with sessions.begin() as session:
        queries.try_lease(session, account="bot", name="stage:select", owner="instance-a",
                          now=datetime.now(UTC), ttl=-timedelta(seconds=1))  # fmt: skip
    behind = datetime.now(UTC) - AHEAD  # a process clock a day behind still sees it ran out
    with sessions.begin() as session:
        assert queries.try_lease(session, account="bot", name="stage:select", owner="b",
                                 now=behind, ttl=timedelta(minutes=2))  # fmt: skip


@pytest.mark.parametrize("model", [ReplyJob, PostJob])
def test_a_posting_job_is_stale_only_after_its_lease_and_the_time_in_flight(sessions, model):
    in_flight = timedelta(seconds=48)
    add_job(sessions, model, Status.POSTING, key=1)  # its sender holds the lease
    add_job(sessions, model, Status.POSTING, held_for=-timedelta(seconds=10), key=2)  # may wait
    stale = add_job(sessions, model, Status.POSTING, held_for=-timedelta(seconds=60), key=3)
    with sessions() as session:
        found = queries.jobs_in_posting(
            session, account="bot", stale_only=True, in_flight=in_flight, model=model
        )
    assert [j.id for j in found] == [stale]


def test_abandoned_post_generation_is_not_requeued_while_its_lease_lives(sessions) -> None:
    job_id = add_job(sessions, PostJob, Status.GENERATING)
    writer = PostWriter(sessions, None, None, account="bot", owner="b", posting=None,
                        clock=ahead)  # fmt: skip
    with sessions.begin() as session:
        writer._requeue_abandoned(session, ahead())
    with sessions() as session:
        assert session.scalar(select(PostJob.status).where(PostJob.id == job_id)) == "generating"


@pytest.mark.parametrize("model", [ReplyJob, PostJob])
def test_stale_generation_leases_of_every_job_kind_are_released(db_url, sessions, model) -> None:
    """The release the housekeeping stage runs (``Bot.release_stale_leases``) covers replies and
    original posts alike, judged on the database's clock: a day-ahead process releases only the
    lease that ran out."""
    from redditbot.app import Bot
    from redditbot.config import Settings

    live = add_job(sessions, model, Status.GENERATING, key=1)
    stale = add_job(sessions, model, Status.GENERATING, held_for=-timedelta(seconds=1), key=2)
    bot = Bot(Settings(database={"url": db_url}, account="bot"), clock=ahead)
    try:
        assert bot.release_stale_leases() == 1
    finally:
        bot.engine.dispose()
    with sessions() as session:
        after = {i: (session.get(model, i).status, session.get(model, i).reason)
                 for i in (live, stale)}  # fmt: skip
    assert after == {live: ("generating", None), stale: ("queued", "lease_released")}
