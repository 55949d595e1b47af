"""Fine-tuning throughput: training tokens per second of the default model on this machine.

A real ``redditbot.training.train.train`` run (full fine-tuning, AdamW, fp32 on the CPU, bf16
autocast on CUDA) on context → reply pairs built from the sandbox corpus's threads, in the
generator's prompt format. Reported: steady-state training tokens per second (every token of
every sequence goes forward and backward; the first step, which warms up allocators and
kernels, is left out), the same for the supervised reply tokens only, seconds per step, and
tokens per CPU-second (on a shared machine the wall clock also counts other jobs' time).
Model loading, the final save and the temporary output directory are not timed.

    .venv/bin/python benchmarks/bench_train.py [--steps 5] [--batch-size 4] [--lora-rank 0]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="optimisation steps (first untimed)")
    parser.add_argument("--batch-size", type=int, default=4, help="pairs per step")
    parser.add_argument("--max-seq-tokens", type=int, default=512, help="prompt + reply cap")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--lora-rank", type=int, default=0, help="LoRA rank (0: full)")
    args = parser.parse_args()

    from redditbot.generation import transformers_backend as hf
    from redditbot.training import train as training

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
        examples, _ = training.encode_pairs(pairs, loaded, DEFAULT_PERSONA, config)
        del loaded
        training.train(
            "bench", dataset=dataset, base="default", out_dir=out / "run",
            model_settings=settings, persona=DEFAULT_PERSONA, config=config,
            on_progress=lambda progress: steps.append((progress, time.process_time())),
        )  # fmt: skip
    finally:
        shutil.rmtree(out, ignore_errors=True)
    report(args, steps, examples)


def report(args, steps, examples) -> None:
    (first, first_cpu), (last, last_cpu) = steps[0], steps[-1]
    tokens = last.tokens_per_s * last.elapsed_s - first.tokens_per_s * first.elapsed_s
    seconds, cpu_seconds = last.elapsed_s - first.elapsed_s, last_cpu - first_cpu
    reply_share = sum(e.reply_tokens for e in examples) / sum(len(e.input_ids) for e in examples)
    mean_len = sum(len(e.input_ids) for e in examples) / len(examples)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    method = f"LoRA rank {args.lora_rank}" if args.lora_rank else "full fine-tuning"
    print(f"model: SmolLM2-135M-Instruct, {method}, AdamW, {args.threads} threads")
    print(f"pairs: {len(examples)} (mean {mean_len:.0f} tokens, {reply_share:.0%} reply tokens)")
    print(f"batch {args.batch_size}, {len(steps)} steps, first step {first.elapsed_s:.1f} s")
    print(f"steady state: {seconds / (len(steps) - 1):.2f} s/step (wall)")
    rate = tokens / seconds
    print(f"training tokens/s: {rate:.0f} (reply tokens/s: about {reply_share * rate:.0f})")
    # On a shared machine the wall clock also counts other jobs' time: CPU time does not.
    print(f"tokens per CPU-second: {tokens / cpu_seconds:.1f} ({cpu_seconds:.0f} CPU-s timed)")
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
