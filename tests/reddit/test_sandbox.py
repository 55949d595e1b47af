"""The sandbox at the HTTP level, its world, corpus, activity generator and CLI."""

from __future__ import annotations

import argparse
import io
import json
import random
import time
from pathlib import Path

import praw
import pytest
import requests

from redditbot.cli.sandbox import add_serve_command, load_faults
from redditbot.errors import ConfigError
from redditbot.reddit.sandbox import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    ActivityGenerator,
    ManualClock,
    SandboxServer,
    World,
    load_corpus,
)
from redditbot.reddit.sandbox.corpus import CORPUS_FILE
from redditbot.reddit.sandbox.corpus.compose import compose


def _token(server: SandboxServer) -> dict[str, str]:
    answer = requests.post(
        f"{server.url}/api/v1/access_token",
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        data={"grant_type": "password", "username": DEMO_BOT, "password": DEMO_PASSWORD},
        timeout=5,
    ).json()
    return {"Authorization": f"bearer {answer['access_token']}"}


def _get(server: SandboxServer, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(f"{server.url}{path}", headers=headers, timeout=5)


# ---------------------------------------------------------------------- HTTP details


def test_limit_defaults_to_25_and_is_clamped(sandbox_server: SandboxServer) -> None:
    auth = _token(sandbox_server)

    def count(query: str) -> int:
        return len(
            _get(sandbox_server, f"/r/all/comments?{query}", auth).json()["data"]["children"]
        )

    assert (count(""), count("limit=500"), count("limit=0"), count("limit=7")) == (25, 100, 1, 7)


def test_ratelimit_headers_count_down_per_client(sandbox_server: SandboxServer) -> None:
    auth = _token(sandbox_server)
    first = _get(sandbox_server, "/api/v1/me", auth).headers
    second = _get(sandbox_server, "/api/v1/me", auth).headers
    assert first["x-ratelimit-used"] == "1" and second["x-ratelimit-used"] == "2"
    assert float(first["x-ratelimit-remaining"]) - float(second["x-ratelimit-remaining"]) == 1.0
    assert second["x-ratelimit-remaining"].endswith(".0")
    assert 0 < int(second["x-ratelimit-reset"]) <= 600  # an integer string: "2.0" crashes prawcore


def test_exhausted_budget_gives_429_until_the_window_resets(sandbox_world: World) -> None:
    clock = ManualClock(start=1_700_000_200.0)  # 200 s before a window boundary
    with SandboxServer(sandbox_world, clock=clock, ratelimit_budget=2) as server:
        server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        auth = _token(server)
        statuses = [_get(server, "/api/v1/me", auth).status_code for _ in range(3)]
        refused = _get(server, "/api/v1/me", auth)
        clock.advance(200)
        again = _get(server, "/api/v1/me", auth)
    assert statuses == [200, 200, 429]
    assert (
        refused.headers["retry-after"] == "200"
        and refused.headers["x-ratelimit-remaining"] == "0.0"
    )
    assert "text/html" in refused.headers["content-type"]
    assert (again.status_code, again.headers["x-ratelimit-used"]) == (200, "1")


def test_default_budget_adds_no_prawcore_pacing(sandbox_reddit: praw.Reddit) -> None:
    for _ in range(30):
        sandbox_reddit.user.me(use_cache=False)
    limiter = sandbox_reddit._core._rate_limiter
    waits_s = (limiter.next_request_timestamp_ns - time.monotonic_ns()) / 1e9
    assert waits_s < 0.01


def test_unknown_token_gets_401_with_www_authenticate(sandbox_server: SandboxServer) -> None:
    answer = _get(sandbox_server, "/api/v1/me", {"Authorization": "bearer nope"})
    assert answer.status_code == 401 and answer.json() == {"error": 401}
    assert answer.headers["www-authenticate"] == 'Bearer realm="reddit", error="invalid_token"'


def test_slow_response_fault_delays(sandbox_server: SandboxServer) -> None:
    auth = _token(sandbox_server)
    sandbox_server.faults.add("/api/v1/me", delay=0.2)
    started = time.monotonic()
    assert _get(sandbox_server, "/api/v1/me", auth).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_application_only_token_cannot_comment(sandbox_server: SandboxServer) -> None:
    token = requests.post(
        f"{sandbox_server.url}/api/v1/access_token",
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        data={"grant_type": "client_credentials"},
        timeout=5,
    ).json()["access_token"]
    answer = requests.post(
        f"{sandbox_server.url}/api/comment",
        headers={"Authorization": f"bearer {token}"},
        data={"thing_id": "t3_x", "text": "hi", "api_type": "json"},
        timeout=5,
    )
    assert answer.json()["json"]["errors"][0][0] == "USER_REQUIRED"


# ---------------------------------------------------------------------- corpus


def test_corpus_is_varied_and_deep() -> None:
    corpus = load_corpus()
    world = World.seeded(clock=ManualClock())
    depths = [c.depth for c in world.comments()]
    assert len(corpus.subreddits) >= 5
    assert len(corpus.threads) >= 35
    assert corpus.comment_count >= 300
    assert len(world.comments()) == corpus.comment_count
    assert max(depths) >= 10
    assert len({c.body for c in world.comments()}) >= 100
    assert world.inbox(DEMO_BOT), "the corpus mentions the demo bot"


def test_bundled_corpus_is_the_generators_output() -> None:
    bundled = json.loads(
        (Path(__file__).parents[2] / "redditbot/reddit/sandbox/corpus" / CORPUS_FILE).read_text()
    )
    assert bundled == compose(7)


def test_corpus_times_are_relative_to_the_clock() -> None:
    world = World.seeded(clock=ManualClock(start=2_000_000_000.0))
    newest = world.comments()[0]
    assert 2_000_000_000.0 - 10 * 86400 < newest.created_utc < 2_000_000_000.0
    assert all(c.created_utc >= world.get(c.link_id).created_utc for c in world.comments())


# ---------------------------------------------------------------------- activity


def _activity_log(seed: int) -> list[tuple[str, str, str]]:
    world = World.seeded(clock=ManualClock())
    activity = ActivityGenerator(
        world, threads_per_s=0.1, comments_per_s=2, mentions_per_s=0.2, rng=random.Random(seed)
    )
    for _ in range(5):
        activity.step(2.5)
    items = [world.get(f) for f in activity.created]
    return [(i.fullname, i.author, getattr(i, "body", getattr(i, "title", ""))) for i in items]


def test_activity_is_deterministic_under_a_seed() -> None:
    first, again, other = _activity_log(1), _activity_log(1), _activity_log(2)
    assert first == again
    assert first != other
    assert len(first) == 25 + 1 + 2  # rates x 12.5 s, fractions carried between steps


def test_activity_mentions_reach_the_bots_inbox() -> None:
    world = World(clock=ManualClock())
    world.add_user(DEMO_BOT, DEMO_PASSWORD)
    world.add_submission("gardening", "quiet_otter1", "Slugs!", "They ate everything.")
    activity = ActivityGenerator(world, 0, 0, mentions_per_s=1, rng=random.Random(3))
    created = activity.step(3)
    assert [e.comment for e in world.inbox(DEMO_BOT)] == list(reversed(created))
    assert all(f"u/{DEMO_BOT}" in world.get(f).body for f in created)


def test_activity_background_thread_adds_comments() -> None:
    world = World.seeded(clock=ManualClock())
    before = len(world.comments())
    activity = ActivityGenerator(world, 0, comments_per_s=500, mentions_per_s=0)
    activity.start(interval_s=0.01)
    deadline = time.monotonic() + 5
    while not activity.created and time.monotonic() < deadline:
        time.sleep(0.01)  # waiting for the real background thread is the point here
    activity.stop()
    assert len(world.comments()) > before


# ---------------------------------------------------------------------- CLI


class _Ctx:
    def __init__(self) -> None:
        self.out = io.StringIO()

    def print(self, *parts: object) -> None:
        print(*parts, file=self.out)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="redditbot sandbox")
    add_serve_command(parser.add_subparsers())
    return parser.parse_args(argv)


def test_serve_prints_url_and_credentials(tmp_path: Path) -> None:
    faults = tmp_path / "faults.toml"
    faults.write_text('[[fault]]\npath_prefix = "/api/comment"\nstatus = 503\ntimes = 2\n')
    args = _parse(
        [
            "serve",
            "--port",
            "0",
            "--duration",
            "0.05",
            "--print-credentials",
            "--faults",
            str(faults),
        ]
    )
    ctx = _Ctx()
    assert args.handler(ctx, args) == 0
    printed = ctx.out.getvalue()
    assert "sandbox Reddit listening on http://127.0.0.1:" in printed
    assert f'username = "{DEMO_BOT}"' in printed and DEMO_CLIENT_SECRET in printed


def test_fault_file_is_validated(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[[fault]]\npath_prefix = "/api/comment"\napi_error = "THREAD_LOCKED"\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('[[fault]]\npath = "/api/comment"\n')
    assert load_faults(good) == [{"path_prefix": "/api/comment", "api_error": "THREAD_LOCKED"}]
    with pytest.raises(ConfigError, match="unknown fault option"):
        load_faults(bad)
