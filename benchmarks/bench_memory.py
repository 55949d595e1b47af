"""What the daemon's peak memory (RSS) is made of, and what a malloc setting does to it.

Runs the daemon the way ``bench_e2e.py`` does (in process: sandbox Reddit, SQLite, the default
model on this machine's CPU, the moderation models; continuous generation, a budget of
``--batch`` rows) and reports RSS step by step:

- ``python``: the interpreter with the standard library;
- ``imports``: torch, transformers and the bot's modules;
- ``sandbox``: the sandbox Reddit started, the store migrated;
- ``stages``: the bot's stages built (the store, the reranking embedder's settings);
- ``model``: the generation model loaded (``Bot.warm_up``);
- ``moderation``: the moderation models loaded and run once (``Bot.warm_up_moderation``);
- ``running``: mentions at ``--rate`` a second for ``--duration`` seconds, then until each is
  settled (at most ``--drain`` seconds): generation, moderation and posting.

For each step: RSS at its end, its own peak (the kernel's high-water mark, reset as the step
starts: ``/proc/self/clear_refs``) and what glibc's malloc holds (``mallinfo2``: bytes in use,
bytes free inside its heaps, that RSS keeps and ``malloc_trim`` could return; the number of
arenas from ``malloc_info``). During ``running`` RSS is sampled every 0.1 s with the rows
decoding at that moment, so the peak can be read against the batch.

Each ``--variants`` entry runs in its own process, one after the other, on the same seeded
mentions; ratios within one run are what to compare:

- ``shipped``: as shipped (``redditbot.generation.malloc``: ``malloc_trim`` at most once a
  second while the decoder runs, and when its batch ends);
- ``before``: no trimming (``REDDITBOT_MALLOC_TRIM=0``);
- ``mmap128k``: no trimming, glibc's mmap threshold fixed at 128 KiB
  (``MALLOC_MMAP_THRESHOLD_=131072``: every block from 128 KiB up is a mapping of its own);
- ``arena1`` / ``arena2``: no trimming, ``MALLOC_ARENA_MAX=1`` / ``2`` (one or two malloc
  arenas for all threads, instead of up to eight per core);
- ``env:NAME=VALUE[+NAME=VALUE]``: as shipped, with that environment.

The peak is the largest of the steps' peaks: resetting the kernel's high-water mark resets what
``getrusage``'s ``ru_maxrss`` reports too, so ``ru_maxrss`` alone would be the last step's.

    python benchmarks/bench_memory.py [--rate 0.3] [--duration 60] [--drain 90] \
        [--variants before,shipped] [--batch 16] [--json PATH]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

VARIANTS = {
    "shipped": {},
    "before": {"REDDITBOT_MALLOC_TRIM": "0"},
    "mmap128k": {"REDDITBOT_MALLOC_TRIM": "0", "MALLOC_MMAP_THRESHOLD_": "131072"},
    "arena1": {"REDDITBOT_MALLOC_TRIM": "0", "MALLOC_ARENA_MAX": "1"},
    "arena2": {"REDDITBOT_MALLOC_TRIM": "0", "MALLOC_ARENA_MAX": "2"},
}
MIB = 1024 * 1024


# --------------------------------------------------------------------------- measuring


def rss_parts() -> dict:
    """RSS split by kind, MiB: anonymous (heaps, tensors) and file-backed (mapped files: the
    model's safetensors, shared libraries)."""
    status = Path("/proc/self/status").read_text()
    return {
        f"{kind.lower()}_mib": round(
            int(re.search(rf"Rss{kind}:\s+(\d+)", status).group(1)) / 1024, 1
        )
        for kind in ("Anon", "File")
    }


def rss_mib() -> tuple[float, float]:
    """(current RSS, peak RSS since the last reset) of this process, MiB."""
    status = Path("/proc/self/status").read_text()
    current = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    return round(current / 1024, 1), round(peak / 1024, 1)


def reset_peak() -> bool:
    """Reset the kernel's peak RSS of this process to its current RSS (False: not allowed)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost",
        )
    ]  # fmt: skip


def malloc_figures() -> dict:
    """glibc malloc: MiB in use and free inside its heaps, MiB in mmapped blocks, arenas."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return {}
    return {
        "heap_in_use_mib": round(info.uordblks / MIB, 1),
        "heap_free_mib": round(info.fordblks / MIB, 1),
        "mmapped_mib": round(info.hblkhd / MIB, 1),
        "arenas": _arena_count(libc),
    }


def _arena_count(libc) -> int | None:
    """How many malloc arenas exist (one ``<heap`` per arena in ``malloc_info``'s XML)."""
    buffer, size = ctypes.c_char_p(), ctypes.c_size_t()
    libc.open_memstream.restype = ctypes.c_void_p
    stream = libc.open_memstream(ctypes.byref(buffer), ctypes.byref(size))
    if not stream:
        return None
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    text = ctypes.string_at(buffer, size.value).decode()
    libc.free(buffer)
    return text.count("<heap ")


class Steps:
    """RSS and malloc figures at the end of each step, with the step's own peak."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.resettable = reset_peak()
        self._before = rss_mib()[0]

    def done(self, name: str, **extra) -> None:
        current, peak = rss_mib()
        self.rows.append(
            {
                "step": name,
                "rss_mib": current,
                "delta_mib": round(current - self._before, 1),
                "step_peak_mib": peak if self.resettable else None,
                **rss_parts(),
                **malloc_figures(),
                **extra,
            }
        )
        self._before = current
        reset_peak()


class Activity:
    """What is running right now, by label (a stage's run, a prefill): what a sample saw."""

    def __init__(self) -> None:
        self.running: dict[str, int] = {}
        self._lock = threading.Lock()

    def wrap(self, label: str, function):
        def wrapped(*args, **kwargs):
            with self._lock:
                self.running[label] = self.running.get(label, 0) + 1
            try:
                return function(*args, **kwargs)
            finally:
                with self._lock:
                    self.running[label] -= 1

        return wrapped

    def now(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(label for label, count in self.running.items() if count))


class Sampler(threading.Thread):
    """RSS every ``interval`` s, with the decoder's active rows and what was running."""

    def __init__(self, rows_now, activity: Activity, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.rows_now, self.activity, self.interval = rows_now, activity, interval
        self.samples: list[tuple[float, float, int, tuple[str, ...]]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.stop.wait(self.interval):
            sample = (time.monotonic() - started, rss_mib()[0], self.rows_now())
            self.samples.append((*sample, self.activity.now()))

    def summary(self) -> dict:
        if not self.samples:
            return {}
        at, peak, rows, running = max(self.samples, key=lambda s: s[1])
        by_rows: dict[int, float] = {}
        by_activity: dict[str, float] = {}
        for _, rss, active, labels in self.samples:
            by_rows[active] = max(by_rows.get(active, 0.0), rss)
            for label in labels or ("nothing",):
                by_activity[label] = max(by_activity.get(label, 0.0), rss)
        return {
            "sampled_peak_mib": peak,
            "peak_at_s": round(at, 1),
            "rows_at_peak": rows,
            "running_at_peak": list(running),
            "most_rows": max(s[2] for s in self.samples),
            "peak_by_rows_mib": {str(k): v for k, v in sorted(by_rows.items())},
            "peak_while_mib": dict(sorted(by_activity.items())),
        }


# --------------------------------------------------------------------------- one process


def measure(args: argparse.Namespace) -> dict:
    steps = Steps()
    steps.done("python")
    import bench_e2e

    from redditbot.app import Bot
    from redditbot.generation import sampling, transformers_backend  # noqa: F401
    from redditbot.reddit.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SandboxServer, World
    from redditbot.store import migrate

    steps.done("imports")
    workdir = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    db_url = f"sqlite:///{workdir / 'memory.db'}"
    world = World.seeded()
    born: dict[str, float] = {}
    with SandboxServer(world) as server:
        server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        settings = bench_e2e.mentions_settings(
            server.url, db_url, batch=args.batch, continuous=True
        )
        migrate.upgrade(db_url)
        steps.done("sandbox")
        bot = Bot(settings)
        bot.prepare()
        bot.prepare = lambda: None  # done: start() must not build the stages a second time
        steps.done("stages")
        bot.warm_up()
        steps.done("model")
        bot.warm_up_moderation()
        steps.done("moderation")
        activity = Activity()
        for name, stage in bot.stages.items():
            stage.run_once = activity.wrap(name, stage.run_once)
        sampling.prefill = activity.wrap("prefill", sampling.prefill)
        for batch in (sampling._Batch, sampling._SharedBatch):  # a copy per row, or shared
            batch.join = activity.wrap("join", batch.join)
        sampling.ContinuousDecoder.step = activity.wrap("step", sampling.ContinuousDecoder.step)
        sampler = Sampler(lambda: _active_rows(bot), activity)
        sampler.start()
        bot.start()
        rng = random.Random(7)
        stop = threading.Event()
        feeder = threading.Thread(
            target=bench_e2e.mention_steadily, args=(world, args.rate, stop, born, rng)
        )
        feeder.start()
        time.sleep(args.duration)
        stop.set()
        feeder.join()
        deadline = time.time() + args.drain
        while time.time() < deadline and bench_e2e._settled(bot, born) < len(born):
            time.sleep(1.0)
        bot.stop(grace=60)
        sampler.stop.set()
        sampler.join()
        posted = bench_e2e._posted(bot, born)
        steps.done(
            "running", mentions=len(born), answered=len(posted), trims=_trims(bot),
            threads=threading.active_count(),
        )  # fmt: skip
    return {
        "steps": steps.rows,
        "running": sampler.summary(),
        "peak_rss_mib": max((row["step_peak_mib"] or 0 for row in steps.rows), default=0)
        or round(_ru_maxrss_mib(), 1),
        "peak_resettable": steps.resettable,
    }


def _active_rows(bot) -> int:
    """Rows decoding right now in any of the bot's transformers generators (0 if none)."""
    generators = getattr(bot._generator, "_generators", {}) if bot._generator else {}
    return sum(len(getattr(g, "decoder", None).active) for g in list(generators.values()))


def _trims(bot) -> int:
    """How many times the bot's transformers generators trimmed malloc's heaps."""
    generators = getattr(bot._generator, "_generators", {}) if bot._generator else {}
    return sum(getattr(g, "trimmer", None).trims for g in generators.values())


def _ru_maxrss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- the runs


def variant_env(name: str) -> dict[str, str]:
    if name in VARIANTS:
        return VARIANTS[name]
    if name.startswith("env:"):
        return dict(pair.split("=", 1) for pair in name[4:].split("+"))
    raise SystemExit(f"unknown variant {name!r}; known: {', '.join(VARIANTS)} or env:NAME=VALUE")


def run_variant(name: str, args: argparse.Namespace) -> dict:
    """One variant in its own process (its own peak RSS, its own malloc settings)."""
    command = [sys.executable, __file__, "--child", "--rate", str(args.rate)]
    command += ["--duration", str(args.duration), "--drain", str(args.drain)]
    command += ["--batch", str(args.batch)]
    env = {**os.environ, **variant_env(name)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"variant": name, "error": " | ".join(done.stderr.strip().splitlines()[-3:])}
    return {"variant": name, **json.loads(lines[-1])}


def render(result: dict) -> list[str]:
    if "error" in result:
        return [f"{result['variant']}: error {result['error']}"]
    lines = [
        f"{result['variant']}: peak RSS {result['peak_rss_mib']} MiB",
        f"  {'step':<11}{'RSS':>8}{'delta':>8}{'peak':>8}{'anon':>8}{'file':>8}"
        f"{'in use':>8}{'free':>8}{'mmap':>8}"
        f"{'arenas':>7}",
    ]
    for row in result["steps"]:
        figures = [row.get(k) for k in ("rss_mib", "delta_mib", "step_peak_mib")]
        figures += [row.get(k) for k in ("anon_mib", "file_mib")]
        figures += [row.get(k) for k in ("heap_in_use_mib", "heap_free_mib", "mmapped_mib")]
        cells = "".join(f"{'-' if v is None else v:>8}" for v in figures)
        lines.append(f"  {row['step']:<11}{cells}{row.get('arenas') or '-':>7}")
    running = result.get("running") or {}
    if running:
        lines.append(
            f"  running: sampled peak {running['sampled_peak_mib']} MiB at "
            f"{running['peak_at_s']} s with {running['rows_at_peak']} rows decoding (most "
            f"{running['most_rows']}), while {running['running_at_peak']}"
        )
        lines.append(f"  peak by rows decoding: {running['peak_by_rows_mib']}")
        lines.append(f"  peak while running: {running['peak_while_mib']}")
    last = result["steps"][-1]
    lines.append(
        f"  answered {last.get('answered')} / {last.get('mentions')} mentions; "
        f"{last.get('trims')} trims, {last.get('threads')} threads at the end"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=0.3, help="mentions a second")
    parser.add_argument("--duration", type=float, default=60, help="seconds of mentions")
    parser.add_argument("--drain", type=float, default=90, help="seconds to settle the last")
    parser.add_argument("--batch", type=int, default=16, help="[model] batch_size: row budget")
    parser.add_argument("--variants", default="before,shipped", help="comma-separated, see above")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return 0
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    for name in names:
        variant_env(name)  # unknown names fail before any run
    results = []
    for name in names:
        results.append(run_variant(name, args))
        print("\n".join(render(results[-1])), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": None}, "runs": results}))
    return 0 if not any("error" in r for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
