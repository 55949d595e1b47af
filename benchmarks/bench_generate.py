"""Reply generation throughput: sequential baseline vs our batched generator vs llama.cpp.

All run on the same prompts and the same model (the built-in SmolLM2-135M-Instruct by default),
greedy, up to ``--max-new-tokens`` each, stopping at the end token. Each contender runs in its
own subprocess so that its peak memory (max RSS) is its own; model loading is not timed.

- ``baseline``: ``model.generate`` one prompt at a time (what a naive bot does).
- ``hf-batched``: transformers' own batched ``model.generate`` on the same prompts, left-padded,
  ``--batch-size`` at a time (the library's batching).
- ``batched``: ``TransformersGenerator`` with ``--batch-size``, every prompt in one call (what
  the generate stage does with fixed batches).
- ``batched-own``: ``batched`` with each candidate holding its own copy of the prompt's keys
  and values (``[model] share_prompts = false``, as before they were shared): with
  ``--candidates`` above 1, what sharing saves in memory and time.
- ``continuous``: the same generator, one call per prompt from its own thread, all at once (what
  the stage does with ``[generation] continuous``): its throughput at saturation.
- ``poisson-fixed`` / ``poisson-cont``: prompts arriving at ``--rate`` per second (Poisson,
  seeded, the same arrivals for both). Fixed: whatever has arrived is generated as one batch,
  then the next; continuous: each prompt is its own call as it arrives, joining the running
  batch. Latency is from a prompt's arrival to its reply.
- ``llama.cpp``: llama-cpp-python on the same GGUF file (Q4_1), one prompt at a time; skipped
  when llama_cpp is not installed (the optional extra ``.[llamacpp]``: it compiles llama.cpp,
  about 11 minutes on 2 cores).

Every greedy contender must write the baseline's replies token for token: the report says, per
contender, how many replies differ (``same as baseline``).

Reported per contender: aggregate new tokens per second (all replies / wall time), mean time to
first token (from the moment its own prompt started), p50/p95 latency per reply (from the moment
all jobs were queued, as in the bot, or the prompt arrived, to the reply being complete), and
peak RSS.

    .venv/bin/python benchmarks/bench_generate.py [--prompts 16] [--batch-size 16] [--threads 2]
        [--repeat 3]

``--repeat`` runs the contenders in turn that many rounds and reports the median ratio: on a
shared machine one contender's minutes may be slower than another's for reasons of its own.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redditbot.domain import (  # noqa: E402
    ContextComment,
    GenerationRequest,
    SamplingParams,
    ThreadContext,
)
from redditbot.generation.settings import ModelSettings  # noqa: E402

TOPICS = [
    ("learnpython", "How do I read a huge file line by line?", "What about memory usage?"),
    ("cooking", "My bread never rises. What am I doing wrong?", "Is the yeast maybe dead?"),
    ("running", "First marathon next month, any tips?", "How much should I taper?"),
    ("buildapc", "Is 16 GB of RAM enough for gaming in 2026?", "What about streaming too?"),
    ("gardening", "Tomato leaves turning yellow from the bottom", "I water them every day."),
    ("personalfinance", "Should I pay off my car loan early?", "The rate is 6 percent."),
    ("linux", "Which distro for an old laptop with 4 GB RAM?", "It has an old Intel GPU."),
    ("books", "Looking for sci-fi like The Expanse", "Preferably a finished series."),
]


@dataclass
class Result:
    """One contender's figures (times in seconds, memory in MB)."""

    name: str
    new_tokens: int = 0
    wall_s: float = 0.0
    ttft_s: list[float] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    note: str = ""
    replies: list[str] = field(default_factory=list)  # each reply's text, in prompt order

    def row(self) -> str:
        if self.note:
            return f"{self.name:<13} {self.note}"
        tps = self.new_tokens / self.wall_s
        p50, p95 = _percentile(self.latencies_s, 50), _percentile(self.latencies_s, 95)
        ttft = statistics.mean(self.ttft_s)
        return (
            f"{self.name:<13} {tps:8.1f} tok/s  ttft {ttft:6.3f} s  p50 {p50:6.2f} s  "
            f"p95 {p95:6.2f} s  tokens {self.new_tokens:5d}  wall {self.wall_s:6.1f} s  "
            f"cpu {self.cpu_s:6.1f} s  peak RSS {self.peak_rss_mb:6.0f} MB"
        )


