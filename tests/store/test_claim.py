"""Claiming jobs from two connections at once on PostgreSQL: each job goes to one claimer.

The first session holds its claim transaction open (as an instance does while it works through
a batch); the second claims meanwhile. With ``FOR UPDATE SKIP LOCKED`` it gets the other jobs,
at once; without the row locks it would take the same jobs, and with locks but no SKIP LOCKED it
would wait for the first (``lock_timeout`` turns that wait into an error instead of a hang).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from redditbot.domain import Status
from redditbot.store import queries
from redditbot.store.models import ReplyJob

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def add_approved_jobs(sessions, count: int) -> list[int]:
    with sessions.begin() as session:
        jobs = [
            ReplyJob(account="bot", target_fullname=f"t1_job{i}", subreddit="python",
                     link_fullname="t3_abc", status=Status.APPROVED.value,
                     created_at=NOW, updated_at=NOW)
            for i in range(count)
        ]  # fmt: skip
        session.add_all(jobs)
        session.flush()
        return [job.id for job in jobs]


def claim(session, owner: str, limit: int = 3) -> list[int]:
    jobs = queries.claim_jobs(
        session, account="bot", status=Status.APPROVED, owner=owner, now=NOW, lease=LEASE,
        limit=limit,
    )  # fmt: skip
    return [job.id for job in jobs]


def test_two_sessions_claiming_at_once_get_disjoint_jobs(pg_sessions) -> None:
    ids = add_approved_jobs(pg_sessions, 6)
    with pg_sessions.begin() as first:
        mine = claim(first, "instance-a")  # locked, not committed yet
        with pg_sessions.begin() as second:
            second.execute(text("SET LOCAL lock_timeout = '2s'"))  # a wait fails, never hangs
            theirs = claim(second, "instance-b")
        assert len(mine) == len(theirs) == 3
        assert set(mine).isdisjoint(theirs) and set(mine) | set(theirs) == set(ids)
    with pg_sessions() as session:
        owners = {job.id: job.lease_owner for job in session.query(ReplyJob)}
    assert owners == {i: "instance-a" for i in mine} | {i: "instance-b" for i in theirs}


def test_a_claim_committed_by_one_instance_is_not_claimed_again(pg_sessions) -> None:
    add_approved_jobs(pg_sessions, 2)
    with pg_sessions.begin() as first:
        mine = claim(first, "instance-a")
    with pg_sessions.begin() as second:
        assert claim(second, "instance-b") == []  # the lease, not only the row lock, holds
    assert len(mine) == 2
