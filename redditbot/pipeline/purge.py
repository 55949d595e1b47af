"""Purge: delete from the store what users delete on Reddit (Reddit's Data API terms).

Each run asks Reddit (``/api/info``, 100 fullnames a request, at most ``purge_requests`` requests)
about the stored items checked longest ago (never checked first; none again within
``purge_recheck_hours``). An item deleted by its author,
removed (by moderators, Reddit or the spam filter) or written by an account since deleted loses
its text in the store (``redditbot.store.purge``); each run's counts go to the event log
(``kind = 'purge'``). Items the listener sees deleted are purged as they are stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, union_all, update
from sqlalchemy.orm import Session, sessionmaker

from redditbot.domain import Clock, RedditGateway, utcnow
from redditbot.store import purge
from redditbot.store.engine import release_freed_pages
from redditbot.store.models import CommentRow, SubmissionRow

log = logging.getLogger(__name__)

INFO_LIMIT = 100  # fullnames per /api/info request (Reddit's maximum)


class Purger:
    """Finds stored items gone from Reddit and purges their text; ``run_once()`` is one round."""

    def __init__(
        self,
        gateway: RedditGateway,
        sessions: sessionmaker[Session],
        *,
        account: str,
        requests: int,
        recheck: timedelta = timedelta(hours=24),
        clock: Clock = utcnow,
    ) -> None:
        self.gateway, self.sessions, self.account = gateway, sessions, account
        self.requests, self.recheck, self.clock = requests, recheck, clock

    def run_once(self) -> int:
        """Check up to ``requests`` x 100 stored items; returns how many rows were purged."""
        if self.requests <= 0:
            return 0
        now = self.clock()
        with self.sessions() as session:
            names = due_for_check(session, self.requests * INFO_LIMIT, before=now - self.recheck)
        if not names:
            return 0
        counts = purge.PurgeCounts(checked=len(names))
        gone = self._ask_reddit(names, counts)
        with self.sessions.begin() as session:
            purge.purge(session, gone, now, counts)
            mark_checked(session, names, now)
            purge.record(session, counts, now=now, account=self.account)
        if counts.rows:
            release_freed_pages(self.sessions)
            log.info("purge: %s", counts.summary())
        return counts.rows

    def _ask_reddit(self, names: Sequence[str], counts: purge.PurgeCounts) -> dict[str, str]:
        """{fullname: reason} of the items Reddit shows as deleted, removed or author-less."""
        gone: dict[str, str] = {}
        for start in range(0, len(names), INFO_LIMIT):
            counts.requests += 1
            for item in self.gateway.fetch(names[start : start + INFO_LIMIT]):
                reason = purge.gone_reason(item)
                if reason:
                    gone[item.fullname] = reason
        return gone


def due_for_check(session: Session, limit: int, *, before: datetime) -> list[str]:
    """Stored items not written by the bot nor purged and not checked since ``before``: never
    checked first, then the oldest checks."""
    parts = [
        select(model.fullname.label("fullname"), model.checked_at.label("checked_at")).where(
            model.purged_at.is_(None),
            model.bot_account.is_(None),
            or_(model.checked_at.is_(None), model.checked_at < before),
        )
        for model in (CommentRow, SubmissionRow)
    ]
    rows = union_all(*parts).subquery()
    never = rows.c.checked_at.is_(None)
    query = select(rows.c.fullname).order_by(never.desc(), rows.c.checked_at, rows.c.fullname)
    return list(session.scalars(query.limit(limit)))


def mark_checked(session: Session, names: Sequence[str], now: datetime) -> None:
    for model in (CommentRow, SubmissionRow):
        session.execute(update(model).where(model.fullname.in_(names)).values(checked_at=now))