def _percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def bench_requests(count: int, max_new_tokens: int, n: int = 1) -> list[GenerationRequest]:
    """Real-looking threads, varied in length, greedy so every contender does the same work
    (``n`` candidates each: the same greedy reply ``n`` times, decoded as ``n`` rows)."""
    params = SamplingParams(
        temperature=0.0, repetition_penalty=1.0, max_new_tokens=max_new_tokens, n=n
    )
    requests = []
    for i in range(count):
        sub, title, question = TOPICS[i % len(TOPICS)]
        chain = tuple(
            ContextComment(f"user{j}", f"I had the same issue, day {j}.") for j in range(i % 4)
        )
        context = ThreadContext(
            subreddit=sub, title=title, selftext="Thanks in advance! " * (i % 3),
            submission_author="op", ancestors=chain, target_author="asker", target_body=question,
        )  # fmt: skip
        requests.append(GenerationRequest(f"bench-{i}", context, params=params))
    return requests


def _settings(args, share_prompts: bool = True) -> ModelSettings:
    return ModelSettings(
        name=args.model, device="cpu", threads=args.threads, batch_size=args.batch_size,
        share_prompts=share_prompts,
    )  # fmt: skip


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- contenders


def run_batched(args, name: str = "batched", share_prompts: bool = True) -> Result:
    from redditbot.generation import transformers_backend as hf

    settings = _settings(args, share_prompts)
    loaded = hf.load_model(hf.prepare_model(settings, args.model, print), settings)
    requests = bench_requests(args.prompts, args.max_new_tokens, args.candidates)
    hf.TransformersGenerator(loaded, settings).generate(requests[:2])  # warm-up
    first_token: dict[int, float] = {}

    def on_step(rows: int) -> None:  # a row with one token has just had its first
        for row, out in generator.decoder.active:
            if len(out.token_ids) == 1:
                first_token.setdefault(row.request_index, time.perf_counter() - started)

    generator = hf.TransformersGenerator(loaded, settings, on_step=on_step)
    started, cpu_started = time.perf_counter(), time.process_time()
    generations = generator.generate(requests)
    wall = time.perf_counter() - started
    result = Result(name, wall_s=wall, peak_rss_mb=_peak_rss_mb())
    result.cpu_s = time.process_time() - cpu_started
    result.new_tokens = sum(c.tokens_out for g in generations for c in g.candidates)
    result.latencies_s = [g.latency_s for g in generations]
    # a row that ended with its first token left before on_step saw it: its latency is its ttft
    result.ttft_s = [first_token.get(i, g.latency_s) for i, g in enumerate(generations)]
    result.replies = _token_ids(loaded, generations)
    return result


def run_batched_own(args) -> Result:
    return run_batched(args, "batched-own", share_prompts=False)


def _token_ids(loaded, generations) -> list[str]:
    return [g.candidates[0].text for g in generations]


def _stops(loaded, settings) -> list[int]:
    """What ends a reply: the end tokens, and in a transcript the line breaks (as ours stop)."""
    from redditbot.generation import transformers_backend as hf

    return [*loaded.eos_token_ids, *hf.TransformersGenerator(loaded, settings).stop_token_ids]


