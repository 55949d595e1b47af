"""A fake Reddit for tests, the demo and trying a config: real PRAW cannot tell the difference.

    world = World.seeded()
    with SandboxServer(world) as server:
        server.add_app("client-id", "secret")
        reddit = praw.Reddit(**server.praw_kwargs("client-id", "secret", "sandbox_bot", "..."))

See ``server.faults`` for scripted failures and ``server.writes`` for the write log.
"""

from redditbot.reddit.sandbox.activity import ActivityGenerator
from redditbot.reddit.sandbox.api import TreeOptions
from redditbot.reddit.sandbox.corpus import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    Corpus,
    load_corpus,
)
from redditbot.reddit.sandbox.faults import Fault, FaultPlan
from redditbot.reddit.sandbox.server import SandboxServer, WriteLog, WriteRecord
from redditbot.reddit.sandbox.world import ManualClock, World

__all__ = [
    "DEMO_BOT",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_PASSWORD",
    "ActivityGenerator",
    "Corpus",
    "Fault",
    "FaultPlan",
    "ManualClock",
    "SandboxServer",
    "TreeOptions",
    "World",
    "WriteLog",
    "WriteRecord",
    "load_corpus",
]
