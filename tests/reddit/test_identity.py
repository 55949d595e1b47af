"""Identity: a truthful user agent by default, refresh-token auth, praw.ini sites; over real PRAW
and HTTP against the sandbox."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest

from redditbot import __version__
from redditbot.cli import main
from redditbot.config import RedditSettings, Settings, load_settings
from redditbot.errors import ConfigError
from redditbot.logs import RedactSecrets, secret_values
from redditbot.reddit.gateway import PrawGateway
from redditbot.reddit.sandbox import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    SandboxServer,
)

SITE_SECRET = "site-secret-5f3a9"
SITE_PASSWORD = DEMO_PASSWORD


def endpoints(server: SandboxServer) -> dict[str, object]:
    return {"oauth_url": server.url, "reddit_url": server.url, "short_url": server.url,
            "ratelimit_seconds": 0}  # fmt: skip


def agents(server: SandboxServer) -> set[str]:
    return server.user_agents.clients("ua")


def test_the_user_agent_is_built_from_the_version_and_the_operator(sandbox_server) -> None:
    settings = RedditSettings(client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET,
                              username=DEMO_BOT, password=DEMO_PASSWORD, owner="u/operator",
                              **endpoints(sandbox_server))  # fmt: skip
    expected = f"{sys.platform}:redditbot:{__version__} (by /u/operator)"
    assert settings.agent() == expected
    assert PrawGateway(settings).me() == DEMO_BOT
    assert agents(sandbox_server) and all(
        a.startswith(expected + " PRAW/") for a in agents(sandbox_server)
    )
    assert RedditSettings(username="bot").agent().endswith("(by /u/bot)")
    assert RedditSettings(username="bot", user_agent="mine:1").agent() == "mine:1"


def test_a_refresh_token_logs_in_without_a_password(sandbox_server) -> None:
    token = sandbox_server.issue_refresh_token(DEMO_CLIENT_ID, DEMO_BOT)
    settings = RedditSettings(client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET,
                              username=DEMO_BOT, refresh_token=token,
                              **endpoints(sandbox_server))  # fmt: skip
    assert PrawGateway(settings).me() == DEMO_BOT
    Settings(reddit=settings).require_reddit_credentials()  # no password needed


def test_an_installed_app_has_no_secret(sandbox_server) -> None:
    sandbox_server.add_app("installed-app", "")
    token = sandbox_server.issue_refresh_token("installed-app", DEMO_BOT)
    settings = RedditSettings(client_id="installed-app", username=DEMO_BOT, refresh_token=token,
                              **endpoints(sandbox_server))  # fmt: skip
    assert PrawGateway(settings).me() == DEMO_BOT


def test_without_password_or_refresh_token_start_up_is_refused() -> None:
    settings = Settings(reddit={"client_id": "x", "client_secret": "y", "username": "bot"})
    with pytest.raises(ConfigError, match="reddit.password is empty"):
        settings.require_reddit_credentials()


@pytest.fixture
def praw_ini(tmp_path: Path, monkeypatch) -> Path:
    """A praw.ini in the user's config directory with a site for the demo bot."""
    home = tmp_path / "config"
    home.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("APPDATA", raising=False)
    monkeypatch.chdir(tmp_path)
    path = home / "praw.ini"
    path.write_text(
        f"[bot1]\nclient_id = {DEMO_CLIENT_ID}\nclient_secret = {DEMO_CLIENT_SECRET}\n"
        f"username = {DEMO_BOT}\npassword = {SITE_PASSWORD}\n"
        f"[other]\nclient_id = x\nclient_secret = {SITE_SECRET}\n"
    )
    return path


def test_a_praw_ini_site_holds_the_credentials(sandbox_server, praw_ini, tmp_path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        f'[reddit]\nsite = "bot1"\noauth_url = "{sandbox_server.url}"\n'
        f'reddit_url = "{sandbox_server.url}"\nshort_url = "{sandbox_server.url}"\n'
    )
    settings = load_settings(config)
    assert (settings.reddit.username, settings.reddit.client_id) == (DEMO_BOT, DEMO_CLIENT_ID)
    settings.require_reddit_credentials()
    assert PrawGateway(settings.reddit).me() == DEMO_BOT
    # bot.toml's own values win over the site's
    config.write_text('[reddit]\nsite = "bot1"\nusername = "someone_else"\n')
    assert load_settings(config).reddit.username == "someone_else"


def test_secrets_from_a_praw_ini_site_are_masked(praw_ini, tmp_path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('dry_run = true\n[reddit]\nsite = "other"\n')
    settings = load_settings(config)
    assert SITE_SECRET in secret_values(settings)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, f"token {SITE_SECRET}", (), None)
    RedactSecrets(secret_values(settings)).filter(record)
    assert SITE_SECRET not in record.getMessage()
    out, err = io.StringIO(), io.StringIO()
    assert main(["--config", str(config), "config", "check", "--offline"], out=out, err=err) == 0
    assert SITE_SECRET not in out.getvalue() + err.getvalue()


def test_an_unknown_site_names_the_key_and_the_files(praw_ini, tmp_path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('[reddit]\nsite = "nope"\n')
    with pytest.raises(
        ConfigError, match=r"bot.toml:2: reddit.site = 'nope': .*no \[nope\] site in praw.ini"
    ):
        load_settings(config)
