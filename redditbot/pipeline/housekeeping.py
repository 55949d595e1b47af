"""Housekeeping: periodic chores, each switchable per subreddit.

- Re-read the targets of jobs not yet posted (edits, deletions, locks) so the store is current.
- Delete the bot's own replies that the community scored below a threshold within a window
  (recorded in ``posted_replies`` and the event log).
- Prune stored items past a retention period, except the targets of reply jobs (the history
  keeps its excerpts).
- Purge the text of stored items deleted or removed on Reddit, or whose account was deleted
  (``redditbot.pipeline.purge``), within a request budget per run.
Stale job leases are released by the Bot (it knows whether it is the only instance).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from redditbot.config import Settings
from redditbot.domain import Clock, RedditGateway, Status, utcnow
from redditbot.pipeline.purge import Purger
from redditbot.store import queries
from redditbot.store.models import (
    CommentRow,
    PostedReply,
    ReplyJob,
    SelectionDecision,
    SubmissionRow,
)

log = logging.getLogger(__name__)

OPEN_STATES = (Status.QUEUED, Status.DRAFTED, Status.APPROVED, Status.PENDING_REVIEW)


class Housekeeping:
    """The housekeeping stage; ``run_once()`` does every chore once."""

    def __init__(
        self,
        gateway: RedditGateway,
        sessions: sessionmaker[Session],
        settings: Settings,
        *,
        account: str,
        refresh: Callable[[list[str]], int],
        release_stale_leases: Callable[[], int],
        clock: Clock = utcnow,
    ) -> None:
        self.gateway, self.sessions, self.settings, self.clock = gateway, sessions, settings, clock
        self.account, self.refresh, self.release_stale_leases = (
            account,
            refresh,
            release_stale_leases,
        )
        chores = settings.housekeeping
        self.purger = Purger(
            gateway,
            sessions,
            account=account,
            clock=clock,
            requests=chores.purge_requests,
            recheck=timedelta(hours=chores.purge_recheck_hours),
        )

    def run_once(self) -> int:
        return (
            self.release_stale_leases()
            + self.refresh_open_targets()
            + self.delete_low_scored_replies()
            + self.prune()
            + self.purger.run_once()
        )

    def refresh_open_targets(self) -> int:
        """Re-read targets of jobs not yet posted, before the bot answers them."""
        with self.sessions() as session:
            query = select(ReplyJob.target_fullname).where(
                ReplyJob.account == self.account,
                ReplyJob.status.in_(OPEN_STATES),
            )
            targets = list(session.scalars(query.limit(500)))
        return self.refresh(targets) if targets else 0

    def delete_low_scored_replies(self) -> int:
        """Delete the bot's replies scored below each subreddit's threshold, and record it."""
        if not self._any_deletion_configured():
            return 0
        now, deleted = self.clock(), 0
        scores = {c.fullname: c.score for c in self.gateway.own_recent_comments()}
        for reply, subreddit in self._recent_posted(now):
            policy = self.settings.housekeeping_for(subreddit)
            score = scores.get(reply.comment_fullname)
            if policy.delete_below_score is None or score is None:
                continue
            if self.settings.dry_run_for(subreddit):  # a deletion is a write
                continue
            young = now - reply.posted_at < timedelta(hours=policy.delete_window_hours)
            if young and score < policy.delete_below_score:
                self._delete(reply, subreddit, score, now)
                deleted += 1
        return deleted

    def _any_deletion_configured(self) -> bool:
        names = [s.name for s in self.settings.subreddits]
        return self.settings.housekeeping.delete_below_score is not None or any(
            self.settings.housekeeping_for(name).delete_below_score is not None for name in names
        )

    def _recent_posted(self, now: datetime) -> list[tuple[PostedReply, str]]:
        longest = max(
            [self.settings.housekeeping.delete_window_hours]
            + [
                self.settings.housekeeping_for(s.name).delete_window_hours
                for s in self.settings.subreddits
            ]
        )
        with self.sessions() as session:
            query = (
                select(PostedReply, ReplyJob.subreddit)
                .join(ReplyJob, ReplyJob.id == PostedReply.job_id)
                .where(
                    PostedReply.account == self.account,
                    PostedReply.dry_run.is_(False),
                    PostedReply.deleted_at.is_(None),
                    PostedReply.comment_fullname.is_not(None),
                    PostedReply.posted_at >= now - timedelta(hours=longest),
                )
            )
            return [(reply, subreddit) for reply, subreddit in session.execute(query)]

    def _delete(self, reply: PostedReply, subreddit: str, score: int, now: datetime) -> None:
        self.gateway.delete(reply.comment_fullname)
        reason = f"low_score:{score}"
        with self.sessions.begin() as session:
            row = session.get(PostedReply, reply.id)
            row.deleted_at, row.delete_reason = now, reason
            queries.record_event(
                session,
                "reply_deleted",
                f"deleted {reply.comment_fullname} ({reason})",
                now=now,
                account=self.account,
                subreddit=subreddit,
                job_id=reply.job_id,
                fullname=reply.comment_fullname,
            )
        log.info("deleted own reply %s in r/%s (%s)", reply.comment_fullname, subreddit, reason)

    def prune(self) -> int:
        """Delete stored items older than the retention period that no reply job points at."""
        retention = self.settings.housekeeping.retention_days
        if not retention:
            return 0
        cutoff = self.clock().timestamp() - retention * 86400
        targets = select(ReplyJob.target_fullname)
        removed = 0
        with self.sessions.begin() as session:
            for model in (CommentRow, SubmissionRow):
                old = select(model.fullname).where(
                    model.created_utc < cutoff, model.fullname.not_in(targets)
                )
                names = list(session.scalars(old.limit(5000)))
                if not names:
                    continue
                session.execute(
                    delete(SelectionDecision).where(SelectionDecision.fullname.in_(names))
                )
                session.execute(delete(model).where(model.fullname.in_(names)))
                removed += len(names)
        return removed
