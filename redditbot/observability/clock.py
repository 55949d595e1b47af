"""The clock check: does this host's clock agree with the database's and with Reddit's?

Leases are judged on the database's clock, so a host whose clock is off no longer posts twice;
but its own timestamps (rate-limit delays, hourly caps, schedule slots, the event log) are still
off. At start-up and every hour the daemon compares: beyond ``max_skew`` it logs a warning,
records a ``clock_check`` event (``redditbot status`` shows the latest), and ``/readyz`` names
the skew until a later check finds the clocks agree again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from redditbot.domain import Clock
from redditbot.errors import TransientError
from redditbot.store import queries

log = logging.getLogger(__name__)


class ClockCheck:
    """Compares the process clock with the database's and Reddit's ``Date`` header.

    ``problems`` holds the last check's findings (empty when the clocks agree).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: Any,
        *,
        account: str,
        clock: Clock,
        instance: str | None = None,
        max_skew: timedelta = timedelta(seconds=30),
    ) -> None:
        self.sessions, self.gateway, self.account = sessions, gateway, account
        self.clock, self.max_skew, self.instance = clock, max_skew, instance
        self.problems: list[str] = []

    def run_once(self) -> int:
        """Check once; returns 1 (one check made)."""
        offsets = {
            "the database": self._offset(self._database_time),
            "Reddit": self._offset(self._reddit_time),
        }
        self.problems = [
            f"clock skew: this host is {describe(offset)} {source}"
            for source, offset in offsets.items()
            if offset is not None and abs(offset) > self.max_skew
        ]
        self._record(offsets)
        return 1

    def _offset(self, read: Callable[[], datetime | None]) -> timedelta | None:
        """This host's clock minus the other's, read halfway through the question."""
        before = self.clock()
        try:
            theirs = read()
        except TransientError as exc:
            log.warning("clock check: %s", exc)
            return None
        if theirs is None:
            return None
        return before + (self.clock() - before) / 2 - theirs

    def _database_time(self) -> datetime:
        with self.sessions() as session:
            return queries.database_time(session)

    def _reddit_time(self) -> datetime | None:
        server_time = getattr(self.gateway, "server_time", None)
        return server_time() if server_time else None  # a gateway without one: not checked

    def _record(self, offsets: dict[str, timedelta | None]) -> None:
        data = {
            f"{source.split()[-1].lower()}_offset_s": _seconds(o) for source, o in offsets.items()
        }
        data |= {"max_skew_s": self.max_skew.total_seconds(), "instance": self.instance}
        message = "; ".join(self.problems) or "clocks agree (this host minus theirs): " + ", ".join(
            f"{source} {o.total_seconds():+.1f} s" if o is not None else f"{source} not checked"
            for source, o in offsets.items()
        )
        if self.problems:
            log.warning("%s (leases use the database's clock; fix the host's time sync)", message)
        with self.sessions.begin() as session:
            queries.record_event(
                session,
                "clock_check",
                message,
                now=self.clock(),
                account=self.account,
                level="warning" if self.problems else "info",
                data=data,
            )


def describe(offset: timedelta) -> str:
    """``12.3 s ahead of`` / ``0.1 s behind`` (the source's name follows)."""
    seconds = offset.total_seconds()
    return f"{abs(seconds):.1f} s {'ahead of' if seconds >= 0 else 'behind'}"


def _seconds(offset: timedelta | None) -> float | None:
    return None if offset is None else round(offset.total_seconds(), 3)