def _texts(loaded, settings, rows: list[list[int]]) -> tuple[list[str], list[int]]:
    """Raw generated rows → (reply texts as our generator writes them, tokens each): each row cut
    after its first stop token (batched ``generate`` pads behind it)."""
    from redditbot.generation import transformers_backend as hf
    from redditbot.generation.sampling import RowResult

    stops, writer = set(_stops(loaded, settings)), hf.TransformersGenerator(loaded, settings)
    texts, counts = [], []
    for row in rows:
        end = next((i for i, token in enumerate(row) if token in stops), None)
        cut, reason = (len(row), "length") if end is None else (end + 1, "stop")
        texts.append(writer._candidate(RowResult(tuple(row[:cut]), None, reason)).text)
        counts.append(cut)
    return texts, counts


def _loaded_generator(args):
    from redditbot.generation import transformers_backend as hf

    settings = _settings(args)
    loaded = hf.load_model(hf.prepare_model(settings, args.model, print), settings)
    requests = bench_requests(args.prompts, args.max_new_tokens, args.candidates)
    hf.TransformersGenerator(loaded, settings).generate(requests[:2])  # warm-up
    return loaded, settings, requests, hf.TransformersGenerator(loaded, settings)


def arrivals(count: int, rate: float, seed: int = 7) -> list[float]:
    """Seconds from the start at which each of ``count`` prompts arrives: a Poisson process of
    ``rate`` per second (0: all at once)."""
    if rate <= 0:
        return [0.0] * count
    rng, at, times = random.Random(seed), 0.0, []
    for _ in range(count):
        times.append(at)
        at += rng.expovariate(rate)
    return times


def run_continuous(args, rate: float = 0.0, name: str = "continuous") -> Result:
    """One ``generate`` call per prompt, each from its own thread when its prompt arrives (at
    ``rate`` a second; 0: all at once, the decoder's saturation)."""
    loaded, settings, requests, generator = _loaded_generator(args)
    due = arrivals(len(requests), rate)
    done: dict[int, tuple[float, object]] = {}

    def one(index: int) -> None:
        [generation] = generator.generate([requests[index]])
        done[index] = (time.perf_counter(), generation)

    started, cpu_started = time.perf_counter(), time.process_time()
    callers = []
    for index, at in enumerate(due):
        time.sleep(max(0.0, started + at - time.perf_counter()))
        callers.append(threading.Thread(target=one, args=(index,)))
        callers[-1].start()
    for caller in callers:
        caller.join()
    return _arrival_result(name, loaded, requests, due, done, started, cpu_started)


def run_poisson_continuous(args) -> Result:
    return run_continuous(args, args.rate, "poisson-cont")


def run_poisson_fixed(args) -> Result:
    """Fixed batches under the same arrivals: all that has arrived (up to the batch size) in one
    call, to its end, then the next batch."""
    loaded, settings, requests, generator = _loaded_generator(args)
    due = arrivals(len(requests), args.rate)
    done: dict[int, tuple[float, object]] = {}
    started, cpu_started = time.perf_counter(), time.process_time()
    waiting = list(range(len(requests)))
    while waiting:
        time.sleep(max(0.0, started + due[waiting[0]] - time.perf_counter()))
        now = time.perf_counter() - started
        batch = [i for i in waiting if due[i] <= now][: args.batch_size]
        generations = generator.generate([requests[i] for i in batch])
        finished = time.perf_counter()
        for index, generation in zip(batch, generations, strict=True):
            done[index] = (finished, generation)
        waiting = [i for i in waiting if i not in batch]
    return _arrival_result("poisson-fixed", loaded, requests, due, done, started, cpu_started)


def _arrival_result(name, loaded, requests, due, done, started, cpu_started) -> Result:
    wall = max(at for at, _ in done.values()) - started
    result = Result(name, wall_s=wall, peak_rss_mb=_peak_rss_mb())
    result.cpu_s = time.process_time() - cpu_started
    generations = [done[i][1] for i in range(len(requests))]
    result.new_tokens = sum(c.tokens_out for g in generations for c in g.candidates)
    result.latencies_s = [done[i][0] - (started + due[i]) for i in range(len(requests))]
    # time to first token is not observed per caller here: each reply's latency stands in
    result.ttft_s = list(result.latencies_s)
    result.replies = _token_ids(loaded, generations)
    return result


