"""Serving the pages with uvicorn: in the foreground (``redditbot web``) or on a thread beside
the daemon (``[web] enabled`` in ``redditbot run``, started and stopped with it)."""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from redditbot.errors import ConfigError
from redditbot.web.settings import WebSettings

log = logging.getLogger(__name__)


class WebServer:
    """The pages on ``host:port`` (0: any free port). The socket is bound in ``start()``, so an
    address in use raises there, and the real port is known at once."""

    def __init__(self, app: Any, settings: WebSettings, *, host=None, port=None) -> None:
        import uvicorn

        self.host = host or settings.host
        self.port = settings.port if port is None else port
        # log_config=None: uvicorn logs through the process's logging (and its secret filter).
        config = uvicorn.Config(
            app,
            log_config=None,
            proxy_headers=True,
            server_header=False,
            forwarded_allow_ips=",".join(settings.trusted_proxies),
        )
        self._server = uvicorn.Server(config)
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where it listens, e.g. ``http://127.0.0.1:8080`` (the real port once bound)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def bind(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((self.host, self.port))
        self._socket.listen(64)
        self.port = self._socket.getsockname()[1]

    def start(self) -> None:
        """Bind, then serve on a daemon thread."""
        self.bind()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="web", daemon=True
        )
        self._thread.start()
        log.info("review pages on %s", self.url)

    def run_bound(self) -> None:
        """Serve in this thread, after ``bind()``, until SIGINT/SIGTERM (uvicorn handles them)."""
        self._server.run(sockets=[self._socket])

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the requests in flight and close the socket; safe to call twice."""
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._thread = self._socket = None


def build_server(settings: Any, sessions: sessionmaker[Session], **where: Any) -> WebServer:
    """The pages of ``settings`` (the whole Settings) over ``sessions``, not yet started."""
    try:
        from redditbot.web.app import create_app
    except ImportError as exc:
        raise ConfigError(
            f"the web pages need the web extra ({exc.name} is missing): "
            "pip install 'redditbot[web]'"
        ) from None

    app = create_app(sessions, settings.web, reddit_url=settings.reddit.reddit_url)
    return WebServer(app, settings.web, **where)


def start_if_enabled(settings: Any, sessions: sessionmaker[Session]) -> WebServer | None:
    """Start the pages beside the daemon when ``[web] enabled``; else None."""
    if not settings.web.enabled:
        return None
    server = build_server(settings, sessions)
    server.start()
    return server
