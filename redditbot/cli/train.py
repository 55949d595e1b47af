"""``redditbot train`` and ``redditbot export-dataset``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redditbot.errors import ConfigError
from redditbot.generation.model_store import cache_dir_of
from redditbot.generation.settings import ModelSettings
from redditbot.training.dataset import (
    Dataset,
    load_store_dataset,
    require_training_allowed,
    store_purged_pairs,
    write_jsonl,
)
from redditbot.training.runs import Progress, TrainConfig, forget_purged, load_run

DEFAULTS = TrainConfig()
LOG_EVERY_STEPS = 10
LOG_EVERY_S = 30.0  # on a CPU one step of the default model takes many seconds


def add_commands(subparsers) -> None:
    """Register ``train`` and ``export-dataset``."""
    _add_train(subparsers)
    export = subparsers.add_parser(
        "export-dataset",
        help="write a subreddit's context → reply pairs as JSON lines",
        description="The pairs `train` would learn from (cleaned, deduplicated, split by "
        "thread), each with its chat messages in the generator's prompt format.",
    )
    export.add_argument("--subreddit", required=True, help="subreddit whose threads to export")
    export.add_argument("--out", type=Path, help="output file (default: ./NAME.jsonl)")
    _add_split_options(export)
    export.set_defaults(handler=export_dataset_command)


def _add_train(subparsers) -> None:
    train = subparsers.add_parser(
        "train",
        help="fine-tune the reply model on a subreddit's stored threads",
        description="Build context → reply pairs from the store, fine-tune a causal language "
        "model on the replies (GPU when present, else CPU), compare validation loss and "
        "perplexity of the base and tuned models, and save the tuned model with a model card.",
    )
    train.add_argument("--subreddit", required=True, help="subreddit whose threads to learn")
    train.add_argument("--base", help="model to start from (default: the subreddit's [model] name)")
    train.add_argument("--out", type=Path, help="output directory (default: CACHE/tuned/NAME)")
    train.add_argument(
        "--epochs",
        type=int,
        default=DEFAULTS.epochs,
        help="passes over the data (default: %(default)s)",
    )
    train.add_argument(
        "--max-steps", type=int, help="stop after this many steps (wins over epochs)"
    )
    train.add_argument(
        "--lr",
        type=float,
        default=DEFAULTS.learning_rate,
        help="peak learning rate, decayed linearly to 0 (default: %(default)s)",
    )
    train.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULTS.batch_size,
        help="pairs per forward pass (default: %(default)s)",
    )
    train.add_argument(
        "--gradient-accumulation",
        type=int,
        default=DEFAULTS.gradient_accumulation,
        help="batches whose gradients make one step: a step sees batch-size × this many pairs "
        "in the memory of one batch (default: %(default)s)",
    )
    train.add_argument(
        "--max-grad-norm",
        type=float,
        default=DEFAULTS.max_grad_norm,
        help="clip the gradient's norm to this; 0: no clipping (default: %(default)s)",
    )
    train.add_argument(
        "--max-seq-tokens",
        type=int,
        default=DEFAULTS.max_seq_tokens,
        help="longest prompt + reply, in tokens (default: %(default)s)",
    )
    train.add_argument(
        "--checkpoint-every",
        type=int,
        default=DEFAULTS.checkpoint_every,
        help="steps between checkpoints (default: %(default)s)",
    )
    train.add_argument(
        "--lora-rank",
        type=int,
        default=DEFAULTS.lora_rank,
        help="train LoRA adapters of this rank instead of every weight (needs peft; the saved "
        "model has them merged in); 0: full fine-tuning (default: %(default)s)",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last checkpoint, with its saved data and "
        "parameters (the options above are then ignored)",
    )
    _add_split_options(train)
    train.set_defaults(handler=train_command)


def _add_split_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=0.1,
        help="share of threads held out for validation (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the split and the shuffling (default: %(default)s)",
    )


# --------------------------------------------------------------------------- handlers


def export_dataset_command(ctx, args: argparse.Namespace) -> int:
    """Write the pairs as JSON lines and say how many there are."""
    require_training_allowed(ctx.settings, args.subreddit)
    dataset = load_dataset(ctx.settings, args)
    out = args.out or Path(f"{dataset.subreddit}.jsonl")
    written = write_jsonl(dataset.records(ctx.settings.persona_for(args.subreddit)), out)
    ctx.print(f"wrote {written} pairs to {out}")
    _print_counts(ctx, dataset)
    return 0


def train_command(ctx, args: argparse.Namespace) -> int:
    """Fine-tune, printing progress, then the metrics and how to use the tuned model."""
    from redditbot.training.train import describe_eval, train

    settings = ctx.settings
    permission = require_training_allowed(settings, args.subreddit)
    model: ModelSettings = settings.model_for(args.subreddit)
    out = args.out or cache_dir_of(model) / "tuned" / args.subreddit
    if args.resume:
        _refuse_purged_resume(settings, args.subreddit, out)
    dataset = None if args.resume else _training_dataset(ctx, args)
    result = train(
        args.subreddit,
        dataset=dataset,
        base=args.base or model.name,
        out_dir=out,
        model_settings=model,
        persona=settings.persona_for(args.subreddit),
        config=train_config(args, model),
        resume=args.resume,
        permission=permission,
        on_progress=progress_reporter(ctx),
        on_message=ctx.print,
    )
    ctx.print(f"done: {result.steps} steps; {describe_eval(result.tuned)}")
    ctx.print(f"model card: {out / 'README.md'}")
    ctx.print(f'use it: [[subreddits]] name = "{args.subreddit}", model = {{ name = "{out}" }}')
    return 0


def _refuse_purged_resume(settings: Any, subreddit: str, out: Path) -> None:
    """A run resumed after some of its frozen pairs were deleted on Reddit would train on them:
    they are deleted with the rest of its frozen pairs, and the resume is refused."""
    frozen, _, _, _ = load_run(out, subreddit)
    purged = store_purged_pairs(settings, frozen)
    if purged:
        forget_purged(out, len(purged))
        load_run(out, subreddit)  # raises: the run can no longer resume, and why


def _training_dataset(ctx, args: argparse.Namespace) -> Dataset:
    dataset = load_dataset(ctx.settings, args)
    _print_counts(ctx, dataset)
    if not dataset.train:
        raise ConfigError(f"r/{args.subreddit}: the store holds no usable reply to learn from")
    return dataset


def train_config(args: argparse.Namespace, model: ModelSettings) -> TrainConfig:
    """The run's parameters from the command line, on the configured device."""
    for name in (
        "epochs",
        "batch_size",
        "gradient_accumulation",
        "checkpoint_every",
        "max_seq_tokens",
    ):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
    if args.lora_rank < 0:
        raise ConfigError("--lora-rank must be 0 (full fine-tuning) or more")
    if args.max_grad_norm < 0:
        raise ConfigError("--max-grad-norm must be 0 (no clipping) or more")
    if args.max_steps is not None and args.max_steps < 1:
        raise ConfigError("--max-steps must be at least 1")
    return TrainConfig(
        epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        gradient_accumulation=args.gradient_accumulation,
        max_grad_norm=args.max_grad_norm or None,
        max_seq_tokens=args.max_seq_tokens,
        checkpoint_every=args.checkpoint_every,
        lora_rank=args.lora_rank,
        seed=args.seed,
        device=model.device,
    )