def run_hf_batched(args) -> Result:
    """transformers' own batched ``generate``: left-padded prompts, ``--batch-size`` at once."""
    import torch

    from redditbot.generation import transformers_backend as hf

    settings = _settings(args)
    loaded = hf.load_model(hf.prepare_model(settings, args.model, print), settings)
    prompts = _prompts(loaded, settings, bench_requests(args.prompts, args.max_new_tokens))
    pad, stops = loaded.pad_token_id, _stops(loaded, settings)

    def batch(chunk: list[str]) -> list[list[int]]:
        encoded = [loaded.tokenizer.encode(p) for p in chunk]
        width = max(map(len, encoded))
        ids = torch.tensor([[pad] * (width - len(e)) + e for e in encoded])
        mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded])
        out = loaded.model.generate(
            ids, attention_mask=mask, max_new_tokens=args.max_new_tokens, do_sample=False,
            eos_token_id=stops, pad_token_id=pad,
        )  # fmt: skip
        return [row[width:].tolist() for row in out]

    batch(prompts[:2])  # warm-up
    result = Result("hf-batched")
    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, len(prompts), args.batch_size):
        chunk = prompts[start : start + args.batch_size]
        own_start = time.perf_counter()
        texts, counts = _texts(loaded, settings, batch(chunk))
        result.replies += texts
        result.new_tokens += sum(counts)
        result.latencies_s += [time.perf_counter() - started] * len(chunk)
        result.ttft_s += [time.perf_counter() - own_start] * len(chunk)  # not streamed: upper bound
    result.wall_s = time.perf_counter() - started
    result.cpu_s = time.process_time() - cpu_started
    result.peak_rss_mb = _peak_rss_mb()
    return result


def _prompts(loaded, settings, requests) -> list[str]:
    from redditbot.generation import transformers_backend as hf

    generator = hf.TransformersGenerator(loaded, settings)
    return [generator._prompt(request) for request in requests]


def run_baseline(args) -> Result:
    import torch
    from transformers.generation.streamers import BaseStreamer

    from redditbot.generation import transformers_backend as hf

    settings = _settings(args)
    loaded = hf.load_model(hf.prepare_model(settings, args.model, print), settings)
    prompts = _prompts(loaded, settings, bench_requests(args.prompts, args.max_new_tokens))
    stops = _stops(loaded, settings)

    class FirstToken(BaseStreamer):
        def __init__(self) -> None:
            self.puts, self.first_at = 0, 0.0

        def put(self, value) -> None:
            self.puts += 1
            if self.puts == 2:  # the first put is the prompt itself
                self.first_at = time.perf_counter()

        def end(self) -> None:
            pass

    def one(prompt: str, streamer=None) -> list[int]:
        ids = torch.tensor([loaded.tokenizer.encode(prompt)])
        out = loaded.model.generate(
            ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.max_new_tokens,
            do_sample=False, eos_token_id=stops, pad_token_id=loaded.pad_token_id,
            streamer=streamer,
        )  # fmt: skip
        return out[0, ids.shape[1] :].tolist()

    one(prompts[0])  # warm-up
    result = Result("baseline")
    started, cpu_started = time.perf_counter(), time.process_time()
    for prompt in prompts:
        streamer, own_start = FirstToken(), time.perf_counter()
        [text], [count] = _texts(loaded, settings, [one(prompt, streamer)])
        result.new_tokens += count
        result.replies.append(text)
        result.ttft_s.append(streamer.first_at - own_start)
        result.latencies_s.append(time.perf_counter() - started)
    result.wall_s = time.perf_counter() - started
    result.cpu_s = time.process_time() - cpu_started
    result.peak_rss_mb = _peak_rss_mb()
    return result


