"""``redditbot sandbox``: the whole bot, end to end, against the built-in sandbox Reddit.

A seeded sandbox world with simulated users (new threads, comments, mentions of the bot) runs
on 127.0.0.1; the daemon runs against it with SQLite and the default model until it has posted
``replies`` replies or ``duration`` seconds have passed; then the reply history is printed.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, select

from redditbot.config import Settings
from redditbot.domain import Status
from redditbot.store import migrate, queries
from redditbot.store.models import PostedReply

log = logging.getLogger(__name__)

FOOTER = "^(I am a bot running in the redditbot sandbox.)"
# Each persona opens the thread transcript the model continues (see generation.prompts): a
# description of a redditor, not an assistant's instructions, which small models answer with
# assistant-speak.
PERSONAS = {
    "learnpython": "A redditor who codes in Python: answers the question in a line, concretely.",
    "Cooking": "A home cook on Reddit: short, practical kitchen tips, casual tone.",
    "printSF": "A science-fiction reader on Reddit: names a book or author and says why, briefly.",
    "gardening": "A gardener on Reddit: short, practical advice from experience.",
    "personalfinance": "A careful redditor: plain, general money pointers, never promises.",
}


def demo_settings(
    base: Settings | None, url: str, db_url: str, sandbox_subreddits: set[str] | None = None
) -> Settings:
    """The user's configuration (if any), pointed at the sandbox, its demo account and a file.

    The user's subreddits are kept when the sandbox has them; otherwise the sandbox's own are used.
    """
    from redditbot.reddit.sandbox import (
        DEMO_BOT,
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        DEMO_PASSWORD,
    )

    known = {name.lower() for name in (sandbox_subreddits or PERSONAS)}
    own = [sub for sub in (base.subreddits if base else []) if sub.name.lower() in known]
    if base and base.subreddits and not own:
        log.warning("none of the configured subreddits exist in the sandbox; using its own")
    subreddits = own or [
        {"name": name, "persona": persona, "footer": FOOTER} for name, persona in PERSONAS.items()
    ]
    extra: dict[str, Any] = {}
    if base:
        extra = {
            "model": base.model,
            "moderation": base.moderation,
            "selection": base.selection,
            "web": base.web,
        }
    else:
        extra["selection"] = {"triggers": {"questions": True}, "caps": {"per_hour": 4}}
        # Small batches and short replies: the first replies appear within a minute or two,
        # even on a busy 2-core CPU (throughput is the daemon's business, not the demo's).
        extra["model"] = {"batch_size": 4, "max_new_tokens": 64}
    return Settings(
        dry_run=False,
        reddit={
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "username": DEMO_BOT,
            "password": DEMO_PASSWORD,
            "user_agent": "sandbox:redditbot-demo:0.1 (by /u/redditbot)",
            "oauth_url": url,
            "reddit_url": url,
            "short_url": url,
            "ratelimit_seconds": 0,
        },
        database={"url": db_url},
        scheduler={
            "listen_interval": 5,
            "select_interval": 2,
            "generate_interval": 2,
            "moderate_interval": 2,
            "post_interval": 2,
            "housekeeping_interval": 60,
        },
        subreddits=subreddits,
        **extra,
    )


def run_demo(
    base: Settings | None, *, duration: float, replies: int, db_path: str, seed: int, out: TextIO
) -> int:
    """Run the demo; returns 0 when at least one reply was posted."""
    from redditbot.app import Bot
    from redditbot.reddit.sandbox import (
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        ActivityGenerator,
        SandboxServer,
        World,
    )
    from redditbot.store.history import reply_history
    from redditbot.textable import render_rows

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    _reset(Path(db_path))
    db_url = f"sqlite:///{Path(db_path).resolve()}"
    world = World.seeded()
    activity = ActivityGenerator(
        world, threads_per_s=0.05, comments_per_s=0.5, mentions_per_s=0.1, rng=random.Random(seed)
    )
    with SandboxServer(world) as server:
        server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        print(f"sandbox Reddit on {server.url}; store {db_url}", file=out)
        settings = demo_settings(base, server.url, db_url, set(world.subreddits))
        migrate.upgrade(db_url)
        bot = Bot(settings)
        activity.start()
        bot.start()
        pages = start_pages(settings, bot.sessions, out)
        try:
            posted = _wait(bot, replies=replies, duration=duration, out=out)
        finally:
            if pages:
                pages.stop()
            activity.stop()
            bot.stop(grace=60)
        writes = [w for w in server.writes.records if w.path.startswith("/api/comment")]
    print(
        '\nReply history (redditbot sql "SELECT * FROM reply_history" shows every column):',
        file=out,
    )
    history = reply_history(db_url, limit=50)
    print(render_rows(history.columns, history.rows, as_json=False, max_width=48), file=out)
    print(f"\n{posted} replies posted; the sandbox saw {len(writes)} comment requests.", file=out)
    return 0 if posted else 1


def start_pages(settings: Settings, sessions: Any, out: TextIO) -> Any:
    """The review pages beside the demo when ``[web] enabled``; their address is printed."""
    from redditbot.web.server import start_if_enabled

    server = start_if_enabled(settings, sessions)
    if server:
        print(f"review pages on {server.url} (log in with [web] password)", file=out, flush=True)
    return server


def _reset(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _wait(bot: Any, *, replies: int, duration: float, out: TextIO) -> int:
    deadline, last = time.monotonic() + duration, ""
    while True:
        with bot.sessions() as session:
            posted = (
                session.scalar(
                    select(func.count())
                    .select_from(PostedReply)
                    .where(PostedReply.dry_run.is_(False))
                )
                or 0
            )
            counts = queries.count_jobs_by_status(session)
        line = f"posted {posted}/{replies} | " + " ".join(
            f"{s.value}={counts[s.value]}" for s in Status if counts.get(s.value)
        )
        if line != last:
            print(line, file=out, flush=True)
            last = line
        if posted >= replies or time.monotonic() > deadline:
            return posted
        time.sleep(1.0)
