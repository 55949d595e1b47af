"""The sandbox Reddit HTTP server: token endpoint and OAuth API on one local port.

Plain ``http.server`` on 127.0.0.1. Each request passes, in order: token check (401 with
``www-authenticate`` like Reddit), request budget (429 when exhausted), scripted faults, then
the endpoint. Every response to an API request carries ``x-ratelimit-*`` headers.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from redditbot.reddit.sandbox.api import JSON_TYPE, Answer, Api, Request, TreeOptions
from redditbot.reddit.sandbox.faults import Fault, FaultPlan, api_error_body
from redditbot.reddit.sandbox.oauth import OAuthState, Token
from redditbot.reddit.sandbox.world import Clock, World

TOKEN_PATH = "/api/v1/access_token"
INVALID_TOKEN = 'Bearer realm="reddit", error="invalid_token"'
HTML_TYPE = "text/html; charset=UTF-8"
TOO_MANY_REQUESTS_HTML = b"""<!doctype html>
<html>
  <head>
    <title>Too Many Requests</title>
  </head>
  <body>
    <h1>whoa there, pardner!</h1>
    <p>we're sorry, but you appear to be a bot and we've seen too many requests
    from you lately. we enforce a hard speed limit on requests that appear to come
    from bots to prevent abuse.</p>
  </body>
