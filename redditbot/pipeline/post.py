"""Post: send approved replies to Reddit, exactly once per target.

The order is what makes "never twice" hold across crashes:
1. the job moves to ``posting`` and that is committed *before* the request;
2. the request is made (prawcore's blind POST retries are disabled in the adapter);
3. the posted reply is recorded and the job moves to ``posted`` in one transaction.
A job found in ``posting`` (a crash, a lost response, a 5xx) is reconciled: the bot's own replies
under the target are looked up on Reddit; one found is recorded, extra copies are deleted, and
only when none exists does the job go back to ``approved`` to be sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from redditbot.disclosure import disclosed
from redditbot.domain import Clock, PostedComment, RedditGateway, Status, utcnow
from redditbot.errors import (
    RateLimited,
    RedditbotError,
    TargetUnavailable,
    TransientError,
)
from redditbot.store import queries
from redditbot.store.models import CommentRow, PostedReply, ReplyJob, Subreddit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostPolicy:
    """What the poster needs to know about one subreddit."""

    dry_run: bool = False
    footer: str = ""  # the disclosure footer, appended by ``disclosed`` at posting time


@dataclass(frozen=True)
class PosterLimits:
    """Bounds on retries and on a subreddit that keeps refusing the bot."""

    batch: int = 10
    lease: timedelta = timedelta(minutes=5)
    # How long after its lease a sender may still be waiting for Reddit (the request timeout
    # times the tries): only then is a job in `posting` stale.
    in_flight: timedelta = timedelta(seconds=16 * 3)
    max_attempts: int = 5
    forbidden_to_pause: int = 3
    pause_for: timedelta = timedelta(hours=24)


class Poster:
    """The post stage; ``run_once()`` reconciles stale ``posting`` jobs, then posts due ones."""

    def __init__(
        self,
        gateway: RedditGateway,
        sessions: sessionmaker[Session],
        *,
        account: str,
        bot_username: str,
        policy: Callable[[str], PostPolicy],
        owner: str,
        limits: PosterLimits | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.gateway, self.sessions, self.clock = gateway, sessions, clock
        self.account, self.bot_username, self.owner = account, bot_username, owner
        self.policy, self.limits = policy, limits or PosterLimits()

    def run_once(self) -> int:
        handled = self.reconcile(stale_only=True)
        with self.sessions.begin() as session:
            jobs = self._claim(session)
        for job in jobs:
            self._post_guarded(job)
        return handled + len(jobs)

    # ------------------------------------------------------------------ posting

    def _claim(self, session: Session) -> list[ReplyJob]:
        now = self.clock()
        paused = select(Subreddit.name).where(Subreddit.paused_until > now)
        jobs = queries.claim_jobs(
            session, account=self.account, status=Status.APPROVED, owner=self.owner, now=now,
            lease=self.limits.lease, limit=self.limits.batch,
            extra=[ReplyJob.subreddit.not_in(paused)],
        )  # fmt: skip
        return jobs

    def _post_guarded(self, job: ReplyJob) -> None:
        try:
            self.post(job)
        except TransientError as exc:
            # The outcome is unknown: the job stays in `posting` and reconciliation decides
            # (never a blind retry), once Reddit can no longer be working on the request.
            log.warning("job %s: posting interrupted (%s); will reconcile", job.id, exc)
            with self.sessions.begin() as session:
                queries.end_lease(session, ReplyJob, job.id, self.owner)
            self._event("post_interrupted", str(exc), job)

    def post(self, job: ReplyJob) -> None:
        """Post one claimed job (see the module docstring for the order of steps)."""
        policy = self.policy(job.subreddit)
        if policy.dry_run:
            return self._dry_run(job)
        if self._is_own(job.target_fullname):
            return self._finish(job, Status.SKIPPED, reason="own_comment")
        if not self._mark_posting(job):
            return None  # lost the lease to another instance; it owns the job now
        text = disclosed(job.reply_text or "", policy.footer)
        try:
            created = self.gateway.reply(job.target_fullname, text)
        except RateLimited as exc:
            return self._delay(job, exc)
        except TargetUnavailable as exc:
            return self._refused(job, exc)
        if created is None:  # Reddit answered with no comment: find out what happened
            return self.reconcile_job(job)
        return self._record(job, created, text, reconciled=False)

    def _mark_posting(self, job: ReplyJob) -> bool:
        """Compare-and-set approved → posting under our lease, committed before the request."""
        now = self.clock()
        with self.sessions.begin() as session:
            until = queries.db_now(session, self.limits.lease)  # the one clock all instances read
            result = session.execute(
                update(ReplyJob)
                .where(ReplyJob.id == job.id, ReplyJob.status == Status.APPROVED,
                       ReplyJob.lease_owner == self.owner)
                .values(status=Status.POSTING, updated_at=now,
                        attempts=ReplyJob.attempts + 1, lease_expires_at=until)
            )  # fmt: skip
            return result.rowcount == 1

    def _record(self, job: ReplyJob, comment: PostedComment, text: str, *, reconciled: bool):
        """Record a comment Reddit created; never fails for a job another instance finished.

        A job that moved on meanwhile (another instance posted it, or gave it up) makes this
        comment a duplicate: it is deleted on Reddit and the event log says so."""
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(ReplyJob, job.id, with_for_update=True)  # one recorder at a time
            finished = Status(row.status).terminal
            if not finished:
                session.add(PostedReply(
                    job_id=job.id, account=self.account, target_fullname=job.target_fullname,
                    comment_fullname=comment.fullname, permalink=comment.permalink,
                    body=comment.body or text, reconciled=reconciled, posted_at=now,
                ))  # fmt: skip
                _move_to_posted(row, now)
                queries.clear_forbidden(session, job.subreddit)
            kept = _recorded_comment(session, job.id)
        if kept != comment.fullname:
            return self._delete_duplicates(job, [comment], finished_as=row.status)
        log.info("job %s: posted %s under %s", job.id, comment.fullname, job.target_fullname)
        return None

    def _dry_run(self, job: ReplyJob) -> None:
        """Record what would have been posted; no request of any kind is made."""
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(ReplyJob, job.id)
            text = disclosed(row.reply_text or "", self.policy(job.subreddit).footer)
            session.add(PostedReply(
                job_id=job.id, account=self.account, target_fullname=job.target_fullname,
                body=text, dry_run=True, posted_at=now,
            ))  # fmt: skip
            queries.move(row, Status.SKIPPED, now=now, reason="dry_run")

    def _is_own(self, fullname: str) -> bool:
        with self.sessions() as session:
            row = session.get(CommentRow, fullname)
        me = self.bot_username.lower()
        return row is not None and (row.bot_account is not None or (row.author or "").lower() == me)

    def _delay(self, job: ReplyJob, exc: RateLimited) -> None:
        """RATELIMIT is a delay, not a failure: back to approved until Reddit's time."""
        wait = exc.retry_after or 60.0
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(ReplyJob, job.id)
            queries.move(row, Status.APPROVED, now=now, reason="ratelimit")
            row.not_before = now + timedelta(seconds=wait)
            row.attempts -= 1  # nothing was posted: the try does not count
        log.info("job %s: rate limited, retrying in %.0f s", job.id, wait)

    def _refused(self, job: ReplyJob, exc: TargetUnavailable) -> None:
        self._finish(job, Status.SKIPPED, reason=exc.reason)
        if exc.reason == "forbidden":
            count_forbidden(self.sessions, job.subreddit, account=self.account,
                            now=self.clock(), limits=self.limits)  # fmt: skip

    def _finish(self, job: ReplyJob, status: Status, *, reason: str) -> None:
        with self.sessions.begin() as session:
            queries.move(session.get(ReplyJob, job.id), status, now=self.clock(), reason=reason)
        log.info("job %s: %s (%s)", job.id, status, reason)

    # ------------------------------------------------------------------ reconciliation

    def reconcile(self, *, stale_only: bool) -> int:
        """Settle jobs left in ``posting``; at start-up (single instance) all of them."""
        with self.sessions() as session:
            jobs = queries.jobs_in_posting(
                session, account=self.account, stale_only=stale_only,
                in_flight=self.limits.in_flight,
            )  # fmt: skip
        for job in jobs:
            try:
                self.reconcile_job(job)
            except RedditbotError as exc:
                log.warning("job %s: reconciliation failed (%s); will retry", job.id, exc)
        return len(jobs)

    def reconcile_job(self, job: ReplyJob) -> None:
        """Find the bot's reply under the target: record it, or send the job back to approved."""
        mine = sorted(self.gateway.own_replies_to(job.target_fullname), key=_age_key)
        with self.sessions() as session:
            kept = _recorded_comment(session, job.id)  # another instance may have finished it
        if kept is not None:
            return self._delete_duplicates(job, [c for c in mine if c.fullname != kept])
        if mine:
            self._delete_duplicates(job, mine[1:])
            return self._record(job, mine[0], mine[0].body, reconciled=True)
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(ReplyJob, job.id, with_for_update=True)
            if row.status != Status.POSTING:
                return None  # another instance settled it meanwhile
            if row.attempts >= self.limits.max_attempts:
                queries.move(row, Status.FAILED, now=now, reason="post_attempts_exhausted")
            else:
                queries.move(row, Status.APPROVED, now=now, reason="reconciled_not_posted")
        return None

    def _delete_duplicates(
        self, job: ReplyJob, extras: list[PostedComment], finished_as: str | None = None
    ) -> None:
        """Delete extra replies under the job's target; each one is recorded as an event."""
        why = f" (the job was already {finished_as} by another instance)" if finished_as else ""
        for extra in extras:
            data = {"comment": extra.fullname, "permalink": extra.permalink}
            self._event("duplicate_found", f"duplicate reply {extra.fullname}{why}", job, data)
            self.gateway.delete(extra.fullname)
            message = f"deleted duplicate reply {extra.fullname} under {job.target_fullname}{why}"
            log.warning("job %s: %s", job.id, message)
            self._event("duplicate_deleted", message, job, data)

    def _event(self, kind: str, message: str, job: ReplyJob, data: dict | None = None) -> None:
        with self.sessions.begin() as session:
            queries.record_event(
                session, kind, message, now=self.clock(), level="warning", account=self.account,
                subreddit=job.subreddit, job_id=job.id, fullname=job.target_fullname,
                data=data or {},
            )  # fmt: skip