def run_llama_cpp(args) -> Result:
    try:
        from llama_cpp import Llama
    except ImportError:
        return Result("llama.cpp", note="skipped: llama-cpp-python is not installed")
    from redditbot.generation import transformers_backend as hf
    from redditbot.generation.model_store import fetch_default_gguf, is_default

    if not is_default(args.model):
        return Result("llama.cpp", note="skipped: it runs the default model's GGUF file only")

    settings = _settings(args)
    loaded = hf.load_model(hf.prepare_model(settings, args.model, print), settings)
    prompts = _prompts(loaded, settings, bench_requests(args.prompts, args.max_new_tokens))
    llm = Llama(
        model_path=str(fetch_default_gguf(settings, print)), n_ctx=2048,
        n_threads=args.threads, verbose=False,
    )  # fmt: skip
    result = Result("llama.cpp")
    started, cpu_started = time.perf_counter(), time.process_time()
    for prompt in prompts:
        own_start, first = time.perf_counter(), None
        stream = llm.create_completion(
            prompt, max_tokens=args.max_new_tokens, temperature=0.0, stream=True
        )
        for _ in stream:
            first = first or time.perf_counter()
            result.new_tokens += 1
        result.ttft_s.append((first or time.perf_counter()) - own_start)
        result.latencies_s.append(time.perf_counter() - started)
    result.wall_s = time.perf_counter() - started
    result.cpu_s = time.process_time() - cpu_started
    result.peak_rss_mb = _peak_rss_mb()
    return result


CONTENDERS = {
    "baseline": run_baseline,
    "hf-batched": run_hf_batched,
    "batched": run_batched,
    "batched-own": run_batched_own,
    "continuous": run_continuous,
    "poisson-fixed": run_poisson_fixed,
    "poisson-cont": run_poisson_continuous,
    "llama.cpp": run_llama_cpp,
}


# --------------------------------------------------------------------------- driver


def run_in_subprocess(name: str, args) -> Result:
    """Each contender in its own process, so peak RSS is its own."""
    command = [sys.executable, __file__, "--only", name, "--json"]
    command += ["--prompts", str(args.prompts), "--batch-size", str(args.batch_size)]
    command += ["--max-new-tokens", str(args.max_new_tokens), "--threads", str(args.threads)]
    command += ["--model", args.model, "--rate", str(args.rate)]
    command += ["--candidates", str(args.candidates)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return Result(name, note=f"failed: {done.stderr.strip().splitlines()[-1:]}")
    return Result(**json.loads(lines[-1]))


ORDER = ("baseline", "hf-batched", "batched", "batched-own", "continuous", "poisson-fixed",
         "poisson-cont", "llama.cpp")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help="model name or local directory")
    parser.add_argument("--prompts", type=int, default=16, help="number of replies to write")
    parser.add_argument("--batch-size", type=int, default=16, help="batched generator's batch")
    parser.add_argument(
        "--max-new-tokens", type=int, default=ModelSettings().max_new_tokens,
        help="reply length limit (default: the bot's own, [model] max_new_tokens)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for every contender")
    parser.add_argument(
        "--candidates", type=int, default=1,
        help="rows per reply (the bot writes 4) for batched, batched-own, continuous and "
        "poisson-*; tokens count every row, so compare those with each other, not the baseline",
    )  # fmt: skip
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds, each running every contender in turn"
    )
    parser.add_argument(
        "--rate", type=float, default=0.3, help="poisson-* rows: prompts arriving per second"
    )
    parser.add_argument(
        "--contenders", default=",".join(ORDER),
        help=f"comma-separated, run in this order (default: all of {','.join(ORDER)})",
    )  # fmt: skip
    parser.add_argument("--only", choices=sorted(CONTENDERS), help="run one contender here")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    if args.only:
        result = CONTENDERS[args.only](args)
        print(json.dumps(result.__dict__) if args.json else result.row())
        return 0
    names = [name.strip() for name in args.contenders.split(",") if name.strip()]
    unknown = sorted(set(names) - set(CONTENDERS))
    if unknown:
        parser.error(f"--contenders: unknown {unknown}; known: {', '.join(ORDER)}")
    print(f"{args.prompts} replies, <= {args.max_new_tokens} new tokens each, greedy, "
          f"{args.threads} threads, batch {args.batch_size}, model {args.model}, "
          f"poisson rate {args.rate}/s")  # fmt: skip
    ratios: list[tuple[float, float]] = []
    for round_number in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"round {round_number}/{args.repeat}")
        results = {name: run_in_subprocess(name, args) for name in names}
        for result in results.values():
            print(result.row())
        ratios += _report_ratios(results)
    if len(ratios) > 1:
        wall = statistics.median(r[0] for r in ratios)
        cpu = statistics.median(r[1] for r in ratios)
        print(f"median over {len(ratios)} rounds: batched / baseline {wall:.1f}x wall-clock, "
              f"{cpu:.1f}x per CPU-second (target >= 6x)")  # fmt: skip
    return 0