</html>
"""


@dataclass(frozen=True)
class WriteRecord:
    """One write request as the sandbox saw it (kept in ``server.writes``)."""

    method: str
    path: str
    form: dict[str, str]
    account: str | None
    client_id: str | None
    outcome: str  # "created", "deleted", "marked_read", "error:THREAD_LOCKED", "fault:503", ...
    created: str | None  # fullname of the comment created, if any
    at: float


class WriteLog:
    """Thread-safe, append-only list of :class:`WriteRecord`."""

    def __init__(self) -> None:
        self._records: list[WriteRecord] = []
        self._lock = threading.Lock()

    def append(self, record: WriteRecord) -> None:
        with self._lock:
            self._records.append(record)

    def __iter__(self):
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> WriteRecord:
        return self.records[index]

    @property
    def records(self) -> list[WriteRecord]:
        with self._lock:
            return list(self._records)

    def created(self) -> list[str]:
        """Fullnames of every comment created through the API, in order."""
        return [r.created for r in self.records if r.created]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


class RequestCounter:
    """Thread-safe count of every HTTP request the server received, by OAuth client and kind.

    ``kind`` is ``"token"`` (the token endpoint) or ``"api"``; the client is the app's
    client_id (from Basic auth or from the bearer token), ``""`` when it cannot be told.
    """

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, client_id: str, kind: str) -> None:
        with self._lock:
            self._counts[(client_id, kind)] += 1

    def count(self, client_id: str | None = None, kind: str | None = None) -> int:
        """Requests from ``client_id`` of ``kind`` (None: any client / any kind)."""
        with self._lock:
            return sum(
                n
                for (client, seen_kind), n in self._counts.items()
                if client_id in (None, client) and kind in (None, seen_kind)
            )

    def clients(self, kind: str | None = None) -> set[str]:
        """Every client (or, for ``user_agents``, every agent) seen with ``kind``."""
        with self._lock:
            return {client for client, seen in self._counts if kind in (None, seen)}

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


class SandboxServer:
    """A fake Reddit on ``http://host:port`` serving ``world``.

    ``clock`` (default: the world's clock) times token expiry and the rate-limit window.
    ``token_lifetime_s`` is the ``expires_in`` of issued tokens; ``ratelimit_budget`` the
    requests allowed per client per 600 s window (huge by default, so tests never wait).
    ``requests`` counts every request received (benchmarks compare clients with it).
    """

    def __init__(
        self,
        world: World,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        *,
        token_lifetime_s: int = 86400,
        ratelimit_budget: int = 1_000_000_000,
        tree: TreeOptions | None = None,
    ) -> None:
        self.world = world
        self.clock: Clock = clock or world.clock
        self.oauth = OAuthState(self.clock, token_lifetime_s, ratelimit_budget)
        self.faults = FaultPlan()
        self.writes = WriteLog()
        self.requests = RequestCounter()
        self.user_agents = RequestCounter()  # every User-Agent seen, counted (kind: "ua")
        self.api = Api(world, tree)
        self._httpd = ThreadingHTTPServer((host, port), _handler_class(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add_app(self, client_id: str, client_secret: str) -> None:
        """Register an OAuth app whose credentials the token endpoint accepts."""
        self.oauth.add_app(client_id, client_secret)

    def issue_refresh_token(self, client_id: str, user: str, scope: str = "*") -> str:
        """A refresh token for ``user``, for clients that use the refresh_token grant."""
        return self.oauth.issue_refresh_token(client_id, user, scope)

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name="sandbox-reddit",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def praw_kwargs(self, client_id: str, client_secret: str, username: str, password: str) -> dict:
        """Keyword arguments for ``praw.Reddit(...)`` that point PRAW at this server."""
        return {
            "client_id": client_id,
            "client_secret": client_secret,
            "username": username,
            "password": password,
            "user_agent": "sandbox:redditbot:0.1 (by /u/redditbot)",
            "oauth_url": self.url,
            "reddit_url": self.url,
            "short_url": self.url,
            "check_for_updates": False,
        }

    # ------------------------------------------------------------------ token endpoint

    def token_answer(self, headers: Any, form: dict[str, str]) -> Answer:
        """POST /api/v1/access_token: password, refresh_token and client_credentials grants."""
        client = _basic_auth(headers.get("Authorization", ""))
        if client is None or not self.oauth.app_ok(*client):
            return Answer(401, {"message": "Unauthorized", "error": 401})
        grant = form.get("grant_type")
        if grant == "password":
            return self._password_grant(client[0], form)
        if grant == "refresh_token":
            return self._refresh_grant(client[0], form)
        if grant == "client_credentials":
            return self._token_payload(self.oauth.issue(client[0], None))
        return Answer(200, {"error": "unsupported_grant_type"})

    def _password_grant(self, client_id: str, form: dict[str, str]) -> Answer:
        user = self.world.user(form.get("username", ""))
        if user is None or user.password != form.get("password"):
            return Answer(200, {"error": "invalid_grant"}, outcome="invalid_grant")
        return self._token_payload(self.oauth.issue(client_id, user.name))

    def _refresh_grant(self, client_id: str, form: dict[str, str]) -> Answer:
        grant = self.oauth.redeem_refresh_token(client_id, form.get("refresh_token", ""))
        if grant is None:
            return Answer(200, {"error": "invalid_grant"}, outcome="invalid_grant")
        token = self.oauth.issue(client_id, grant[0], grant[1])
        return self._token_payload(token, refresh_token=form["refresh_token"])

    def _token_payload(self, token: Token, refresh_token: str | None = None) -> Answer:
        payload: dict[str, Any] = {
            "access_token": token.value,
            "token_type": "bearer",
            "expires_in": self.oauth.token_lifetime_s,
            "scope": token.scope,
        }
        if refresh_token:
            payload["refresh_token"] = refresh_token
        return Answer(200, payload, outcome="token")


def _basic_auth(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:]).decode()
    except ValueError:
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _bearer(header: str) -> str:
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def _handler_class(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_SandboxHandler):
        sandbox = server

    return Handler


class _SandboxHandler(BaseHTTPRequestHandler):
    """Parses HTTP, applies auth, budget and faults, and sends the endpoint's answer."""

    sandbox: SandboxServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out separately: avoid 40 ms stalls
    server_version = "snooserv"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence the default stderr access log."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Every answer's ``Date`` header, as Reddit sends it, on the sandbox's clock (the one
        that stamps ``created_utc``): a bot compares its own clock with it."""
        return formatdate(self.sandbox.clock() if timestamp is None else timestamp, usegmt=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        form = self._read_form()
        self.sandbox.user_agents.add(self.headers.get("User-Agent", ""), "ua")
        if url.path.rstrip("/") == TOKEN_PATH:
            client = _basic_auth(self.headers.get("Authorization", ""))
            self.sandbox.requests.add(client[0] if client else "", "token")
            fault = self.sandbox.faults.take(self.command, url.path, None)
            if fault and fault.drop:
                self._drop()
                return
            self._send(_token_fault_answer(fault) or self.sandbox.token_answer(self.headers, form))
            return
        request = Request(self.command, url.path, dict(parse_qsl(url.query)), form, None)
        self._serve_api(request)

    def _read_form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        return dict(parse_qsl(raw, keep_blank_values=True))

    def _serve_api(self, request: Request) -> None:
        sandbox = self.sandbox
        token = sandbox.oauth.valid_token(_bearer(self.headers.get("Authorization", "")))
        sandbox.requests.add(token.client_id if token else "", "api")
        if token is None:
            self._send(Answer(401, {"error": 401}, headers={"www-authenticate": INVALID_TOKEN}))
            return
        request.token = token
        remaining, used, reset = sandbox.oauth.count_request(token.client_id)
        limits = {
            "x-ratelimit-remaining": f"{remaining:.1f}",
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(reset),
        }
        if used > sandbox.oauth.ratelimit_budget:
            self._send(_too_many(reset), limits)
            return
        fault = sandbox.faults.take(request.method, request.path, token.user)
        self._answer_with_fault(request, fault, limits) if fault else self._answer(request, limits)

    def _answer(self, request: Request, limits: dict[str, str]) -> None:
        answer = self.sandbox.api.handle(request)
        self._record(request, answer.outcome, answer.created)
        self._send(answer, limits)

    def _answer_with_fault(self, request: Request, fault: Fault, limits: dict[str, str]) -> None:
        if fault.delay:
            time.sleep(fault.delay)  # a slow Reddit: real time on purpose, tests keep it tiny
        replacement = _fault_answer(fault)
        if replacement is None and not fault.drop:
            self._answer(request, limits)  # a delay only
            return
        created = self.sandbox.api.handle(request).created if fault.after_write else None
        self._record(request, f"fault:{_fault_name(fault)}", created)
        if replacement is None:
            self._drop()
        else:
            self._send(replacement, limits if replacement.status != 429 else {})

    def _record(self, request: Request, outcome: str, created: str | None) -> None:
        if request.method != "POST":
            return
        form = dict(request.form)
        token = request.token
        self.sandbox.writes.append(
            WriteRecord(
                request.method,
                request.path,
                form,
                token.user if token else None,
                token.client_id if token else None,
                outcome,
                created,
                self.sandbox.clock(),
            )
        )

    def _drop(self) -> None:
        """Close the connection without a response, as a network failure would."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # already gone: nothing left to drop
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, answer: Answer, extra: dict[str, str] | None = None) -> None:
        body = answer.encode()
        self.send_response(answer.status)
        self.send_header("content-type", answer.content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in {**(extra or {}), **answer.headers}.items():
            self.send_header(name, value)
        if self.close_connection:  # the client asked (prawcore does for tokens): say so
            self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(body)


def _too_many(retry_after: int) -> Answer:
    headers = {"retry-after": str(retry_after)}
    return Answer(429, TOO_MANY_REQUESTS_HTML, HTML_TYPE, headers, outcome="fault:429")


def _fault_answer(fault: Fault) -> Answer | None:
    """The response a fault sends instead of the endpoint's, or None (delay only / drop)."""
    if fault.drop:
        return None
    if fault.api_error:
        return Answer(200, api_error_body(fault.api_error, fault.ratelimit_seconds))
    if fault.status == 429:
        return _too_many(fault.retry_after or 4)
    if fault.status:
        headers = {"cf-ray": "8f0c0ffee-LAX"} if fault.status >= 520 else {}
        return Answer(fault.status, b"", JSON_TYPE, headers)
    return None


def _token_fault_answer(fault: Fault | None) -> Answer | None:
    """Faults on the token endpoint: its 429 is JSON, unlike the API's HTML page."""
    if fault is None:
        return None
    if fault.status == 429:
        return Answer(429, {"message": "Too Many Requests", "error": 429})
    return _fault_answer(fault)


def _fault_name(fault: Fault) -> str:
    if fault.drop:
        return "dropped"
    return fault.api_error or str(fault.status)
