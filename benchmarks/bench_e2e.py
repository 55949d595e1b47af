"""End to end: a comment appears in the sandbox → the bot's reply is posted.

Runs the real daemon (in-process: scheduler, SQLite, the default model on this machine's CPU)
against the sandbox Reddit while simulated users mention the bot at a steady rate, and reports:
latency p50/p95 from the mention's creation to the posted reply, throughput in replies per
minute, and the process's peak memory. Two configurations run in the same process, one after the
other, on the same load: generation one job at a time (the baseline) and batched generation
(the configured batch size); the ratios are printed.

    python benchmarks/bench_e2e.py --duration 120 --rate 0.5
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import select

from redditbot.app import Bot
from redditbot.config import Caps, SelectionSettings, Triggers
from redditbot.demo import demo_settings
from redditbot.reddit.sandbox import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SandboxServer,
    World,
)
from redditbot.store import migrate, queries
from redditbot.store.models import PostedReply


def mention_steadily(world: World, rate: float, stop: threading.Event, born: dict[str, float],
                     rng: random.Random) -> None:  # fmt: skip
    """Simulated users mention the bot ``rate`` times a second until ``stop``."""
    threads = [p.fullname for p in world.submissions()]
    while not stop.wait(1.0 / rate):
        fullname = "t1_" + world.mention(
            DEMO_BOT, rng.choice(threads), f"user{rng.randrange(10**6)}", "what would you do?"
        )
        born[fullname] = time.time()


def run(batch: int, args: argparse.Namespace, workdir: Path) -> dict:
    db_url = f"sqlite:///{workdir / f'e2e-batch{batch}.db'}"
    world = World.seeded()
    born: dict[str, float] = {}
    stop = threading.Event()
    with SandboxServer(world) as server:
        server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        settings = demo_settings(None, server.url, db_url)
        only_mentions = SelectionSettings(
            triggers=Triggers(questions=False),
            caps=Caps(per_hour=0, per_day=0, total_per_hour=0, total_per_day=0),
        )
        model = settings.model.model_copy(update={"batch_size": batch})
        settings = settings.model_copy(update={"model": model, "selection": only_mentions})
        migrate.upgrade(db_url)
        bot = Bot(settings)
        bot.start()  # loads the model before the clock starts
        feeder = threading.Thread(
            target=mention_steadily, args=(world, args.rate, stop, born, random.Random(7))
        )
        started = time.time()
        feeder.start()
        time.sleep(args.duration)
        stop.set()
        feeder.join()
        bot.stop(grace=120)
        elapsed = time.time() - started
        with bot.sessions() as session:
            posts = session.execute(
                select(PostedReply.target_fullname, PostedReply.posted_at)
            ).all()
            states = queries.count_jobs_by_status(session)
    latencies = sorted(at.timestamp() - born[t] for t, at in posts if t in born)
    return {
        "batch": batch,
        "mentions": len(born),
        "replies": len(latencies),
        "replies_per_min": round(len(latencies) / elapsed * 60, 2),
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_s": round(percentile(latencies, 95), 2) if latencies else None,
        "jobs": states,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120, help="seconds of load per run")
    parser.add_argument("--rate", type=float, default=0.5, help="mentions per second")
    parser.add_argument("--batch", type=int, default=16, help="batched run's batch size")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        results = [run(1, args, Path(workdir)), run(args.batch, args, Path(workdir))]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    baseline, batched = results
    report = {"runs": results, "peak_rss_mib": round(peak_mib, 1),
              "throughput_ratio": _ratio(batched["replies_per_min"], baseline["replies_per_min"]),
              "p50_ratio": _ratio(baseline["latency_p50_s"], batched["latency_p50_s"])}  # fmt: skip
    for row in results:
        print(" ".join(f"{k}={v}" for k, v in row.items()))
    print(f"peak RSS {report['peak_rss_mib']} MiB; throughput x{report['throughput_ratio']} "
          f"(batched vs one at a time); p50 latency x{report['p50_ratio']} faster")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


if __name__ == "__main__":
    main()
