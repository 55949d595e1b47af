"""A small HTTP server for probes and scrapes: ``/healthz``, ``/readyz``, ``/metrics``.

It runs on a background thread (stdlib ``ThreadingHTTPServer``) beside the scheduler. No
request can take it down: a failing query answers 500 (``/metrics``) or 503 (``/readyz``)
with a one-line reason, and the next request is served as usual.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from redditbot.domain import Clock, utcnow
from redditbot.observability.exposition import (
    CONTENT_TYPE,
    ProcessStateCollector,
    build_registry,
    render,
)
from redditbot.observability.health import BotHealth, FleetHealth, HealthSource, generator_ready
from redditbot.observability.settings import ObservabilitySettings
from redditbot.observability.store_metrics import StoreCollector

log = logging.getLogger(__name__)

Response = tuple[HTTPStatus, str, str]  # status, content type, body
PLAIN = "text/plain; charset=utf-8"


class Endpoints:
    """The three answers, independent of HTTP (easy to call from a test or a CLI)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        source: HealthSource,
        clock: Clock,
        *,
        store_metrics: bool = True,
    ) -> None:
        self.sessions, self.source, self.clock = sessions, source, clock
        store = [StoreCollector(sessions, clock)] if store_metrics else []
        self.registry = build_registry(ProcessStateCollector(source), *store)

    def healthz(self) -> Response:
        if self.source.alive():
            return HTTPStatus.OK, PLAIN, "ok\n"
        return HTTPStatus.SERVICE_UNAVAILABLE, PLAIN, "not alive: no stage ran recently\n"

    def readyz(self) -> Response:
        ready, reasons = self.source.ready()
        if self.source.draining and "draining" not in reasons:
            reasons = [*reasons, "draining"]
        database = self.database_problem()
        if database:
            reasons = [*reasons, database]
        if ready and not reasons:
            return HTTPStatus.OK, PLAIN, "ready\n"
        return HTTPStatus.SERVICE_UNAVAILABLE, PLAIN, f"not ready: {'; '.join(reasons)}\n"

    def database_problem(self) -> str | None:
        """None when ``SELECT 1`` works, else why not (one line)."""
        try:
            with self.sessions() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return f"database down: {one_line(exc)}"
        return None

    def metrics(self) -> Response:
        try:
            body = render(self.registry)
        except SQLAlchemyError as exc:
            log.warning("metrics scrape failed: %s", one_line(exc))
            return HTTPStatus.INTERNAL_SERVER_ERROR, PLAIN, f"store unavailable: {one_line(exc)}\n"
        return HTTPStatus.OK, CONTENT_TYPE, body


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (drivers add SQL and links below it)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0] if lines else ''}"[:300]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        route = self.server.routes.get(self.path.split("?", 1)[0])
        if route is None:
            return self._send((HTTPStatus.NOT_FOUND, PLAIN, "not found\n"))
        try:
            response = route()
        except Exception as exc:  # the one place a request's failure ends; the server goes on
            log.exception("%s failed", self.path)
            response = (HTTPStatus.INTERNAL_SERVER_ERROR, PLAIN, f"error: {one_line(exc)}\n")
        return self._send(response)

    def _send(self, response: Response) -> None:
        status, content_type, body = response
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], routes: dict[str, Callable[[], Response]]):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.routes = routes


class ObservabilityServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``host:port`` (0: any free port)."""

    def __init__(
        self,
        host: str,
        port: int,
        sessions: sessionmaker[Session],
        source: HealthSource,
        *,
        clock: Clock = utcnow,
        store_metrics: bool = True,
    ) -> None:
        self.host, self.port = host, port
        self.endpoints = Endpoints(sessions, source, clock, store_metrics=store_metrics)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where it listens, e.g. ``http://127.0.0.1:9108`` (the real port once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Bind and serve on a daemon thread; an address in use raises ``OSError`` here."""
        e = self.endpoints
        routes = {"/healthz": e.healthz, "/readyz": e.readyz, "/metrics": e.metrics}
        self._server = _Server((self.host, self.port), routes)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="observability",
            daemon=True,
        )
        self._thread.start()
        log.info("observability endpoints on %s", self.url)

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None


def _model_ready(bot: Any) -> bool:
    """A process that does not run ``generate`` needs no model to be ready."""
    if not bot.started:
        return False
    return "generate" not in bot.running_stages or generator_ready(bot.generator)


def start_for_bot(bot: Any, settings: ObservabilitySettings) -> ObservabilityServer | None:
    """Serve the endpoints of a ``redditbot.app.Bot`` when ``settings.enabled``; else None.

    Start it before ``bot.start()`` (so /readyz says "not started" while the bot prepares) and
    stop it after ``bot.stop()`` (so /readyz says "draining" during the grace period).
    """
    return start_for_fleet([bot], settings)


def start_for_fleet(
    bots: Sequence[Any], settings: ObservabilitySettings
) -> ObservabilityServer | None:
    """The same for every account's Bot of a ``redditbot.app.Fleet`` (they share one store)."""
    if not settings.enabled:
        return None
    # bot.generator exists once the bot has started (its stages are built then); asking for it
    # earlier, from this thread, could build a second generator beside the bot's own.
    source = FleetHealth({bot.account: _health(bot) for bot in bots})  # one: as that bot's own
    server = ObservabilityServer(
        settings.host, settings.port, bots[0].sessions, source, store_metrics=settings.store_metrics
    )
    server.start()
    return server


def _health(bot: Any) -> BotHealth:
    return BotHealth(bot, model_ready=lambda: _model_ready(bot))
