"""OAuth apps, access tokens and the per-client request budget, timed by the server's clock."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from redditbot.reddit.sandbox.world import Clock

RATELIMIT_WINDOW_S = 600


@dataclass(frozen=True)
class Token:
    """An access token: ``user`` is None for application-only (client_credentials) tokens."""

    value: str
    client_id: str
    user: str | None
    scope: str
    expires_at: float

    def allows(self, scope: str) -> bool:
        return self.scope == "*" or scope in self.scope.split()


@dataclass
class RateWindow:
    """Requests used by one client in the current 600 s window, reset at window boundaries."""

    window_index: int = -1
    used: int = 0


@dataclass
class OAuthState:
    """Registered apps, issued tokens and request budgets. Thread-safe."""

    clock: Clock
    token_lifetime_s: int = 86400
    ratelimit_budget: int = 1_000_000_000
    apps: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh_tokens: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    windows: dict[str, RateWindow] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_app(self, client_id: str, client_secret: str) -> None:
        with self._lock:
            self.apps[client_id] = client_secret

    def app_ok(self, client_id: str, client_secret: str) -> bool:
        with self._lock:
            return self.apps.get(client_id) == client_secret

    def issue(self, client_id: str, user: str | None, scope: str = "*") -> Token:
        """A fresh access token valid for ``token_lifetime_s`` of server time."""
        value = f"sbx-{secrets.token_urlsafe(18)}"
        token = Token(value, client_id, user, scope, self.clock() + self.token_lifetime_s)
        with self._lock:
            self.tokens[value] = token
        return token

    def issue_refresh_token(self, client_id: str, user: str, scope: str = "*") -> str:
        """A refresh token for ``user`` (what a web/installed app would hold)."""
        value = f"sbx-refresh-{secrets.token_urlsafe(18)}"
        with self._lock:
            self.refresh_tokens[value] = (client_id, user, scope)
        return value

    def redeem_refresh_token(self, client_id: str, value: str) -> tuple[str, str] | None:
        """(user, scope) of a refresh token issued to ``client_id``, else None."""
        with self._lock:
            grant = self.refresh_tokens.get(value)
        if grant is None or grant[0] != client_id:
            return None
        return grant[1], grant[2]

    def valid_token(self, value: str) -> Token | None:
        """The token if known and not expired by the server clock."""
        with self._lock:
            token = self.tokens.get(value)
        if token is None or self.clock() >= token.expires_at:
            return None
        return token

    def expire_all(self) -> None:
        """Make every issued access token expire now (as after a long pause)."""
        with self._lock:
            self.tokens.clear()

    def count_request(self, client_id: str) -> tuple[float, int, int]:
        """Count one request; returns (remaining, used, seconds to reset) after it."""
        now = self.clock()
        index = int(now // RATELIMIT_WINDOW_S)
        with self._lock:
            window = self.windows.setdefault(client_id, RateWindow())
            if window.window_index != index:
                window.window_index, window.used = index, 0
            window.used += 1
            used = window.used
        reset = RATELIMIT_WINDOW_S - int(now % RATELIMIT_WINDOW_S)
        return float(max(self.ratelimit_budget - used, 0)), used, reset
