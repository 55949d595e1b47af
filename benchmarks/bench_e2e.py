"""End to end: a comment appears in the sandbox → the bot's reply is posted.

Runs the real daemon (in-process: scheduler, SQLite, the default model on this machine's CPU)
against the sandbox Reddit while simulated users mention the bot at a steady rate, and reports:
latency p50/p95 from the mention's creation to the posted reply, throughput in replies per
minute, the moderation pass rate and the run's peak memory. Each configuration runs in its own
process (so its peak RSS is its own), one after the other on the same load, in the same run:

- ``fixed``: the generate stage in fixed batches of ``--batch`` jobs, each batch generated to
  its end before the next is claimed (``[generation] continuous = false``);
- ``continuous``: jobs claimed as they come and joining the running batch between decoding
  steps, within a budget of ``--batch`` rows (``[generation] continuous = true``);
- ``one``: fixed batches of one job (optional: ``--modes one,fixed,continuous``);
- ``unchained``: fixed batches, and every stage waiting for its own interval
  (``[scheduler] chain = false``): the daemon as it was before stages woke each other;
- ``own-copies``: ``continuous`` with each candidate holding its own copy of the prompt's keys
  and values (``[model] share_prompts = false``): the decoder as it was before they were shared.

Every rate in ``--rates`` runs every mode, modes interleaved per rate so that the machine's other
load weighs on them alike. After the load stops the bot runs on until every mention is answered
(or ``--drain`` seconds pass), so slow configurations are not flattered by leaving their slowest
replies out; ``answered`` says how many were. ``--burst N`` adds, per mode, a saturation run: N
mentions at once, replies per minute until the last one is posted.

    python benchmarks/bench_e2e.py --duration 120 --rates 0.3,0.1667 [--burst 32] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from redditbot.app import Bot  # noqa: E402
from redditbot.config import Caps, SelectionSettings, Settings, Triggers  # noqa: E402
from redditbot.demo import demo_settings  # noqa: E402
from redditbot.domain import TERMINAL_STATUSES, Status  # noqa: E402
from redditbot.reddit.sandbox import (  # noqa: E402
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SandboxServer,
    World,
)
from redditbot.store import migrate, queries  # noqa: E402
from redditbot.store.models import (  # noqa: E402
    GenerationRow,
    ModerationVerdictRow,
    PostedReply,
    ReplyJob,
    SelectionDecision,
)

MODES = ("one", "unchained", "fixed", "own-copies", "continuous")


def mention(world: World, threads: list[str], born: dict[str, float], rng: random.Random) -> None:
    fullname = "t1_" + world.mention(
        DEMO_BOT, rng.choice(threads), f"user{rng.randrange(10**6)}", "what would you do?"
    )
    born[fullname] = time.time()


def mention_steadily(world: World, rate: float, stop: threading.Event, born: dict[str, float],
                     rng: random.Random) -> None:  # fmt: skip
    """Simulated users mention the bot ``rate`` times a second until ``stop``."""
    threads = [p.fullname for p in world.submissions()]
    while not stop.wait(1.0 / rate):
        mention(world, threads, born, rng)


def mentions_settings(
    server_url: str, db_url: str, *, batch: int, continuous: bool, chain: bool = True,
    share_prompts: bool = True,
) -> Settings:  # fmt: skip
    """The demo's settings (its intervals and model) answering mentions only, uncapped, with
    ``batch`` jobs per fixed batch (or rows in flight, ``continuous``)."""
    settings = demo_settings(None, server_url, db_url)
    only_mentions = SelectionSettings(
        triggers=Triggers(questions=False),
        caps=Caps(per_hour=0, per_day=0, total_per_hour=0, total_per_day=0),
    )
    update = {
        "model": settings.model.model_copy(
            update={"batch_size": batch, "share_prompts": share_prompts}
        ),
        "generation": settings.generation.model_copy(update={"continuous": continuous}),
        "scheduler": settings.scheduler.model_copy(update={"chain": chain}),
        "selection": only_mentions,
    }
    return settings.model_copy(update=update)


def run(mode: str, rate: float, args: argparse.Namespace, workdir: Path) -> dict:
    """One configuration under one load (``rate`` 0: a burst of ``args.burst`` mentions)."""
    db_url = f"sqlite:///{workdir / f'e2e-{mode}-{rate}.db'}"
    world = World.seeded()
    born: dict[str, float] = {}
    stop = threading.Event()
    with SandboxServer(world) as server:
        server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        settings = mentions_settings(
            server.url,
            db_url,
            batch=1 if mode == "one" else args.batch,
            continuous=mode in ("continuous", "own-copies"),
            chain=mode != "unchained",
            share_prompts=mode != "own-copies",
        )
        migrate.upgrade(db_url)
        bot = Bot(settings)
        bot.start()  # loads the model before the clock starts
        rng = random.Random(7)
        started = time.time()
        if rate > 0:
            feeder = threading.Thread(target=mention_steadily, args=(world, rate, stop, born, rng))
            feeder.start()
            time.sleep(args.duration)
            stop.set()
            feeder.join()
        else:
            threads = [p.fullname for p in world.submissions()]
            for _ in range(args.burst):
                mention(world, threads, born, rng)
        deadline = time.time() + args.drain
        while time.time() < deadline and _settled(bot, born) < len(born):
            time.sleep(1.0)
        bot.stop(grace=60)
        with bot.sessions() as session:
            verdicts = session.scalars(
                select(ModerationVerdictRow.decision).where(ModerationVerdictRow.gate == "output")
            ).all()
            states = queries.count_jobs_by_status(session)
    posted = _posted(bot, born)
    latencies = sorted(at - born[t] for t, at in posted.items())
    phases = _phases(bot, born, posted)
    span = (max(posted.values()) - started) if posted else 0.0
    return {
        "mode": mode,
        "batch": 1 if mode == "one" else args.batch,
        "rate_per_s": rate,
        "mentions": len(born),
        "answered": len(latencies),
        "replies_per_min": round(len(latencies) / span * 60, 2) if span else None,
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_s": round(percentile(latencies, 95), 2) if latencies else None,
        "moderation_pass": _share(verdicts.count("approve"), len(verdicts)),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "phases_p50_s": {leg: median for leg, (median, _) in phases.items()},
        "phases_p95_s": {leg: p95 for leg, (_, p95) in phases.items()},
        "jobs": states,
    }


def _phases(
    bot: Bot, born: dict[str, float], posted: dict[str, float]
) -> dict[str, tuple[float, float]]:
    """Median and p95 seconds of each leg of a posted reply's way: mention → job (listen,
    select), job → its last draft (waiting for generate, generating; a rejected draft's
    retries included), draft → posted (moderate, post)."""
    with bot.sessions() as session:
        rows = session.execute(
            select(ReplyJob.target_fullname, ReplyJob.created_at, GenerationRow.created_at).join(
                GenerationRow, GenerationRow.job_id == ReplyJob.id
            )
        ).all()
    job_at, draft_at = {}, {}
    for target, created, drafted in rows:
        job_at[target] = created.timestamp()
        draft_at[target] = max(draft_at.get(target, 0.0), drafted.timestamp())
    legs: dict[str, list[float]] = {"to_job": [], "to_draft": [], "to_posted": []}
    for target, at in posted.items():
        if target in job_at:
            legs["to_job"].append(job_at[target] - born[target])
            legs["to_draft"].append(draft_at[target] - job_at[target])
            legs["to_posted"].append(at - draft_at[target])
    return {
        leg: (round(statistics.median(v), 2), round(percentile(sorted(v), 95), 2))
        for leg, v in legs.items()
        if v
    }


def _settled(bot: Bot, born: dict[str, float]) -> int:
    """How many of our mentions are done with: their job ended (posted, rejected, ...) or waits
    for a human (review), or the selector decided not to answer."""
    terminal = [status.value for status in (*TERMINAL_STATUSES, Status.PENDING_REVIEW)]
    with bot.sessions() as session:
        ended = session.scalars(
            select(ReplyJob.target_fullname).where(ReplyJob.status.in_(terminal))
        ).all()
        ignored = session.scalars(
            select(SelectionDecision.fullname).where(SelectionDecision.decision == "ignored")
        ).all()
    return len(set(born) & {*ended, *ignored})


def _posted(bot: Bot, born: dict[str, float]) -> dict[str, float]:
    """Posting time of every reply to one of our mentions, by target."""
    with bot.sessions() as session:
        rows = session.execute(select(PostedReply.target_fullname, PostedReply.posted_at)).all()
    return {target: at.timestamp() for target, at in rows if target in born}


def run_in_subprocess(mode: str, rate: float, args: argparse.Namespace) -> dict:
    """Each configuration in its own process, so that its peak RSS is its own."""
    command = [sys.executable, __file__, "--only", mode, "--rates", str(rate), "--emit-json"]
    command += ["--duration", str(args.duration), "--batch", str(args.batch)]
    command += ["--drain", str(args.drain), "--burst", str(args.burst)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-3:]
        return {"mode": mode, "rate_per_s": rate, "error": " | ".join(tail)}
    return json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120, help="seconds of load per run")
    parser.add_argument(
        "--rates", default="0.3,0.1667", help="mentions a second, comma-separated (0.1667: 10/min)"
    )
    parser.add_argument(
        "--modes", default="unchained,fixed,continuous", help=f"of {', '.join(MODES)}"
    )
    parser.add_argument("--batch", type=int, default=16, help="batch size / row budget")
    parser.add_argument("--burst", type=int, default=0, help="saturation runs: N mentions at once")
    parser.add_argument(
        "--drain", type=float, default=300, help="seconds to wait for the last replies after load"
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--only", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--emit-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    if args.only:
        with tempfile.TemporaryDirectory() as workdir:
            print(json.dumps(run(args.only, rates[0], args, Path(workdir))))
        return 0
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        parser.error(f"--modes: unknown {unknown}; known: {', '.join(MODES)}")
    loads = [*rates, *([0.0] if args.burst else [])]
    results = []
    for rate in loads:
        for mode in modes:
            results.append(run_in_subprocess(mode, rate, args))
            print(" ".join(f"{k}={v}" for k, v in results[-1].items()), flush=True)
    report = {"runs": results, "comparisons": _compare(results)}
    for line in report["comparisons"]:
        print(line)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if not any("error" in r for r in results) else 1


def _compare(results: list[dict]) -> list[str]:
    """Continuous against fixed batches (chained, and unchained) and against own copies of the
    prompts under the same load, as ratios."""
    lines = []
    by_load: dict[float, dict[str, dict]] = {}
    for row in results:
        if "error" not in row:
            by_load.setdefault(row["rate_per_s"], {})[row["mode"]] = row
    bases = ("fixed", "unchained", "own-copies")
    pairs = [(load, base, rows) for load, rows in by_load.items() for base in bases]
    for rate, base, rows in pairs:
        fixed, cont = rows.get(base), rows.get("continuous")
        if not (fixed and cont):
            continue
        load = f"{rate}/s" if rate else "burst"
        p50 = _ratio(cont["latency_p50_s"], fixed["latency_p50_s"])
        lines.append(
            f"{load}: continuous / {base} p50 x{p50}"
            f", p95 x{_ratio(cont['latency_p95_s'], fixed['latency_p95_s'])}, throughput "
            f"x{_ratio(cont['replies_per_min'], fixed['replies_per_min'])}, peak RSS "
            f"{cont['peak_rss_mib']} vs {fixed['peak_rss_mib']} MiB, moderation pass "
            f"{cont['moderation_pass']} vs {fixed['moderation_pass']}"
        )
    return lines


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


if __name__ == "__main__":
    raise SystemExit(main())
