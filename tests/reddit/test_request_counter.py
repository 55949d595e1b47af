"""The sandbox counts every request it receives, per OAuth client, tokens apart from the API."""

from __future__ import annotations

import praw
import requests

from redditbot.reddit.sandbox import DEMO_BOT, DEMO_PASSWORD, SandboxServer


def _reddit(server: SandboxServer, client_id: str) -> praw.Reddit:
    server.add_app(client_id, "secret")
    return praw.Reddit(**server.praw_kwargs(client_id, "secret", DEMO_BOT, DEMO_PASSWORD))


def test_requests_are_counted_per_client_and_kind(sandbox_server: SandboxServer) -> None:
    first, second = _reddit(sandbox_server, "first"), _reddit(sandbox_server, "second")
    list(first.subreddit("learnpython").new(limit=5))
    list(first.subreddit("learnpython").comments(limit=5))
    list(second.subreddit("learnpython").new(limit=5))
    counted = sandbox_server.requests
    assert (counted.count("first", "api"), counted.count("first", "token")) == (2, 1)
    assert (counted.count("second", "api"), counted.count("second")) == (1, 2)
    assert (counted.count(kind="api"), counted.count()) == (3, 5)
    counted.clear()
    assert counted.count() == 0


def test_requests_with_an_unknown_token_count_under_no_client(
    sandbox_server: SandboxServer,
) -> None:
    answer = requests.get(
        f"{sandbox_server.url}/api/v1/me", headers={"Authorization": "bearer nope"}, timeout=5
    )
    assert answer.status_code == 401
    assert sandbox_server.requests.count("", "api") == 1
