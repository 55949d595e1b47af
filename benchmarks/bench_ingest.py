"""Listener benchmarks: API requests per 1,000 new items, and stored items per second.

    .venv/bin/python benchmarks/bench_ingest.py [--subreddits 20] [--items 1000]
        [--per-round 50,400] [--ingest 20000] [--json PATH] [--quick]

1. Requests. A sandbox Reddit (real HTTP on 127.0.0.1) holds ``--subreddits`` subreddits. New
   comments and threads (one in ten) arrive in rounds of ``--per-round`` items, spread over the
   subreddits with weights 1/rank (a few busy subreddits, many quiet ones), deterministic under
   ``--seed``. After each round both sides poll once, one after the other:

   - ours: the Listener (real PRAW through ``PrawGateway``, real store on SQLite), one
     ``run_once()`` a round. It also polls the inbox each round, which the baseline does not.
   - baseline: one ``subreddit.stream.comments`` and one ``subreddit.stream.submissions`` per
     subreddit (PRAW's own stream code, unpatched), on a second OAuth client, each read until it
     yields None. With ``pause_after=0`` a stream yields None after every poll without new
     items instead of sleeping (up to 16 s) between polls, so nothing sleeps and nothing in PRAW
     is patched.

   Requests are counted at the sandbox server per OAuth client. API requests after a priming
   poll (before any new item) are the figure; token requests (one per client here) and the
   priming requests are reported apart. "Seen" counts new items each side stored or yielded;
   "missed" the new items it never saw (a stream reads one page per poll and misses what a busy
   subreddit posted beyond it).

2. Ingest. ``--ingest`` new comments are stored through ``queries.upsert_items``, one
   transaction per 100-item page as the listener does, into SQLite (a file, WAL) and into a
   throwaway PostgreSQL database (``--pg``; skipped with a message when it does not answer).
   The baseline, in the same run on the same backend: one INSERT per item, one transaction each,
   on the first ``--baseline-ingest`` items (one commit per item is slow; the rate is per item).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from redditbot.config import RedditSettings
from redditbot.domain import Comment
from redditbot.pipeline.listen import Listener
from redditbot.reddit.gateway import LISTING_LIMIT, PrawGateway
from redditbot.reddit.sandbox import ManualClock, SandboxServer, World
from redditbot.store import migrate, queries
from redditbot.store.engine import make_engine, session_factory
from redditbot.store.models import CommentRow, SubmissionRow

LISTENER_APP = ("bench-listener", "listener-secret")
STREAMS_APP = ("bench-streams", "streams-secret")
BOT, BOT_PASSWORD = "bench_bot", "bench-password"
WATCHER, WATCHER_PASSWORD = "bench_watcher", "watcher-password"
USER_AGENT = "bench:redditbot:0.1 (by /u/redditbot)"
ROUND_SECONDS = 60.0
THREAD_SHARE = 0.1  # one new item in ten is a thread, the rest are comments
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
BODY_FILLER = "a reply of ordinary length, with a clause or two and a question at the end? " * 2


# --------------------------------------------------------------------------- arrivals


@dataclass(frozen=True)
class Arrival:
    """One new item to post: ``kind`` is "comment" or "submission"."""

    subreddit: str
    kind: str


def plan_rounds(
    subreddits: Sequence[str], items: int, per_round: int, seed: int
) -> list[list[Arrival]]:
    """``items`` arrivals, weighted 1/rank over the subreddits, cut into rounds."""
    rng = random.Random(seed)
    weights = [1 / rank for rank in range(1, len(subreddits) + 1)]
    picks = rng.choices(list(subreddits), weights, k=items)
    arrivals = [
        Arrival(name, "submission" if rng.random() < THREAD_SHARE else "comment") for name in picks
    ]
    return [arrivals[start : start + per_round] for start in range(0, items, per_round)]


class Poster:
    """Adds arrivals to the world; comments go under a random thread of their subreddit."""

    def __init__(self, world: World, subreddits: Sequence[str], seed: int) -> None:
        self.world, self.rng = world, random.Random(seed)
        world.add_user(BOT, BOT_PASSWORD)
        world.add_user(WATCHER, WATCHER_PASSWORD)
        self.threads = {name: [self._thread(name)] for name in subreddits}
        for name in subreddits:  # something old for the streams to skip and the listener to prime
            for n in range(3):
                world.add_comment(self.threads[name][0], "regular", f"earlier comment {n}")
        self.count = 0

    def _thread(self, subreddit: str) -> str:
        return "t3_" + self.world.add_submission(subreddit, "regular", f"A thread in r/{subreddit}")

    def post(self, arrival: Arrival) -> str:
        """Post one arrival; returns its fullname."""
        self.count += 1
        if arrival.kind == "submission":
            fullname = self._thread(arrival.subreddit)
            self.threads[arrival.subreddit].append(fullname)
            return fullname
        parent = self.rng.choice(self.threads[arrival.subreddit])
        body = f"new comment {self.count}: {BODY_FILLER}"
        return "t1_" + self.world.add_comment(parent, f"author{self.count % 97}", body)


# --------------------------------------------------------------------------- the two sides


def reddit_settings(server: SandboxServer) -> RedditSettings:
    client_id, secret = LISTENER_APP
    return RedditSettings(
        client_id=client_id, client_secret=secret, username=BOT, password=BOT_PASSWORD,
        user_agent=USER_AGENT, oauth_url=server.url, reddit_url=server.url,
        short_url=server.url, ratelimit_seconds=0,
    )  # fmt: skip


class ListenerSide:
    """Ours: the Listener over PrawGateway, storing into a migrated SQLite file."""

    def __init__(self, server: SandboxServer, subreddits: Sequence[str], db_url: str) -> None:
        migrate.upgrade(db_url)
        self.engine = make_engine(db_url)
        self.sessions = session_factory(self.engine)
        clock = server.clock
        self.listener = Listener(
            PrawGateway(reddit_settings(server)), self.sessions, account="bench",
            bot_username=BOT, subreddits=subreddits,
            clock=lambda: datetime.fromtimestamp(clock(), UTC),
        )  # fmt: skip

    def poll(self) -> None:
        self.listener.run_once()

    def seen(self) -> set[str]:
        with self.sessions() as session:
            comments = session.scalars(select(CommentRow.fullname))
            return set(comments) | set(session.scalars(select(SubmissionRow.fullname)))

    def close(self) -> None:
        self.engine.dispose()


class StreamsSide:
    """The baseline: a comment stream and a submission stream per subreddit, PRAW's own code."""

    def __init__(self, server: SandboxServer, subreddits: Sequence[str]) -> None:
        import praw  # the baseline *is* plain PRAW; the bot itself imports it only in its adapter

        client_id, secret = STREAMS_APP
        reddit = praw.Reddit(
            **server.praw_kwargs(client_id, secret, WATCHER, WATCHER_PASSWORD),
            check_for_async=False,
        )
        self.streams: list[Iterator] = []
        for name in subreddits:
            stream = reddit.subreddit(name).stream
            self.streams.append(stream.comments(pause_after=0, skip_existing=True))
            self.streams.append(stream.submissions(pause_after=0, skip_existing=True))
        self.yielded: list[str] = []

    def poll(self) -> None:
        """Advance every stream one step: read until it pauses (yields None)."""
        for stream in self.streams:
            for item in stream:
                if item is None:
                    break
                self.yielded.append(item.fullname)

    def seen(self) -> set[str]:
        return set(self.yielded)

    def close(self) -> None:
        """Nothing to release: the streams are generators."""


