"""/healthz, /readyz and the server's behaviour when the store is down, over real HTTP."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy.orm import Session, sessionmaker

from redditbot.observability.server import ObservabilityServer
from redditbot.store.engine import make_engine, session_factory
from tests.observability.conftest import FakeHealth, get

DOWN_URLS = {
    "sqlite": "sqlite:////nonexistent-dir-for-redditbot-tests/bot.db",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/nothing",  # nothing listens on 1
}


@pytest.fixture(params=sorted(DOWN_URLS))
def down_sessions(request: pytest.FixtureRequest):
    """Sessions on a database that cannot be reached."""
    engine = make_engine(DOWN_URLS[request.param])
    yield session_factory(engine)
    engine.dispose()


def test_healthz_follows_the_main_loop(sqlite_sessions, serve, health: FakeHealth) -> None:
    url = serve(sqlite_sessions, health).url

    assert (get(f"{url}/healthz").status, get(f"{url}/healthz").body) == (200, "ok\n")
    health.is_alive = False
    reply = get(f"{url}/healthz")
    assert reply.status == 503
    assert reply.body.startswith("not alive")


def test_readyz_ready(sqlite_sessions, serve, health) -> None:
    reply = get(f"{serve(sqlite_sessions, health).url}/readyz")

    assert (reply.status, reply.body) == (200, "ready\n")


def test_readyz_not_ready_while_draining(sqlite_sessions, serve, health) -> None:
    health.draining = True
    reply = get(f"{serve(sqlite_sessions, health).url}/readyz")

    assert (reply.status, reply.body) == (503, "not ready: draining\n")


def test_readyz_gives_the_sources_reasons(sqlite_sessions, serve, health) -> None:
    health.not_ready = ["not started", "model not loaded"]
    reply = get(f"{serve(sqlite_sessions, health).url}/readyz")

    assert (reply.status, reply.body) == (503, "not ready: not started; model not loaded\n")


def test_database_down(down_sessions, serve, health) -> None:
    url = serve(down_sessions, health).url

    ready = get(f"{url}/readyz")
    assert ready.status == 503
    assert ready.body.startswith("not ready: database down: OperationalError: ")
    assert ready.body.count("\n") == 1
    metrics = get(f"{url}/metrics")
    assert metrics.status == 500
    assert metrics.body.startswith("store unavailable: OperationalError: ")
    assert metrics.body.count("\n") == 1
    assert get(f"{url}/healthz").status == 200  # the server goes on serving


def test_a_failing_source_answers_500_and_the_server_goes_on(sqlite_sessions, serve) -> None:
    class Broken(FakeHealth):
        def stage_stats(self) -> dict[str, dict[str, int]]:
            raise RuntimeError("scheduler gone")

    url = serve(sqlite_sessions, Broken()).url

    reply = get(f"{url}/metrics")
    assert (reply.status, reply.body) == (500, "error: RuntimeError: scheduler gone\n")
    assert get(f"{url}/readyz").status == 200


def test_unknown_path_is_404(sqlite_sessions, serve, health) -> None:
    assert get(f"{serve(sqlite_sessions, health).url}/admin").status == 404


def test_query_string_is_ignored(sqlite_sessions, serve, health) -> None:
    assert get(f"{serve(sqlite_sessions, health).url}/healthz?verbose=1").status == 200


def test_port_zero_binds_a_free_port_and_stop_releases_it(
    sqlite_sessions: sessionmaker[Session], health
) -> None:
    server = ObservabilityServer("127.0.0.1", 0, sqlite_sessions, health)
    server.start()
    port = server.port
    assert port > 0
    assert server.url == f"http://127.0.0.1:{port}"
    assert get(f"{server.url}/healthz").status == 200
    server.stop()
    server.stop()  # twice is harmless
    with pytest.raises(ConnectionRefusedError), socket.socket() as probe:
        probe.connect(("127.0.0.1", port))  # nobody listens any more


def test_port_in_use_raises_on_start(sqlite_sessions, health) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = ObservabilityServer("127.0.0.1", taken.getsockname()[1], sqlite_sessions, health)
        with pytest.raises(OSError):
            server.start()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_host(sqlite_sessions, serve, health) -> None:
    server = ObservabilityServer("::1", 0, sqlite_sessions, health)
    server.start()
    try:
        assert server.url.startswith("http://[::1]:")
        assert get(f"{server.url}/healthz").status == 200
    finally:
        server.stop()
