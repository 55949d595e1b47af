"""Fixtures for the daemon: the sandbox Reddit, a fake OpenAI-compatible server, bot.toml files.

Generation goes through the real ``openai`` backend to a small fake server here, because these
tests are about the daemon (scheduling, crashes, draining, instances), not the model; the model
is exercised in tests/generation.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from redditbot.reddit.sandbox import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    SandboxServer,
    World,
)
from redditbot.store import migrate

SUBJECTS = [
    "A good first step",
    "What worked for me",
    "The usual advice",
    "My neighbour's trick",
    "An old teacher's rule",
    "The thing nobody tells you",
    "A cheap fix",
    "The slow way",
]
VERBS = [
    "is to check",
    "starts with",
    "comes down to",
    "means looking at",
    "depends on",
    "usually involves",
    "begins with",
]
OBJECTS = [
    "the basics before anything fancy",
    "how much time you really have",
    "the label twice",
    "a small test batch",
    "what the manual says about it",
    "the temperature first",
    "one variable at a time",
    "the cheapest option that works",
    "a written plan",
    "your notes from last time",
    "the weather for the week",
    "a second opinion",
]


def varied_answer(rng: random.Random) -> str:
    """Three short sentences of plain advice, different every time (the repeat check is real)."""
    return " ".join(
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}." for _ in range(3)
    )


class FakeOpenAI:
    """An OpenAI-compatible /v1/chat/completions that answers with varied, sensible text."""

    def __init__(self) -> None:
        self.requests = 0
        self.lock = threading.Lock()
        self.rng = random.Random(0)
        handler = self._handler()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def answer(self) -> str:
        with self.lock:
            self.requests += 1
            return varied_answer(self.rng)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                count = int(body.get("n", 1))
                choices = [
                    {"index": i, "message": {"role": "assistant", "content": fake.answer()},
                     "finish_reason": "stop"}
                    for i in range(count)
                ]  # fmt: skip
                payload = json.dumps({
                    "id": "fake", "object": "chat.completion", "model": body.get("model", "fake"),
                    "choices": choices,
                    "usage": {"prompt_tokens": 50, "completion_tokens": 20 * count},
                }).encode()  # fmt: skip
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        return Handler


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def live_sandbox() -> Iterator[SandboxServer]:
    """A sandbox on the real clock (daemons in other processes see real time)."""
    with SandboxServer(World.seeded()) as server:
        server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        yield server


def write_config(path: Path, *, sandbox_url: str, db_url: str, openai_url: str,
                 extra: str = "", migrate_db: bool = True) -> Path:  # fmt: skip
    """A bot.toml for the demo account on the sandbox, fast intervals, the fake model server.

    The database is migrated here unless ``migrate_db`` is false (the caller migrates it).
    """
    path.write_text(f"""
dry_run = false
[reddit]
client_id = "{DEMO_CLIENT_ID}"
client_secret = "{DEMO_CLIENT_SECRET}"
username = "{DEMO_BOT}"
password = "{DEMO_PASSWORD}"
user_agent = "test:redditbot:0.1 (by /u/redditbot)"
oauth_url = "{sandbox_url}"
reddit_url = "{sandbox_url}"
short_url = "{sandbox_url}"
ratelimit_seconds = 0
timeout = 5
[database]
url = "{db_url}"
[model]
backend = "openai"
base_url = "{openai_url}"
name = "fake-model"
max_retries = 1
[moderation.toxicity]
classifier = "wordlist"
[moderation.meaning]
# these tests are about processes, leases and Reddit: the meaning classifier (tested on its own,
# and in the demo test) would add torch's import and a model load to every daemon's start-up,
# and a daemon killed "at a random moment" would then always die before it has started
enabled = false
[quality]
enabled = false
[selection.caps]
per_hour = 0
per_day = 0
total_per_hour = 0
total_per_day = 0
[moderation.input]
max_replies_per_thread = 1000
max_replies_per_user = 1000
[scheduler]
listen_interval = 0.3
select_interval = 0.2
generate_interval = 0.2
moderate_interval = 0.2
post_interval = 0.2
housekeeping_interval = 5
{extra}
[[subreddits]]
name = "learnpython"
[[subreddits]]
name = "Cooking"
""")
    if migrate_db:
        migrate.upgrade(db_url)
    return path


def start_daemon(config: Path, log: Path, *args: str) -> subprocess.Popen:
    """``redditbot run`` in its own process, as an operator would start it."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "redditbot", "--config", str(config), "run", *args],
        stdout=log.open("a"), stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
