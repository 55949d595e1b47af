"""The pages' guards: login, CSRF tokens, and the security headers on every response.

- Login: one password (``[web] password``), compared in constant time; the session cookie is
  signed, HttpOnly, SameSite=Strict, and Secure with ``secure_cookies``.
- CSRF: a random token per session, in a hidden field of every form, checked on every POST.
- Headers: a Content-Security-Policy that allows no script at all (the pages need none), no
  framing, no sniffing, no referrer, no caching of pages that show held replies.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}

Endpoint = Callable[[Request], Awaitable[Response]]


class SecurityHeaders:
    """ASGI middleware: HEADERS on every response (pages, redirects, errors, static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in names
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        return await self.app(scope, receive, with_headers)


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison (of UTF-8 bytes, so any character is allowed)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, form: FormData) -> bool:
    """Whether the form carries this session's CSRF token."""
    expected, given = request.session.get("csrf"), form.get("csrf")
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def current_user(request: Request) -> str | None:
    """The logged-in operator's name, or None."""
    return request.session.get("user")


def login_required(endpoint: Endpoint) -> Endpoint:
    """Pages send a visitor without a login to the login page; writes answer 403."""

    @wraps(endpoint)
    async def guarded(*args: Any) -> Response:  # (request) or, on a method, (self, request)
        request = args[-1]
        if current_user(request) is None:
            if request.method != "GET":
                return PlainTextResponse("log in first\n", status_code=403)
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return await endpoint(*args)

    return guarded


def form_with_csrf(endpoint: Callable[..., Awaitable[Response]]) -> Endpoint:
    """Parse the form and refuse it (403) unless it carries the session's CSRF token; the
    endpoint gets the form as its last argument."""

    @wraps(endpoint)
    async def checked(*args: Any) -> Response:
        request = args[-1]
        form = await request.form()
        if not csrf_ok(request, form):
            return PlainTextResponse("CSRF token missing or wrong: reload the page\n", 403)
        return await endpoint(*args, form)

    return checked


def safe_next(value: Any) -> str:
    """Where to go after logging in: a local path only (no open redirect)."""
    if isinstance(value, str) and value.startswith("/") and value[1:2] not in ("/", "\\"):
        return value
    return "/review"
