"""The [web] settings and the uvicorn server: off by default, localhost, a password required
and never shown; started beside the daemon and stopped with it."""

from __future__ import annotations

import logging

import httpx
import pytest

from redditbot.config import Settings, load_settings
from redditbot.errors import ConfigError
from redditbot.logs import secret_values
from redditbot.store.engine import make_engine, session_factory
from redditbot.web.server import start_if_enabled
from tests.web.conftest import PASSWORD


def test_off_by_default_on_localhost() -> None:
    web = Settings().web
    assert (web.enabled, web.host, web.secure_cookies) == (False, "127.0.0.1", False)
    assert start_if_enabled(Settings(), sessions=None) is None


@pytest.mark.parametrize("password", ["", "tiny-s3cret"])
def test_enabled_needs_a_long_password_and_the_error_hides_it(tmp_path, password) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(f'[web]\nenabled = true\npassword = "{password}"\n')
    with pytest.raises(ConfigError, match=r"web\.password") as caught:
        load_settings(path)
    assert "bot.toml:3" in str(caught.value)
    if password:
        assert password not in str(caught.value)


def test_the_password_comes_from_the_secrets_file_or_env(tmp_path, monkeypatch) -> None:
    (tmp_path / "bot.toml").write_text("[web]\nenabled = true\n")
    (tmp_path / "secrets.toml").write_text(f'[web]\npassword = "{PASSWORD}"\n')
    settings = load_settings(tmp_path / "bot.toml", secrets_path=tmp_path / "secrets.toml")
    assert settings.web.password.get_secret_value() == PASSWORD
    assert PASSWORD in secret_values(settings)  # masked in every log line
    monkeypatch.setenv("REDDITBOT_WEB__PASSWORD", "from-the-environment-1234")
    settings = load_settings(tmp_path / "bot.toml")
    assert settings.web.password.get_secret_value() == "from-the-environment-1234"


def test_started_beside_the_daemon_and_stopped_with_it(db_url, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    settings = Settings(database={"url": db_url},
                        web={"enabled": True, "port": 0, "password": PASSWORD})  # fmt: skip
    engine = make_engine(db_url)
    server = start_if_enabled(settings, session_factory(engine))
    try:
        assert server.url.startswith("http://127.0.0.1:") and not server.url.endswith(":0")
        login = httpx.get(f"{server.url}/login", timeout=10)
        assert login.status_code == 200 and "Log in" in login.text
        assert "default-src 'none'" in login.headers["content-security-policy"]
        assert "server" not in login.headers  # no version banner
        token = login.text.split('name="csrf" value="')[1].split('"')[0]
        answer = httpx.post(
            f"{server.url}/login",
            cookies=login.cookies,
            timeout=10,
            data={"csrf": token, "name": "alice", "password": PASSWORD},
        )
        assert answer.status_code == 303
    finally:
        server.stop()
        engine.dispose()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/login", timeout=2)
    assert PASSWORD not in caplog.text


def test_the_demo_prints_the_address_of_the_pages_when_enabled(sqlite_empty_url) -> None:
    import io

    from redditbot.demo import demo_settings, start_pages
    from redditbot.store import migrate

    migrate.upgrade(sqlite_empty_url)
    mine = Settings(web={"enabled": True, "port": 0, "password": PASSWORD})
    settings = demo_settings(mine, "http://sandbox", sqlite_empty_url)
    assert settings.web == mine.web
    engine = make_engine(sqlite_empty_url)
    out = io.StringIO()
    server = start_pages(settings, session_factory(engine), out)
    try:
        assert f"review pages on {server.url}" in out.getvalue()
        assert httpx.get(f"{server.url}/login", timeout=10).status_code == 200
    finally:
        server.stop()
        engine.dispose()
    quiet = io.StringIO()
    assert start_pages(demo_settings(None, "http://s", sqlite_empty_url), None, quiet) is None
    assert quiet.getvalue() == ""
