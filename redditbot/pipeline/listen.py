"""Listen: poll the subreddits and the inbox, store what is new, move the cursors.

Subreddits are joined into multi-subreddit requests (``a+b+c``) of 100 items each, so a poll
costs one request per feed however many subreddits it covers. Each feed keeps a cursor (the id
of the newest item stored) that is saved in the same transaction as the items: after a restart
nothing the listing still holds is skipped or stored twice. When the listing no longer reaches
back to the cursor, the gap is logged and recorded as an event.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from redditbot.domain import (
    LISTING_LIMIT,
    Clock,
    Comment,
    ListingPage,
    RedditGateway,
    Submission,
    utcnow,
)
from redditbot.errors import PermanentError, TransientError
from redditbot.store import queries
from redditbot.store.models import InboxRow

log = logging.getLogger(__name__)

Fetch = Callable[[str | None], ListingPage]


def id36(fullname: str) -> int:
    """Reddit ids are base-36 counters: a larger id is a newer item of the same kind."""
    return int(fullname.partition("_")[2], 36)


@dataclass
class Collected:
    """What one poll of a feed found: new items (newest first), and whether a gap was seen."""

    items: list[Submission | Comment] = field(default_factory=list)
    gap: bool = False
    requests: int = 0


def collect_new(fetch: Fetch, last_fullname: str | None, max_pages: int) -> Collected:
    """Page back from the newest item until the cursor is reached (or the listing ends)."""
    found, after = Collected(), None
    while True:
        page = fetch(after)
        found.requests += 1
        fresh = [
            i for i in page.items if last_fullname is None or id36(i.fullname) > id36(last_fullname)
        ]
        found.items += fresh
        reached = last_fullname is None or len(fresh) < len(page.items)
        full = len(page.items) >= LISTING_LIMIT and page.after is not None
        if reached or not full or found.requests >= max_pages:
            found.gap = not reached
            return found
        after = page.after


@dataclass
class Backoff:
    """Exponential back-off with jitter for one feed (state that need not survive a crash)."""

    base: float = 5.0
    cap: float = 300.0
    failures: int = 0
    until: datetime | None = None

    def failed(self, now: datetime, rng: random.Random, at_least: float = 0.0) -> float:
        self.failures += 1
        delay = min(self.cap, self.base * 2 ** (self.failures - 1)) * rng.uniform(0.5, 1.5)
        delay = max(delay, at_least)
        self.until = now + timedelta(seconds=delay)
        return delay

    def succeeded(self) -> None:
        self.failures, self.until = 0, None

    def waiting(self, now: datetime) -> bool:
        return self.until is not None and now < self.until


class Listener:
    """The listen stage: ``run_once()`` polls every feed that is not backing off."""

    def __init__(
        self,
        gateway: RedditGateway,
        sessions: sessionmaker[Session],
        *,
        account: str,
        bot_username: str,
        subreddits: Sequence[str],
        subreddits_per_request: int = 50,
        max_pages: int = 10,
        mark_inbox_read: bool = True,
        dry_run: Callable[[str], bool] = lambda _subreddit: False,
        owner: str = "listener",
        lease: timedelta = timedelta(minutes=2),
        clock: Clock = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.gateway, self.sessions, self.clock = gateway, sessions, clock
        self.account, self.bot_username = account, bot_username
        self.max_pages, self.mark_inbox_read, self.dry_run = max_pages, mark_inbox_read, dry_run
        self.owner, self.lease = owner, lease
        self.groups = [
            list(subreddits[i : i + subreddits_per_request])
            for i in range(0, len(subreddits), subreddits_per_request)
        ]
        self.rng = rng or random.Random()
        self.backoff: dict[str, Backoff] = {}
        self.requests = 0  # API requests spent, for the benchmarks

    def feeds(self) -> list[tuple[str, Fetch]]:
        """(name, fetch) for each listing feed: submissions and comments per subreddit group."""
        feeds: list[tuple[str, Fetch]] = []
        for group in self.groups:
            joined = "+".join(sorted(group, key=str.lower))
            feeds.append((f"submissions:{joined}", self._bind(self.gateway.submissions, group)))
            feeds.append((f"comments:{joined}", self._bind(self.gateway.comments, group)))
        return feeds

    @staticmethod
    def _bind(method, group: list[str]) -> Fetch:
        return lambda after: method(group, after)

    def run_once(self) -> int:
        """Poll each feed once; returns the number of new items stored."""
        stored = sum(
            self._guarded(name, lambda n=name, f=fetch: self.poll(n, f))
            for name, fetch in self.feeds()
        )
        return stored + self._guarded("inbox", self.poll_inbox)

    def _guarded(self, feed: str, poll: Callable[[], int]) -> int:
        """Run one feed's poll; an error backs that feed off and never stops the others."""
        now, backoff = self.clock(), self.backoff.setdefault(feed, Backoff())
        if backoff.waiting(now) or not self._holds(feed, now):
            return 0
        try:
            stored = poll()
        except (TransientError, PermanentError) as exc:
            self._failed(feed, backoff, exc, now)
            return 0
        backoff.succeeded()
        return stored

    def _holds(self, feed: str, now: datetime) -> bool:
        """Only one instance polls a feed at a time (a lease on the feed's cursor row)."""
        with self.sessions.begin() as session:
            return queries.try_lease(
                session, account=self.account, name=feed, owner=self.owner, now=now, ttl=self.lease
            )

    def _failed(self, feed: str, backoff: Backoff, exc: Exception, now: datetime) -> None:
        delay = backoff.failed(now, self.rng, getattr(exc, "retry_after", None) or 0.0)
        log.warning("feed %s failed (%s); next try in %.0f s", feed, exc, delay)
        with self.sessions.begin() as session:
            queries.record_event(
                session,
                "poll_failed",
                f"{feed}: {exc}",
                now=now,
                level="warning",
                account=self.account,
                data={"feed": feed, "retry_in_s": round(delay, 1)},
            )

    def poll(self, feed: str, fetch: Fetch) -> int:
        """Store a feed's new items and move its cursor, in one transaction."""
        with self.sessions() as session:
            last = queries.cursor(session, self.account, feed).last_fullname
        found = collect_new(fetch, last, self.max_pages)
        self.requests += found.requests
        now = self.clock()
        with self.sessions.begin() as session:
            self._store(session, found.items, now)
            row = queries.cursor(session, self.account, feed)
            if found.items:
                row.last_fullname = found.items[0].fullname
                row.last_created_utc = found.items[0].created_utc
            row.last_success_at = now
            if found.gap:
                self._record_gap(session, feed, last, found, now)
        return len(found.items)

    def _store(self, session: Session, items: list, now: datetime) -> None:
        queries.upsert_items(
            session, items, account=self.account, bot_username=self.bot_username, now=now
        )

    def _record_gap(self, session: Session, feed: str, last: str | None, found, now) -> None:
        oldest = found.items[-1].fullname if found.items else None
        message = (
            f"{feed}: the listing no longer reaches back to {last}; "
            f"items between it and {oldest} were missed"
        )
        log.warning(message)
        queries.record_event(
            session,
            "poll_gap",
            message,
            now=now,
            level="warning",
            account=self.account,
            data={"feed": feed, "cursor": last, "oldest_seen": oldest},
        )

    def poll_inbox(self) -> int:
        """Store mentions and replies to the bot, then mark them read on Reddit (not those of a
        subreddit in dry run: marking read is a write). Unread ones come again; stored once."""
        items = self.gateway.inbox()
        self.requests += 1
        now = self.clock()
        with self.sessions.begin() as session:
            self._store(session, [item.comment for item in items], now)
            rows = [
                {
                    "account": self.account,
                    "fullname": i.comment.fullname,
                    "kind": i.kind,
                    "received_at": now,
                }
                for i in items
            ]
            queries.insert_ignoring_duplicates(session, InboxRow, rows, ("account", "fullname"))
            queries.cursor(session, self.account, "inbox").last_success_at = now
        to_mark = [i.comment.fullname for i in items if not self.dry_run(i.comment.subreddit)]
        if to_mark and self.mark_inbox_read:
            self.gateway.mark_read(to_mark)
            self.requests += 1
        return len(items)

    def refresh(self, fullnames: Sequence[str]) -> int:
        """Re-read items from Reddit (edits, deletions, locks) and update the stored rows."""
        fresh = []
        for start in range(0, len(fullnames), LISTING_LIMIT):
            fresh += self.gateway.fetch(fullnames[start : start + LISTING_LIMIT])
            self.requests += 1
        with self.sessions.begin() as session:
            self._store(session, fresh, self.clock())
        return len(fresh)
