"""Fine-tuning throughput: transformers' ``Trainer`` (the package) against the hand-written loop
it replaced (benchmarks/train_loop_baseline.py), the default model, in the same run.

Each loop runs in a process of its own (so that each has its own peak RSS), one after the
other, on the same pairs (built from the sandbox corpus's threads, in the generator's prompt
format), seed and parameters: full fine-tuning (or LoRA), AdamW, fp32 on the CPU, bf16
autocast on CUDA. Reported for each: steady-state seconds per step and training tokens per
second (every token of every sequence goes forward and backward; the first step, which warms
up allocators and kernels, is left out), tokens per CPU-second (on a shared machine the wall
clock also counts other jobs' time), peak RSS, and the last step's loss (the same data in the
same order: the two must agree); then the Trainer's figures as ratios to the loop's. The load
average is printed before and after. Model loading, the final save and the temporary output
directory are not timed.

    .venv/bin/python benchmarks/bench_train.py [--steps 5] [--batch-size 4] [--lora-rank 0]
        [--loop both|trainer|baseline] [--first baseline|trainer] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redditbot.domain import ContextComment, ThreadContext  # noqa: E402
from redditbot.generation.settings import DEFAULT_PERSONA, ModelSettings  # noqa: E402
from redditbot.training.dataset import Dataset, Pair  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "redditbot/reddit/sandbox/corpus/threads.json"


def corpus_pairs() -> list[Pair]:
    """Every comment of the sandbox corpus as a reply to its parent, with its chain above."""
    threads = json.loads(CORPUS.read_text())["threads"]
    pairs: list[Pair] = []
    for index, thread in enumerate(threads):
        post = ThreadContext(
            subreddit="bench",
            title=thread["title"],
            selftext=thread.get("selftext", ""),
            submission_author=thread["author"],
        )
        _walk(f"t3_{index}", post, (), None, thread["comments"], pairs)
    return pairs


def _walk(thread_id, post, chain, parent, comments, pairs) -> None:
    for comment in comments:
        context = ThreadContext(
            subreddit=post.subreddit, title=post.title, selftext=post.selftext,
            submission_author=post.submission_author, ancestors=chain,
            target_author=parent.author if parent else None,
            target_body=parent.body if parent else None,
        )  # fmt: skip
        pairs.append(Pair(thread_id, f"t1_{len(pairs)}", context, comment["body"]))
        below = chain + ((parent,) if parent else ())
        here = ContextComment(comment["author"], comment["body"])
        _walk(thread_id, post, below, here, comment.get("replies", []), pairs)


LOOPS = ("baseline", "trainer")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="optimisation steps (first untimed)")
    parser.add_argument("--batch-size", type=int, default=4, help="pairs per step")
    parser.add_argument("--max-seq-tokens", type=int, default=512, help="prompt + reply cap")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--lora-rank", type=int, default=0, help="LoRA rank (0: full)")
    parser.add_argument("--loop", choices=("both", *LOOPS), default="both",
                        help="both (each in its own process), or one in this process")  # fmt: skip
    parser.add_argument("--first", choices=LOOPS, default="baseline",
                        help="which loop runs first (the load moves; swap to see)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.loop != "both":
        figures = measure(args)
        print(json.dumps(figures))
        return
    load_before = os.getloadavg()
    results = {}
    for loop in sorted(LOOPS, key=lambda name: name != args.first):
        command = [sys.executable, __file__, *_passed_on(args), "--loop", loop]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"{loop} failed:\n{done.stderr[-4000:]}")
        results[loop] = json.loads(done.stdout.strip().splitlines()[-1])
    report(args, results, load_before, os.getloadavg())
    if args.json:
        args.json.write_text(json.dumps({"loops": results, "load": [load_before, os.getloadavg()]},
                                        indent=2) + "\n")  # fmt: skip


def _passed_on(args: argparse.Namespace) -> list[str]:
    return ["--steps", str(args.steps), "--batch-size", str(args.batch_size),
            "--max-seq-tokens", str(args.max_seq_tokens), "--threads", str(args.threads),
            "--device", args.device, "--lora-rank", str(args.lora_rank)]  # fmt: skip


def measure(args: argparse.Namespace) -> dict:
    """One loop's run in this process: its figures as plain data."""
    from redditbot.generation import transformers_backend as hf
    from redditbot.training import train as training

    if args.loop == "baseline":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import train_loop_baseline as loop_module
    else:
        loop_module = training
    hf.torch.set_num_threads(args.threads)
    settings = ModelSettings(device=args.device)
    pairs = corpus_pairs()
    dataset = Dataset("bench", tuple(pairs), ())
    config = training.TrainConfig(
        max_steps=args.steps, batch_size=args.batch_size, max_seq_tokens=args.max_seq_tokens,
        checkpoint_every=10**9, device=args.device, lora_rank=args.lora_rank,
    )  # fmt: skip
    steps: list = []
    out = Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        loaded = hf.load_model(hf.prepare_model(settings, "default"), settings)
        config = replace(config, prompt_format=settings.prompt_format)
        examples, _ = training.encode_pairs(pairs, loaded, DEFAULT_PERSONA, config)
        device = loaded.device
        del loaded
        loop_module.train(
            "bench", dataset=dataset, base="default", out_dir=out / "run",
            model_settings=settings, persona=DEFAULT_PERSONA, config=config,
            on_progress=lambda progress: steps.append((progress, time.process_time())),
        )  # fmt: skip
    finally:
        shutil.rmtree(out, ignore_errors=True)
    (first, first_cpu), (last, last_cpu) = steps[0], steps[-1]
    tokens = last.tokens_per_s * last.elapsed_s - first.tokens_per_s * first.elapsed_s
    seconds, cpu_seconds = last.elapsed_s - first.elapsed_s, last_cpu - first_cpu
    return {
        "loop": args.loop,
        "device": device,
        "steps": len(steps),
        "first_step_s": first.elapsed_s,
        "s_per_step": seconds / max(len(steps) - 1, 1),
        "tokens_per_s": tokens / seconds if seconds > 0 else 0.0,
        "tokens_per_cpu_s": tokens / cpu_seconds if cpu_seconds > 0 else 0.0,
        "cpu_s_timed": cpu_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "losses": [progress.loss for progress, _ in steps],
        "pairs": len(examples),
        "mean_tokens": sum(len(e.input_ids) for e in examples) / len(examples),
        "reply_share": sum(e.reply_tokens for e in examples)
        / sum(len(e.input_ids) for e in examples),
    }