def count_forbidden(sessions: sessionmaker[Session], subreddit: str, *, account: str, now,
                    limits: Any) -> None:  # fmt: skip
    """A 403 in ``subreddit``: repeated ones pause it (replies and posts), in the log and store."""
    with sessions.begin() as session:
        until = queries.count_forbidden(
            session, subreddit, account=account, now=now,
            threshold=limits.forbidden_to_pause, pause_for=limits.pause_for,
        )  # fmt: skip
    if until:
        log.warning("r/%s paused until %s after repeated 403 answers", subreddit, until)


def _move_to_posted(row: ReplyJob, now) -> None:
    """``posting → posted``; a job another instance sent back to ``approved`` (it found no
    comment yet) goes through ``posting`` first: the comment exists, it must not be sent again."""
    if row.status == Status.APPROVED:
        queries.move(row, Status.POSTING, now=now)
    queries.move(row, Status.POSTED, now=now)


def _recorded_comment(session: Session, job_id: int) -> str | None:
    """The comment already recorded as the job's reply, if any."""
    query = select(PostedReply.comment_fullname).where(PostedReply.job_id == job_id)
    return session.scalar(query)


def _age_key(comment: PostedComment) -> tuple[float, int]:
    return comment.created_utc, int(comment.fullname.partition("_")[2], 36)