Side = ListenerSide | StreamsSide


# --------------------------------------------------------------------------- requests


@dataclass
class SideFigures:
    """What one side spent and saw in one scenario."""

    requests: int = 0
    requests_per_1000: float = 0.0
    priming_requests: int = 0
    token_requests: int = 0
    seen: int = 0
    missed: int = 0
    duplicates: int = 0
    poll_seconds: float = 0.0


@dataclass
class RequestScenario:
    """Both sides on the same arrivals: ``per_round`` new items between polls."""

    subreddits: int
    items: int
    per_round: int
    rounds: int
    ours: SideFigures = field(default_factory=SideFigures)
    baseline: SideFigures = field(default_factory=SideFigures)

    @property
    def request_ratio(self) -> float:
        """Baseline requests per request of ours."""
        return self.baseline.requests / max(self.ours.requests, 1)


def subreddit_names(count: int) -> list[str]:
    return [f"bench{n:02d}" for n in range(count)]


def measure_requests(
    subreddits: int, items: int, per_round: int, seed: int, workdir: Path
) -> RequestScenario:
    """Run both sides over the same arrivals against one sandbox server."""
    names, clock = subreddit_names(subreddits), ManualClock()
    world = World(clock)
    poster = Poster(world, names, seed)
    rounds = plan_rounds(names, items, per_round, seed)
    scenario = RequestScenario(subreddits, items, per_round, len(rounds))
    with SandboxServer(world) as server:
        for app in (LISTENER_APP, STREAMS_APP):
            server.add_app(*app)
        db_url = f"sqlite:///{workdir / f'listener-{per_round}.db'}"
        ours, baseline = ListenerSide(server, names, db_url), StreamsSide(server, names)
        sides: dict[str, tuple[Side, str]] = {
            "ours": (ours, LISTENER_APP[0]),
            "baseline": (baseline, STREAMS_APP[0]),
        }
        try:
            _run_rounds(server, clock, poster, rounds, sides, scenario)
        finally:
            ours.close()
    return scenario


