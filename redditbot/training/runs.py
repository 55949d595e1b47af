"""A training run's parameters, results and files; no torch here, so the CLI stays light.

See ``redditbot.training.train`` for the layout of a run's output directory.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from redditbot.errors import ConfigError
from redditbot.training.dataset import Dataset, read_dataset, write_jsonl

CHECKPOINTS = "checkpoints"
RUN_FILE = "training.json"
DATASET_FILE = "dataset.jsonl"
BASE_EVAL_FILE = "base_eval.json"
TRAINER_STATE = "trainer_state.json"  # the Trainer's, in every checkpoint it can resume from
LOOP_STATE = "trainer_state.pt"  # the hand-written loop's (before the Trainer)


@dataclass(frozen=True)
class TrainConfig:
    """How to fine-tune. ``max_steps`` (when set) wins over ``epochs``."""

    epochs: int = 1
    max_steps: int | None = None
    learning_rate: float = 5e-5
    batch_size: int = 4  # examples per forward pass (a micro-batch)
    gradient_accumulation: int = 1  # micro-batches per optimisation step
    max_grad_norm: float | None = 1.0  # the gradient's global norm is clipped to this (None: not)
    weight_decay: float = 0.0
    warmup_steps: int = 0
    max_seq_tokens: int = 512  # prompt + reply; longer prompts are shortened like the generator's
    max_reply_tokens: int = 192  # longer replies are cut (and then get no end-of-turn token)
    lora_rank: int = 0  # 0: full fine-tuning; else LoRA adapters of this rank (needs peft)
    checkpoint_every: int = 100
    keep_checkpoints: int = 2
    seed: int = 0
    device: str = "auto"  # 'auto' | 'cuda' | 'cpu'
    eval_batch_size: int = 8
    # the generator's [model] prompt_format, recorded so a resumed run encodes as it started
    # (runs started before it was recorded were chat)
    prompt_format: str = "chat"


@dataclass(frozen=True)
class EvalResult:
    """Mean cross-entropy per reply token over the validation pairs, and its perplexity."""

    loss: float
    perplexity: float
    tokens: int
    examples: int


@dataclass(frozen=True)
class Progress:
    """Where a run is, reported after every optimisation step."""

    step: int
    total_steps: int
    epoch: int
    loss: float
    learning_rate: float
    tokens_per_s: float
    elapsed_s: float


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced."""

    out_dir: Path
    steps: int
    base: EvalResult | None
    tuned: EvalResult | None
    train_examples: int
    validation_examples: int
    skipped_examples: int
    resumed_from: int


def eval_to_json(result: EvalResult | None) -> dict[str, Any] | None:
    """An evaluation as plain JSON (for the run files and the card)."""
    return None if result is None else asdict(result)


def eval_from_json(data: dict[str, Any] | None) -> EvalResult | None:
    """``eval_to_json`` undone."""
    return None if data is None else EvalResult(**data)


def write_json(path: Path, data: Any) -> None:
    """A small JSON file, written atomically."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    partial.replace(path)


# --------------------------------------------------------------------------- run directory


def start_run(
    out_dir: Path,
    dataset: Dataset,
    config: TrainConfig,
    base: str,
    persona: str,
    permission: dict[str, Any] | None = None,
) -> str:
    """Freeze the data, parameters and permission of a new run in ``out_dir``; returns the base."""
    if (out_dir / RUN_FILE).exists():
        raise ConfigError(
            f"{out_dir} already holds a training run: pass --resume to continue it, "
            "or choose another --out"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(dataset.records(persona), out_dir / DATASET_FILE)
    info = {
        "subreddit": dataset.subreddit,
        "base": base,
        "persona": persona,
        "config": asdict(config),
        "counts": dataset.counts(),
        "permission": permission,
    }
    write_json(out_dir / RUN_FILE, info)
    return base


def load_run(out_dir: Path, subreddit: str) -> tuple[Dataset, TrainConfig, str, str]:
    """The frozen dataset, parameters, persona and base model of the run in ``out_dir``."""
    info = run_info(out_dir)
    if info["subreddit"].lower() != subreddit.lower():
        raise ConfigError(
            f"{out_dir} holds a run for r/{info['subreddit']}, not r/{subreddit}; "
            "check --out and --subreddit"
        )
    if info.get("purged"):
        raise ConfigError(
            f"the run in {out_dir} can no longer resume: {info['purged']['pairs']} of its frozen "
            "pairs were deleted on Reddit after it started, and its frozen pairs were deleted "
            "with them; start a new run (another --out, or remove this directory)"
        )
    if not (out_dir / DATASET_FILE).is_file():
        raise ConfigError(f"the run in {out_dir} has finished: there is nothing to resume")
    dataset = read_dataset(out_dir / DATASET_FILE, info["subreddit"])
    return dataset, TrainConfig(**info["config"]), info["persona"], info["base"]


def forget_purged(out_dir: Path, pairs: int) -> None:
    """The frozen pairs of the run in ``out_dir`` hold ``pairs`` deleted on Reddit since: they
    are deleted (a stored copy of users' text), and the run is marked as one that cannot resume
    (without them it would not be the same run)."""
    info = run_info(out_dir)
    write_json(out_dir / RUN_FILE, info | {"purged": {"pairs": pairs}})
    (out_dir / DATASET_FILE).unlink(missing_ok=True)


def run_info(out_dir: Path) -> dict[str, Any]:
    """``training.json`` of the run in ``out_dir``."""
    path = out_dir / RUN_FILE
    if not path.is_file():
        raise ConfigError(f"nothing to resume: {out_dir} holds no training run ({RUN_FILE})")
    return json.loads(path.read_text())


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest complete checkpoint, or None (a resumed run then starts from step 0)."""
    found = sorted((out_dir / CHECKPOINTS).glob("step-*"))
    return found[-1] if found else None


def require_trainer_checkpoint(checkpoint: Path) -> Path:
    """``checkpoint`` if the ``Trainer`` can resume from it. Checkpoints of the hand-written
    loop that training ran before (``trainer_state.pt``, no ``trainer_state.json``) cannot be:
    their optimizer state has another layout, and resuming without it would not be exact."""
    if (checkpoint / LOOP_STATE).is_file() and not (checkpoint / TRAINER_STATE).is_file():
        raise ConfigError(
            f"{checkpoint} was written by the training loop of redditbot before it moved to "
            "transformers' Trainer, which cannot resume it exactly: finish that run with the "
            "version that started it, or start it again with another --out"
        )
    return checkpoint


def checkpoint_step(checkpoint: Path) -> int:
    """The step a checkpoint directory was saved at."""
    return int(checkpoint.name.removeprefix("step-"))


def base_evaluation(out_dir: Path, measure: Callable[[], EvalResult | None]) -> EvalResult | None:
    """The base model's validation figures: measured once per run, then read back."""
    path = out_dir / BASE_EVAL_FILE
    if path.is_file():
        return eval_from_json(json.loads(path.read_text()))
    result = measure()
    write_json(path, eval_to_json(result))
    return result


def remove_resume_files(out_dir: Path) -> None:
    """What only resuming needs: the checkpoints (large) and the frozen pairs (users' text,
    which must not outlive the run in a directory that may be copied anywhere with the model)."""
    shutil.rmtree(out_dir / CHECKPOINTS, ignore_errors=True)
    (out_dir / DATASET_FILE).unlink(missing_ok=True)