def load_dataset(settings: Any, args: argparse.Namespace) -> Dataset:
    """The subreddit's pairs, read from the configured store (read-only)."""
    if not 0 <= args.validation_fraction < 1:
        raise ConfigError("--validation-fraction must be in [0, 1)")
    return load_store_dataset(
        settings, args.subreddit, validation_fraction=args.validation_fraction, seed=args.seed
    )


def _print_counts(ctx, dataset: Dataset) -> None:
    counts = dataset.counts()
    ctx.print(
        f"r/{dataset.subreddit}: {counts['train_pairs']} training pairs "
        f"({counts['train_threads']} threads), {counts['validation_pairs']} validation pairs "
        f"({counts['validation_threads']} threads)"
    )
    if counts["dropped"]:
        ctx.print("left out: " + ", ".join(f"{k} {v}" for k, v in counts["dropped"].items()))


def progress_reporter(ctx) -> Callable[[Progress], None]:
    """A tqdm bar when stderr is a terminal; else a plain line now and then (logs, pipes)."""
    from redditbot.progress import TrainingBar, is_terminal

    return TrainingBar(ctx.err) if is_terminal(ctx.err) else ProgressPrinter(ctx.print)


class ProgressPrinter:
    """A progress callback: a line every ten steps or 30 s, and at the first and last step."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._printed_at = -LOG_EVERY_S

    def __call__(self, progress: Progress) -> None:
        due = progress.elapsed_s - self._printed_at >= LOG_EVERY_S
        edge = progress.step in (1, progress.total_steps)
        if progress.step % LOG_EVERY_STEPS and not (due or edge):
            return
        self._printed_at = progress.elapsed_s
        self._say(describe_progress(progress))


def describe_progress(progress: Progress) -> str:
    """One line: step, epoch, loss, learning rate, speed, time spent and left."""
    left = (progress.total_steps - progress.step) * progress.elapsed_s / max(progress.step, 1)
    return (
        f"step {progress.step}/{progress.total_steps}  epoch {progress.epoch}  "
        f"loss {progress.loss:.4f}  lr {progress.learning_rate:.2e}  "
        f"{progress.tokens_per_s:.0f} tok/s  {_clock(progress.elapsed_s)} elapsed, "
        f"~{_clock(left)} left"
    )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
