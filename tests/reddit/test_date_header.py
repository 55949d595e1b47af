"""The sandbox sends a real ``Date`` header, as Reddit does, on its own clock."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from redditbot.config import RedditSettings
from redditbot.reddit.gateway import PrawGateway
from redditbot.reddit.sandbox import DEMO_BOT, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD
from tests.promise import unavailable
from tests.reddit.test_conformance import CASSETTE_FILES

IMF_FIXDATE = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")


def cassette_dates() -> list[str]:
    """Reddit's own Date headers, read from the recorded cassettes at run time."""
    dates = []
    for path in CASSETTE_FILES:
        for interaction in json.loads(path.read_text()).get("interactions", []):
            headers = interaction.get("response", {}).get("headers", {})
            dates += [v for k, values in headers.items() if k.lower() == "date" for v in values]
    return dates


def test_reddit_sends_the_format_the_sandbox_sends() -> None:
    reddit_dates = cassette_dates()
    if not reddit_dates:
        unavailable("no Reddit cassettes with Date headers to compare the format with")
    assert all(IMF_FIXDATE.match(d) for d in reddit_dates)


def test_every_answer_carries_the_sandbox_clock(sandbox_server, sandbox_clock) -> None:
    sandbox_clock.advance(3600.4)
    for answer in (requests.get(sandbox_server.url), requests.get(f"{sandbox_server.url}/r/x")):
        date = answer.headers["Date"]
        assert IMF_FIXDATE.match(date), date
        assert parsedate_to_datetime(date).timestamp() == int(sandbox_clock())


def test_the_gateway_reads_reddits_clock(sandbox_server, sandbox_clock) -> None:
    settings = RedditSettings(
        client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET, username=DEMO_BOT,
        password=DEMO_PASSWORD, user_agent="test:redditbot:0.1 (by /u/redditbot)",
        oauth_url=sandbox_server.url, reddit_url=sandbox_server.url,
        short_url=sandbox_server.url,
    )  # fmt: skip
    assert PrawGateway(settings).server_time() == datetime.fromtimestamp(int(sandbox_clock()), UTC)