def report(args, results: dict, load_before, load_after) -> None:
    base, new = results["baseline"], results["trainer"]
    method = f"LoRA rank {args.lora_rank}" if args.lora_rank else "full fine-tuning"
    print(f"model: SmolLM2-135M-Instruct on {new['device']}, {method}, AdamW, "
          f"{args.threads} threads")  # fmt: skip
    print(
        f"pairs: {new['pairs']} (mean {new['mean_tokens']:.0f} tokens, "
        f"{new['reply_share']:.0%} reply tokens); batch {args.batch_size}, {args.steps} steps"
    )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"({os.cpu_count()} CPUs)")  # fmt: skip
    rows = (
        ("first step s", "first_step_s", ".1f"), ("s/step (wall)", "s_per_step", ".2f"),
        ("tokens/s (wall)", "tokens_per_s", ".0f"), ("tokens/CPU-s", "tokens_per_cpu_s", ".1f"),
        ("peak RSS MB", "peak_rss_mb", ".0f"),
    )  # fmt: skip
    print(f"{'':18} {'loop':>10} {'Trainer':>10} {'ratio':>7}")
    for label, key, spec in rows:
        ratio = new[key] / base[key] if base[key] else float("nan")
        print(f"{label:18} {base[key]:>10{spec}} {new[key]:>10{spec}} {ratio:>7.2f}")
    print(f"{'last step loss':18} {base['losses'][-1]:>10.4f} {new['losses'][-1]:>10.4f} "
          f"{new['losses'][-1] - base['losses'][-1]:>+7.4f}")  # fmt: skip
    drift = max(abs(a - b) for a, b in zip(base["losses"], new["losses"], strict=True))
    print(f"largest loss difference over the steps: {drift:.2e}")


if __name__ == "__main__":
    main()
