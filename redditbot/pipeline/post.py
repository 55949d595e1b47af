"""Post: send approved jobs to Reddit, exactly once per target, for every kind of job.

One ``Sender`` sends everything the bot writes: replies (``Replies``, here) and original posts
(``OriginalPosts``, in ``submit.py``). A kind says how its job is sent (``send``) and how Reddit
is searched for what an earlier try may have created (``find_existing``); the order of steps,
which is what makes "never twice" hold across crashes, is the sender's alone:
1. the job moves to ``posting`` and that is committed *before* the request;
2. the request is made (prawcore's blind POST retries are disabled in the adapter);
3. what Reddit created is recorded and the job moves to ``posted`` in one transaction.
A job found in ``posting`` (a crash, a lost response, a 5xx) is reconciled: the kind looks for
the bot's own item on Reddit; one found is recorded, extra copies are deleted, and only when none
exists does the job go back to ``approved`` to be sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from redditbot.disclosure import disclosed
from redditbot.domain import Clock, PostedComment, RedditGateway, Status, utcnow
from redditbot.errors import RateLimited, RedditbotError, TargetUnavailable, TransientError
from redditbot.store import queries
from redditbot.store.models import CommentRow, Job, PostedReply, ReplyJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostPolicy:
    """What the sender needs to know about one subreddit."""

    dry_run: bool = False
    footer: str = ""  # the disclosure footer, appended by ``disclosed`` at posting time


@dataclass(frozen=True)
class PosterLimits:
    """Bounds on a sender's batches, retries and a subreddit that keeps refusing the bot."""

    batch: int = 10
    lease: timedelta = timedelta(minutes=5)
    # How long after its lease a sender may still be waiting for Reddit (the request timeout
    # times the tries): only then is a job in `posting` stale.
    in_flight: timedelta = timedelta(seconds=16 * 3)
    max_attempts: int = 5
    forbidden_to_pause: int = 3
    pause_for: timedelta = timedelta(hours=24)


class Sent(Protocol):
    """Something the bot created on Reddit, as Reddit reports it (a comment, a submission)."""

    @property
    def fullname(self) -> str: ...

    @property
    def permalink(self) -> str: ...

    @property
    def created_utc(self) -> float: ...


J = TypeVar("J", bound=Job)
S = TypeVar("S", bound=Sent)


class Kind(Protocol[J, S]):
    """One kind of job the sender sends: its table, its request and its record of the result."""

    model: type[J]
    noun: str  # "reply", "post": in events and logs
    label: str  # how log lines name a job ("job 12", "post job 3")
    interrupted: str  # the event kind of a request whose outcome is unknown

    def where(self, job: J) -> str:
        """Where the job writes, for log lines ("under t1_abc", "in r/python")."""
        ...

    def target(self, job: J) -> str | None:
        """The fullname the job answers, for the event log (None: a new thread)."""
        ...

    def text(self, job: J, footer: str) -> str:
        """What Reddit gets, disclosure footer included."""
        ...

    def refusal(self, job: J) -> str | None:
        """A reason not to send at all (checked after dry run, before ``posting``)."""
        ...

    def send(self, job: J, text: str) -> S | None:
        """Make the request. None: Reddit answered without the item (reconcile)."""
        ...

    def find_existing(self, job: J) -> list[S]:
        """The bot's items on Reddit that this job may have created, oldest first."""
        ...

    def delete(self, fullname: str) -> None:
        """Delete a duplicate on Reddit."""
        ...

    def posting_values(self, text: str) -> dict[str, Any]:
        """Columns written with the move to ``posting``, besides the state and the lease."""
        ...

    def recorded(self, session: Session, job: J) -> str | None:
        """The fullname already recorded as the job's result (another instance's, perhaps)."""
        ...

    def record(
        self, session: Session, row: J, sent: S, text: str, *, reconciled: bool, now: datetime
    ) -> None:
        """Store what Reddit created, for a job that is not finished yet."""
        ...

    def record_dry_run(self, session: Session, row: J, text: str, now: datetime) -> None:
        """Store what would have been sent (dry run: no request of any kind is made)."""
        ...

    def duplicate_data(self, sent: S) -> dict[str, Any]:
        """The event data that names a duplicate."""
        ...


