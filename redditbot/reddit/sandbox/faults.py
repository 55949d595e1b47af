"""Scriptable failures: the sandbox answers the next matching requests badly on purpose.

A fault matches on path prefix (and optionally method and account) and fires ``times`` times.
It can answer with an HTTP status (5xx, 429 with ``retry-after``), an API error inside HTTP 200
(``RATELIMIT``, ``THREAD_LOCKED``, ...), drop the connection, delay the answer, or let the write
happen first and then fail (``after_write``: the "created, but the response was lost" hazard).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

API_ERROR_MESSAGES = {
    "RATELIMIT": (
        "Looks like you've been doing that a lot. Take a break for {wait} before trying again.",
        "ratelimit",
    ),  # noqa: E501
    "THREAD_LOCKED": ("Comments are locked.", "parent"),
    "DELETED_COMMENT": ("that comment has been deleted", "parent"),
    "DELETED_LINK": ("the link you are commenting on has been deleted", "parent"),
    "TOO_OLD": ("that's a piece of history now; it's too late to reply to it", "parent"),
    "TOO_MANY_COMMENTS": ("The number of comments allowed on this link has been exceeded", "text"),
    "USER_REQUIRED": ("Please log in to do that.", None),
    "SUBREDDIT_NOTALLOWED": ("you aren't allowed to post there.", "sr"),
    "SUBREDDIT_NOEXIST": ("that subreddit doesn't exist", "sr"),
    "NO_SELFS": ("This community doesn't allow text posts.", "sr"),
    "TOO_LONG": ("this is too long (max: 300)", "title"),
    "SUBMIT_VALIDATION_FLAIR_REQUIRED": ("Your post must contain post flair.", "flair"),
    "SUBMIT_VALIDATION_TITLE_REQUIREMENT": (
        "Your post title doesn't meet the requirements.",
        "title",
    ),
    "SUBMIT_VALIDATION_BODY_BLACKLISTED_STRING": (
        "Your post body contains a banned string.",
        "text",
    ),
}


@dataclass(frozen=True)
class Fault:
    """One scripted failure. Exactly one of status, api_error, drop (or only a delay) applies.

    ``after_write`` makes the sandbox perform the write before failing, so a retried POST
    creates a second comment, as on real Reddit.
    """

    path_prefix: str
    method: str | None = None
    account: str | None = None
    times: int = 1
    status: int | None = None
    retry_after: int | None = None
    api_error: str | None = None
    ratelimit_seconds: float = 540.0
    drop: bool = False
    delay: float = 0.0
    after_write: bool = False

    def matches(self, method: str, path: str, account: str | None) -> bool:
        if not path.startswith(self.path_prefix):
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return self.account is None or (account or "").lower() == self.account.lower()


@dataclass
class FaultPlan:
    """The server's pending faults; thread-safe. ``server.faults.add(...)`` appends one."""

    _pending: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    fired: list[tuple[Fault, str]] = field(default_factory=list)

    def add(self, path_prefix: str = "/", **options: object) -> Fault:
        """Schedule a fault; see :class:`Fault` for the options."""
        fault = Fault(path_prefix=path_prefix, **options)  # type: ignore[arg-type]
        if fault.api_error and fault.api_error not in API_ERROR_MESSAGES:
            raise ValueError(f"unknown API error {fault.api_error!r}")
        with self._lock:
            self._pending.append(fault)
        return fault

    def take(self, method: str, path: str, account: str | None) -> Fault | None:
        """The first fault matching this request, counting one use of it."""
        with self._lock:
            for index, fault in enumerate(self._pending):
                if fault.matches(method, path, account):
                    self._consume(index, fault)
                    self.fired.append((fault, path))
                    return fault
        return None

    def _consume(self, index: int, fault: Fault) -> None:
        if fault.times <= 1:
            del self._pending[index]
        else:
            self._pending[index] = replace(fault, times=fault.times - 1)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._pending)


def api_error_body(code: str, ratelimit_seconds: float = 540.0) -> dict[str, object]:
    """The HTTP 200 body Reddit sends for an API error such as THREAD_LOCKED."""
    message, fieldname = API_ERROR_MESSAGES[code]
    body: dict[str, object] = {}
    if code == "RATELIMIT":
        message = message.format(wait=_wait_words(ratelimit_seconds))
        body["ratelimit"] = ratelimit_seconds
    body["errors"] = [[code, message, fieldname]]
    return {"json": body}


def _wait_words(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, int(seconds))} seconds"
    return f"{int(seconds // 60)} minutes"