def _run_rounds(
    server: SandboxServer,
    clock: ManualClock,
    poster: Poster,
    rounds: list[list[Arrival]],
    sides: dict[str, tuple[Side, str]],
    scenario: RequestScenario,
) -> None:
    for side, _ in sides.values():
        side.poll()  # priming: the streams skip what exists, the listener sets its cursors
    primed = {name: server.requests.count(client, "api") for name, (_, client) in sides.items()}
    created: list[str] = []
    for arrivals in rounds:
        created += [poster.post(arrival) for arrival in arrivals]
        clock.advance(ROUND_SECONDS)
        for name, (side, _) in sides.items():
            started = time.perf_counter()
            side.poll()
            getattr(scenario, name).poll_seconds += time.perf_counter() - started
    for name, (side, client) in sides.items():
        _fill(getattr(scenario, name), server, client, primed[name], side, created)


def _fill(
    figures: SideFigures,
    server: SandboxServer,
    client: str,
    primed: int,
    side: Side,
    created: list[str],
) -> None:
    figures.priming_requests = primed
    figures.requests = server.requests.count(client, "api") - primed
    figures.token_requests = server.requests.count(client, "token")
    figures.requests_per_1000 = round(figures.requests * 1000 / max(len(created), 1), 1)
    seen = side.seen() & set(created)
    figures.seen, figures.missed = len(seen), len(created) - len(seen)
    if isinstance(side, StreamsSide):
        figures.duplicates = len(side.yielded) - len(set(side.yielded))
    figures.poll_seconds = round(figures.poll_seconds, 3)


# --------------------------------------------------------------------------- ingest


def make_comments(count: int, subreddits: int) -> list[Comment]:
    """``count`` new comments with increasing ids, spread over threads and subreddits."""
    names = subreddit_names(subreddits)
    return [
        Comment(
            id=f"b{n:07d}",
            subreddit=names[n % subreddits],
            link_id=f"t3_s{n % 500:05d}",
            parent_id=f"t3_s{n % 500:05d}",
            author=f"author{n % 997}",
            body=f"comment {n}: {BODY_FILLER}",
            permalink=f"/r/{names[n % subreddits]}/c/{n}",
            created_utc=1_700_000_000.0 + n,
        )  # fmt: skip
        for n in range(count)
    ]


def store_in_pages(sessions: sessionmaker[Session], items: Sequence[Comment]) -> None:
    """Ours: the listener's store path, one transaction per 100-item page."""
    now = datetime.now(UTC)
    for start in range(0, len(items), LISTING_LIMIT):
        with sessions.begin() as session:
            page = items[start : start + LISTING_LIMIT]
            queries.upsert_items(session, page, account="bench", bot_username=BOT, now=now)


def store_one_by_one(sessions: sessionmaker[Session], items: Sequence[Comment]) -> None:
    """The naive baseline: one INSERT per item, each in its own transaction."""
    now = datetime.now(UTC)
    for item in items:
        row = queries.comment_row(item, None) | {"first_seen_at": now, "updated_at": now}
        with sessions.begin() as session:
            session.execute(insert(CommentRow).values(**row))


@dataclass
class IngestFigures:
    """Items per second into one backend: ours against the naive loop."""

    backend: str
    items: int
    seconds: float
    items_per_s: float
    baseline_items: int
    baseline_seconds: float
    baseline_items_per_s: float
    speedup: float