def _report_ratios(results: dict[str, Result]) -> list[tuple[float, float]]:
    """Print how the contenders compare; the batched generator's (wall, CPU) ratios to the
    baseline (empty when either is missing)."""
    ran = {name: r for name, r in results.items() if not r.note}
    baseline, batched = ran.get("baseline"), ran.get("batched")
    for name, result in ran.items():
        if baseline and name != "baseline" and name != "llama.cpp":
            differ = sum(a != b for a, b in zip(result.replies, baseline.replies, strict=True))
            print(f"{name}: same as baseline (greedy) in {len(result.replies) - differ} of "
                  f"{len(result.replies)} replies")  # fmt: skip
    if "hf-batched" in ran and batched:
        versus = _throughput(batched) / _throughput(ran["hf-batched"])
        print(f"batched / hf-batched (transformers' own batching) throughput: {versus:.2f}x")
    if "batched-own" in ran and batched:
        own = ran["batched-own"]
        print(f"batched (shared prompts) / batched-own: throughput "
              f"{_throughput(batched) / _throughput(own):.2f}x, peak RSS "
              f"{batched.peak_rss_mb:.0f} / {own.peak_rss_mb:.0f} MB")  # fmt: skip
    if "continuous" in ran and batched:
        versus = _throughput(ran["continuous"]) / _throughput(batched)
        print(f"continuous / batched throughput at saturation: {versus:.2f}x (target >= 1x)")
    if "poisson-fixed" in ran and "poisson-cont" in ran:
        fixed, cont = ran["poisson-fixed"], ran["poisson-cont"]
        p50 = _percentile(cont.latencies_s, 50) / _percentile(fixed.latencies_s, 50)
        p95 = _percentile(cont.latencies_s, 95) / _percentile(fixed.latencies_s, 95)
        print(f"poisson arrivals: continuous / fixed latency p50 {p50:.2f}x, p95 {p95:.2f}x "
              f"(target p95 <= 0.5x)")  # fmt: skip
    if not (baseline and batched):
        return []
    wall = _throughput(batched) / _throughput(baseline)
    cpu = (batched.new_tokens / batched.cpu_s) / (baseline.new_tokens / baseline.cpu_s)
    print(f"batched / baseline aggregate throughput: {wall:.1f}x (target >= 6x)")
    print(f"same, per CPU-second (less sensitive to other load on the machine): {cpu:.1f}x")
    llama = ran.get("llama.cpp")
    if llama:
        versus = _throughput(batched) / _throughput(llama)
        print(f"batched / llama.cpp single-stream throughput: {versus:.2f}x (target > 1x)")
    return [(wall, cpu)]


def _throughput(result: Result) -> float:
    return result.new_tokens / result.wall_s


if __name__ == "__main__":
    raise SystemExit(main())