class Sender(Generic[J, S]):
    """The stage that sends one kind of job; ``run_once()`` reconciles stale ``posting`` jobs,
    then sends due ones."""

    def __init__(
        self,
        kind: Kind[J, S],
        sessions: sessionmaker[Session],
        *,
        account: str,
        owner: str,
        policy: Callable[[str], PostPolicy],
        limits: PosterLimits | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.kind, self.model, self.sessions, self.clock = kind, kind.model, sessions, clock
        self.account, self.owner = account, owner
        self.policy, self.limits = policy, limits or PosterLimits()

    def run_once(self) -> int:
        handled = self.reconcile(stale_only=True)
        with self.sessions.begin() as session:
            jobs = self._claim(session)
        for job in jobs:
            self._send_guarded(job)
        return handled + len(jobs)

    # ------------------------------------------------------------------ sending

    def _claim(self, session: Session) -> list[J]:
        now = self.clock()
        # Only this account's pauses: another account banned in a subreddit stops only itself.
        paused = queries.paused_subreddits(self.account, now)
        return queries.claim_jobs(
            session,
            model=self.model,
            account=self.account,
            status=Status.APPROVED,
            owner=self.owner,
            now=now,
            lease=self.limits.lease,
            limit=self.limits.batch,
            extra=[self.model.subreddit.not_in(paused)],
        )

    def _send_guarded(self, job: J) -> None:
        try:
            self.send(job)
        except TransientError as exc:
            # The outcome is unknown: the job stays in `posting` and reconciliation decides
            # (never a blind retry), once Reddit can no longer be working on the request.
            log.warning(
                "%s %s: sending interrupted (%s); will reconcile", self.kind.label, job.id, exc
            )
            with self.sessions.begin() as session:
                queries.end_lease(session, self.model, job.id, self.owner)
            self._event(self.kind.interrupted, str(exc), job)

    def send(self, job: J) -> None:
        """Send one claimed job (see the module docstring for the order of steps)."""
        policy = self.policy(job.subreddit)
        text = self.kind.text(job, policy.footer)
        if policy.dry_run:
            return self._dry_run(job, text)
        refusal = self.kind.refusal(job)
        if refusal is not None:
            return self._finish(job, Status.SKIPPED, reason=refusal)
        if not self._mark_posting(job, text):
            return None  # lost the lease to another instance; it owns the job now
        try:
            sent = self.kind.send(job, text)
        except RateLimited as exc:
            return self._delay(job, exc)
        except TargetUnavailable as exc:
            return self._refused(job, exc)
        if sent is None:  # Reddit answered without the item: find out what happened
            return self.reconcile_job(job)
        return self._record(job, sent, text, reconciled=False)

    def _mark_posting(self, job: J, text: str) -> bool:
        """Compare-and-set approved → posting under our lease, committed before the request."""
        model, now = self.model, self.clock()
        with self.sessions.begin() as session:
            until = queries.db_now(session, self.limits.lease)  # the one clock all instances read
            result = session.execute(
                update(model)
                .where(
                    model.id == job.id,
                    model.status == Status.APPROVED,
                    model.lease_owner == self.owner,
                )
                .values(
                    status=Status.POSTING,
                    updated_at=now,
                    attempts=model.attempts + 1,
                    lease_expires_at=until,
                    **self.kind.posting_values(text),
                )
            )
            return result.rowcount == 1

    def _record(self, job: J, sent: S, text: str = "", *, reconciled: bool) -> None:
        """Record what Reddit created; never fails for a job another instance finished.

        A job that moved on meanwhile (another instance sent it, or gave it up) makes this item
        a duplicate: it is deleted on Reddit and the event log says so."""
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(self.model, job.id, with_for_update=True)  # one recorder at a time
            finished = row.status.terminal
            if not finished:
                self.kind.record(session, row, sent, text, reconciled=reconciled, now=now)
                _move_to_posted(row, now)
                queries.clear_forbidden(session, job.subreddit, account=self.account)
            kept = self.kind.recorded(session, row)
        if kept != sent.fullname:
            why = f" (the job was already {row.status} by another instance)"
            return self._delete_duplicates(job, [sent], why)
        log.info(
            "%s %s: posted %s %s", self.kind.label, job.id, sent.fullname, self.kind.where(job)
        )
        return None

    def _dry_run(self, job: J, text: str) -> None:
        """Record what would have been sent; no request of any kind is made."""
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(self.model, job.id)
            self.kind.record_dry_run(session, row, text, now)
            queries.move(row, Status.SKIPPED, now=now, reason="dry_run")

    def _delay(self, job: J, exc: RateLimited) -> None:
        """RATELIMIT is a delay, not a failure: back to approved until Reddit's time."""
        wait = exc.retry_after or 60.0
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(self.model, job.id)
            queries.move(row, Status.APPROVED, now=now, reason="ratelimit")
            row.not_before = now + timedelta(seconds=wait)
            row.attempts -= 1  # nothing was sent: the try does not count
        log.info("%s %s: rate limited, retrying in %.0f s", self.kind.label, job.id, wait)

    def _refused(self, job: J, exc: TargetUnavailable) -> None:
        self._finish(job, Status.SKIPPED, reason=exc.reason)
        if exc.reason == "forbidden":
            self._count_forbidden(job.subreddit)

    def _count_forbidden(self, subreddit: str) -> None:
        """A 403 for this account in ``subreddit``: repeated ones pause this account there
        (replies and posts), in the log and the store; other accounts are not paused."""
        with self.sessions.begin() as session:
            until = queries.count_forbidden(
                session,
                subreddit,
                account=self.account,
                now=self.clock(),
                threshold=self.limits.forbidden_to_pause,
                pause_for=self.limits.pause_for,
            )
        if until:
            log.warning(
                "r/%s paused for account %s until %s after repeated 403 answers",
                subreddit,
                self.account,
                until,
            )

    def _finish(self, job: J, status: Status, *, reason: str) -> None:
        with self.sessions.begin() as session:
            queries.move(session.get(self.model, job.id), status, now=self.clock(), reason=reason)
        log.info("%s %s: %s (%s)", self.kind.label, job.id, status, reason)

    # ------------------------------------------------------------------ reconciliation

    def reconcile(self, *, stale_only: bool) -> int:
        """Settle jobs left in ``posting``; at start-up (single instance) all of them."""
        with self.sessions() as session:
            jobs = queries.jobs_in_posting(
                session,
                account=self.account,
                stale_only=stale_only,
                in_flight=self.limits.in_flight,
                model=self.model,
            )
        for job in jobs:
            try:
                self.reconcile_job(job)
            except RedditbotError as exc:
                log.warning(
                    "%s %s: reconciliation failed (%s); will retry", self.kind.label, job.id, exc
                )
        return len(jobs)

    def reconcile_job(self, job: J) -> None:
        """Find what the job created on Reddit: record it, or send the job back to approved."""
        mine = self.kind.find_existing(job)
        with self.sessions() as session:
            kept = self.kind.recorded(session, job)  # another instance may have finished it
        why = " (found while reconciling)"
        if kept is not None:
            return self._delete_duplicates(job, [s for s in mine if s.fullname != kept], why)
        if mine:
            self._delete_duplicates(job, mine[1:], why)
            return self._record(job, mine[0], reconciled=True)
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(self.model, job.id, with_for_update=True)
            if row.status != Status.POSTING:
                return None  # another instance settled it meanwhile
            if row.attempts >= self.limits.max_attempts:
                queries.move(row, Status.FAILED, now=now, reason="post_attempts_exhausted")
            else:
                queries.move(row, Status.APPROVED, now=now, reason="reconciled_not_posted")
        return None

    def _delete_duplicates(self, job: J, extras: list[S], why: str) -> None:
        """Delete extra copies of the job's item on Reddit; each one is recorded as an event."""
        noun = self.kind.noun
        for extra in extras:
            data = self.kind.duplicate_data(extra)
            self._event("duplicate_found", f"duplicate {noun} {extra.fullname}{why}", job, data)
            self.kind.delete(extra.fullname)
            message = f"deleted duplicate {noun} {extra.fullname} {self.kind.where(job)}{why}"
            log.warning("%s %s: %s", self.kind.label, job.id, message)
            self._event("duplicate_deleted", message, job, data)

    def _event(self, kind: str, message: str, job: J, data: dict | None = None) -> None:
        with self.sessions.begin() as session:
            queries.record_event(
                session,
                kind,
                message,
                now=self.clock(),
                level="warning",
                account=self.account,
                subreddit=job.subreddit,
                job_id=job.id,
                fullname=self.kind.target(job),
                data=data or {},
            )


def _move_to_posted(row: Job, now: datetime) -> None:
    """``posting → posted``; a job another instance sent back to ``approved`` (it found nothing
    yet) goes through ``posting`` first: the item exists, it must not be sent again."""
    if row.status == Status.APPROVED:
        queries.move(row, Status.POSTING, now=now)
    queries.move(row, Status.POSTED, now=now)


def oldest_first(items: list[S]) -> list[S]:
    """Reddit's items by creation, ties broken by their base-36 ids."""
    return sorted(items, key=lambda s: (s.created_utc, int(s.fullname.partition("_")[2], 36)))


# --------------------------------------------------------------------------- replies


class Replies:
    """Replies as the sender sends them: a comment under the target, in ``posted_replies``."""

    model = ReplyJob
    noun, label, interrupted = "reply", "job", "post_interrupted"

    def __init__(
        self,
        gateway: RedditGateway,
        sessions: sessionmaker[Session],
        *,
        account: str,
        bot_username: str,
    ) -> None:
        self.gateway, self.sessions = gateway, sessions
        self.account, self.bot_username = account, bot_username

    def where(self, job: ReplyJob) -> str:
        return f"under {job.target_fullname}"

    def target(self, job: ReplyJob) -> str | None:
        return job.target_fullname

    def text(self, job: ReplyJob, footer: str) -> str:
        return disclosed(job.reply_text or "", footer)

    def refusal(self, job: ReplyJob) -> str | None:
        """Never a reply to one of the bot's own comments."""
        with self.sessions() as session:
            row = session.get(CommentRow, job.target_fullname)
        me = self.bot_username.lower()
        own = row is not None and (row.bot_account is not None or (row.author or "").lower() == me)
        return "own_comment" if own else None

    def send(self, job: ReplyJob, text: str) -> PostedComment | None:
        return self.gateway.reply(job.target_fullname, text)

    def find_existing(self, job: ReplyJob) -> list[PostedComment]:
        return oldest_first(self.gateway.own_replies_to(job.target_fullname))

    def delete(self, fullname: str) -> None:
        self.gateway.delete(fullname)

    def posting_values(self, text: str) -> dict[str, Any]:
        return {}

    def recorded(self, session: Session, job: ReplyJob) -> str | None:
        query = select(PostedReply.comment_fullname).where(PostedReply.job_id == job.id)
        return session.scalar(query)

    def record(
        self,
        session: Session,
        row: ReplyJob,
        sent: PostedComment,
        text: str,
        *,
        reconciled: bool,
        now: datetime,
    ) -> None:
        session.add(
            PostedReply(
                job_id=row.id,
                account=self.account,
                target_fullname=row.target_fullname,
                comment_fullname=sent.fullname,
                permalink=sent.permalink,
                body=sent.body or text,
                reconciled=reconciled,
                posted_at=now,
            )
        )

    def record_dry_run(self, session: Session, row: ReplyJob, text: str, now: datetime) -> None:
        session.add(
            PostedReply(
                job_id=row.id,
                account=self.account,
                target_fullname=row.target_fullname,
                body=text,
                dry_run=True,
                posted_at=now,
            )
        )

    def duplicate_data(self, sent: PostedComment) -> dict[str, Any]:
        return {"comment": sent.fullname, "permalink": sent.permalink}


class Poster(Sender[ReplyJob, PostedComment]):
    """The post stage: the sender of replies."""

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
        replies = Replies(gateway, sessions, account=account, bot_username=bot_username)
        super().__init__(
            replies,
            sessions,
            account=account,
            owner=owner,
            policy=policy,
            limits=limits,
            clock=clock,
        )