def timed_store(
    url: str,
    store: Callable[[sessionmaker[Session], Sequence[Comment]], None],
    items: Sequence[Comment],
) -> float:
    """Seconds ``store`` takes to write ``items`` into a freshly migrated database."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        sessions = session_factory(engine)
        started = time.perf_counter()
        store(sessions, items)
        seconds = time.perf_counter() - started
        stored = _count_comments(sessions)
    finally:
        engine.dispose()
    if stored != len(items):
        raise RuntimeError(f"{url}: stored {stored} of {len(items)} comments")
    return seconds


def _count_comments(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.scalars(select(CommentRow.fullname)).all())


Databases = Callable[[], AbstractContextManager[str]]


def measure_ingest(
    backend: str, databases: Databases, items: list[Comment], baseline_n: int
) -> IngestFigures:
    """Ours on every item, the baseline on the first ``baseline_n``, each in a fresh database."""
    with databases() as url:
        seconds = timed_store(url, store_in_pages, items)
    with databases() as url:
        baseline_seconds = timed_store(url, store_one_by_one, items[:baseline_n])
    rate, baseline_rate = len(items) / seconds, baseline_n / baseline_seconds
    return IngestFigures(
        backend, len(items), round(seconds, 3), round(rate, 1), baseline_n,
        round(baseline_seconds, 3), round(baseline_rate, 1), round(rate / baseline_rate, 2),
    )  # fmt: skip


def sqlite_databases(workdir: Path) -> Databases:
    @contextmanager
    def database() -> Iterator[str]:
        yield f"sqlite:///{workdir / f'ingest-{uuid.uuid4().hex[:8]}.db'}"

    return database


def postgres_unavailable(base: str) -> str | None:
    """Why PostgreSQL at ``base`` cannot be used, or None when it answers."""
    import psycopg

    try:
        with psycopg.connect(_admin_url(base), connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return f"PostgreSQL not answering at {base}: {str(exc).strip().splitlines()[0]}"


def _admin_url(base: str) -> str:
    return base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"


def postgres_databases(base: str) -> Databases:
    import psycopg

    @contextmanager
    def database() -> Iterator[str]:
        name = f"redditbot_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_admin_url(base), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{base}/{name}"
        finally:
            with psycopg.connect(_admin_url(base), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return database


# --------------------------------------------------------------------------- report


@dataclass
class Report:
    """Everything the benchmark prints and writes with ``--json``."""

    requests: list[RequestScenario] = field(default_factory=list)
    ingest: list[IngestFigures] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        scenarios = [
            asdict(s) | {"request_ratio": round(s.request_ratio, 2)} for s in self.requests
        ]
        return {
            "counting": "API requests at the sandbox server per OAuth client, after one priming "
            "poll; token requests reported apart (token_requests), not in `requests`",
            "requests": scenarios,
            "ingest": [asdict(figures) for figures in self.ingest],
            "skipped": self.skipped,
        }

    def lines(self) -> list[str]:
        return [*self._request_lines(), "", *self._ingest_lines(), *self.skipped]

    def _request_lines(self) -> list[str]:
        head = (
            f"{'scenario':<31} {'side':<9} {'requests':>8} {'per 1000':>9} {'seen':>6} "
            f"{'missed':>6} {'poll s':>7}"
        )
        rows = [head, "-" * len(head)]
        for s in self.requests:
            label = f"{s.subreddits} subs, {s.items} items, {s.per_round}/round"
            for name, f in (("ours", s.ours), ("baseline", s.baseline)):
                rows.append(
                    f"{label:<31} {name:<9} {f.requests:>8} {f.requests_per_1000:>9.1f} "
                    f"{f.seen:>6} {f.missed:>6} {f.poll_seconds:>7.2f}"
                )
                label = ""
            rows.append(f"{'':<31} baseline/ours requests: {s.request_ratio:.1f}x")
        return rows

    def _ingest_lines(self) -> list[str]:
        head = f"{'backend':<11} {'ours items/s':>12} {'naive items/s':>13} {'ratio':>6} (items)"
        rows = [head, "-" * len(head)]
        for f in self.ingest:
            rows.append(
                f"{f.backend:<11} {f.items_per_s:>12.0f} {f.baseline_items_per_s:>13.0f} "
                f"{f.speedup:>5.1f}x ({f.items} / {f.baseline_items})"
            )
        return rows


# --------------------------------------------------------------------------- command line

QUICK = {"subreddits": 3, "items": 60, "per_round": "20,60", "ingest": 300, "baseline_ingest": 100}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subreddits", type=int, default=20, help="subreddits in the sandbox")
    parser.add_argument("--items", type=int, default=1000, help="new items per request scenario")
    parser.add_argument(
        "--per-round", default="50,400", help="new items between polls, one scenario each (a,b)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the arrivals")
    parser.add_argument("--ingest", type=int, default=20_000, help="comments to store per backend")
    parser.add_argument(
        "--baseline-ingest", type=int, default=2000, help="comments the naive loop stores"
    )
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL (no database)")
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        vars(args).update(QUICK)
    args.per_round = [int(n) for n in str(args.per_round).split(",") if n.strip()]
    args.baseline_ingest = min(args.baseline_ingest, args.ingest)
    return args


def run(args: argparse.Namespace, workdir: Path) -> Report:
    """Every measurement the arguments ask for."""
    report = Report()
    for per_round in args.per_round:
        scenario = measure_requests(args.subreddits, args.items, per_round, args.seed, workdir)
        report.requests.append(scenario)
    items = make_comments(args.ingest, args.subreddits)
    report.ingest.append(
        measure_ingest("sqlite", sqlite_databases(workdir), items, args.baseline_ingest)
    )
    reason = "PostgreSQL skipped (--no-pg)" if args.no_pg else postgres_unavailable(args.pg)
    if reason:
        report.skipped.append(reason)
    else:
        databases = postgres_databases(args.pg)
        report.ingest.append(measure_ingest("postgresql", databases, items, args.baseline_ingest))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as workdir:
        report = run(args, Path(workdir))
    print("\n".join(report.lines()))
    if args.json:
        args.json.write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
