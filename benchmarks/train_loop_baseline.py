"""The hand-written training loop that ``redditbot.training.train`` ran before it moved to
transformers' ``Trainer``, kept frozen as benchmarks/bench_train.py's baseline (not used by the
package). Its docstring as it was:

Fine-tuning the reply model: cross-entropy on the reply tokens, checkpoints, evaluation.

The torch adapter of the training package (with transformers, through the generation
package's loader). Each example is the prompt exactly as the generator renders it, followed by
the reply and the end-of-turn token; only the reply's tokens carry a loss, so the model learns
how this subreddit answers, not how to write prompts.

A run lives in one output directory::

    training.json      what is trained on what, with which parameters (written first)
    dataset.jsonl      the pairs, frozen when the run starts, so a resumed run sees the same data
    base_eval.json     the base model's validation loss, measured once
    checkpoints/step-N model, tokenizer, optimizer and scheduler state, every N steps
    README.md          the model card; with config.json, model.safetensors and the tokenizer,
                       the directory is a model the generator loads as ``[model] name = "DIR"``

Resumption is exact: batches come from a permutation seeded by (seed, epoch), so the step after
a checkpoint sees the same batch it would have seen in an uninterrupted run.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from redditbot.domain import GenerationRequest
from redditbot.errors import ConfigError, PermanentError
from redditbot.generation import transformers_backend as hf
from redditbot.generation.model_store import locate_model
from redditbot.generation.prompts import build_prompt, reply_after_prompt
from redditbot.generation.settings import ModelSettings
from redditbot.training import card, lora, runs
from redditbot.training.dataset import Dataset, Pair, clean_reply
from redditbot.training.runs import (
    CHECKPOINTS,
    EvalResult,
    Progress,
    TrainConfig,
    TrainResult,
    checkpoint_step,
)

torch = hf.torch
TRAINER_STATE = "trainer_state.pt"  # the loop's own optimizer and scheduler state
IGNORE = -100  # label of the tokens that carry no loss (prompt, padding)
GROUP_BATCHES = 16  # batches sorted by length together: less padding, still shuffled


@dataclass(frozen=True)
class Example:
    """One tokenised pair: the prompt's tokens, then the reply's (which carry the loss)."""

    input_ids: tuple[int, ...]
    prompt_tokens: int

    @property
    def reply_tokens(self) -> int:
        return len(self.input_ids) - self.prompt_tokens


ProgressCallback = Callable[[Progress], None]


# --------------------------------------------------------------------------- examples


def encode_pairs(
    pairs: Sequence[Pair], loaded: hf.LoadedModel, persona: str, config: TrainConfig
) -> tuple[list[Example], int]:
    """The pairs tokenised in the generator's prompt format; also how many did not fit."""
    prompts = hf.HFPromptTokenizer(loaded.tokenizer)
    seq_limit = min(config.max_seq_tokens, loaded.context_length)
    examples = []
    for pair in pairs:
        example = _encode(pair, prompts, loaded.eos_token_ids[0], persona, seq_limit, config)
        if example is not None:
            examples.append(example)
    return examples, len(pairs) - len(examples)


def _encode(pair, prompts, eos_id: int, persona: str, seq_limit: int, config) -> Example | None:
    reply_ids = prompts.encode(reply_after_prompt(clean_reply(pair.reply), config.prompt_format))
    if not reply_ids:
        return None
    if len(reply_ids) > config.max_reply_tokens:
        reply_ids = reply_ids[: config.max_reply_tokens]
    else:
        reply_ids.append(eos_id)  # only a reply that really ended teaches when to stop
    request = GenerationRequest(key=pair.reply_id, context=pair.context, persona=persona)
    try:
        prompt = build_prompt(
            request, prompts, seq_limit - len(reply_ids), "", config.prompt_format
        )
    except PermanentError:
        return None  # the prompt cannot be made short enough next to this reply
    prompt_ids = prompts.encode(prompt)
    return Example(tuple(prompt_ids + reply_ids), len(prompt_ids))


def _batch_tensors(examples: Sequence[Example], pad_id: int, device: str) -> dict[str, Any]:
    """Right-padded inputs, attention mask and labels (prompt and padding carry no loss)."""
    width = max(len(e.input_ids) for e in examples)
    ids, mask, labels = [], [], []
    for e in examples:
        pad = width - len(e.input_ids)
        ids.append(list(e.input_ids) + [pad_id] * pad)
        mask.append([1] * len(e.input_ids) + [0] * pad)
        labels.append([IGNORE] * e.prompt_tokens + list(e.input_ids[e.prompt_tokens :]))
        labels[-1] += [IGNORE] * pad
    tensors = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    return {
        name: torch.tensor(rows, dtype=torch.long, device=device) for name, rows in tensors.items()
    }


def _loss_sum(model, batch: dict[str, Any], autocast) -> tuple[Any, int]:
    """Summed next-token cross-entropy over the reply tokens, and how many there were."""
    with autocast():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    targets = batch["labels"][:, 1:]
    loss = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
        targets.reshape(-1),
        ignore_index=IGNORE,
        reduction="sum",
    )
    return loss, int((targets != IGNORE).sum())


# --------------------------------------------------------------------------- evaluation


def evaluate(
    model, examples: Sequence[Example], pad_id: int, device: str, batch_size: int = 8
) -> EvalResult | None:
    """Validation loss (mean per reply token) and perplexity; None without examples."""
    if not examples:
        return None
    was_training = model.training
    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = _batch_tensors(examples[start : start + batch_size], pad_id, device)
            loss, count = _loss_sum(model, batch, _autocast_for(device))
            total, tokens = total + float(loss), tokens + count
    model.train(was_training)
    mean = total / max(tokens, 1)
    return EvalResult(mean, math.exp(min(mean, 50.0)), tokens, len(examples))


def _autocast_for(device: str):
    """bf16 autocast on CUDA (weights stay fp32 for the optimiser); nothing on the CPU."""
    if device == "cuda" and torch.cuda.is_bf16_supported():
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext


# --------------------------------------------------------------------------- training


@dataclass
class _Run:
    """The moving parts of one run (mutable on purpose: it is the training loop's state)."""

    loaded: hf.LoadedModel
    optimizer: Any
    scheduler: Any
    step: int
    total_steps: int
    steps_per_epoch: int


def steps_per_epoch(examples: int, config: TrainConfig) -> int:
    """Optimisation steps in one pass over ``examples``: micro-batches, accumulated."""
    return math.ceil(math.ceil(examples / config.batch_size) / config.gradient_accumulation)


def total_steps_for(examples: int, config: TrainConfig) -> int:
    """Optimisation steps of a run over ``examples`` training examples."""
    per_epoch = steps_per_epoch(examples, config)
    return config.max_steps if config.max_steps else per_epoch * config.epochs


def epoch_batches(lengths: Sequence[int], config: TrainConfig, epoch: int) -> list[list[int]]:
    """The batches of ``epoch``, in an order every run repeats, resumed or not.

    Examples are shuffled, then sorted by length within groups of ``GROUP_BATCHES`` batches
    (padding is wasted compute: on a CPU it more than doubled a step), then the batches are
    shuffled again so that their lengths do not rise through the epoch.
    """
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    span = config.batch_size * GROUP_BATCHES
    grouped = [
        index
        for start in range(0, len(order), span)
        for index in sorted(order[start : start + span], key=lengths.__getitem__)
    ]
    batches = [
        grouped[s : s + config.batch_size] for s in range(0, len(grouped), config.batch_size)
    ]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def micro_batches_for_step(
    lengths: Sequence[int], step: int, config: TrainConfig
) -> list[list[int]]:
    """The micro-batches (example indices) of (0-based) ``step``: the epoch's next
    ``gradient_accumulation`` batches (fewer at its end); epochs repeat as ``max_steps`` needs.
    A function of the step alone, so a resumed run sees what an uninterrupted one would."""
    epoch, index = divmod(step, steps_per_epoch(len(lengths), config))
    first = index * config.gradient_accumulation
    return epoch_batches(lengths, config, epoch)[first : first + config.gradient_accumulation]


def train(
    subreddit: str,
    *,
    dataset: Dataset | None = None,
    base: str,
    out_dir: Path,
    model_settings: ModelSettings,
    persona: str,
    config: TrainConfig | None = None,
    resume: bool = False,
    permission: dict[str, Any] | None = None,
    on_progress: ProgressCallback | None = None,
    on_message: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> TrainResult:
    """Fine-tune ``base`` on ``dataset``; write the tuned model and its card into ``out_dir``.

    A new run needs ``dataset``. ``resume`` continues the run already in ``out_dir`` from its
    last checkpoint, on the data, persona and parameters saved when that run started (only
    ``config.device`` is taken from this call: the machine may change, the run may not).
    ``permission`` (who allowed training on the subreddit's content) goes into the model card.
    """
    say = on_message or (lambda message: None)
    config = config or TrainConfig()
    if resume:
        dataset, saved, persona, base = runs.load_run(out_dir, subreddit)
        config, checkpoint = replace(saved, device=config.device), runs.latest_checkpoint(out_dir)
    elif dataset is None:
        raise ValueError("a new training run needs a dataset")
    else:
        checkpoint = None
        config = replace(config, prompt_format=model_settings.prompt_format)  # as it generates
    settings = _training_settings(model_settings, config)
    if not resume:
        base = hf.prepare_model(settings, base).model_id
        runs.start_run(out_dir, dataset, config, base, persona, permission=permission)
    loaded = _load(base, checkpoint, settings, config)
    say(f"model: {base} on {loaded.device}" + (f", from {checkpoint}" if checkpoint else ""))
    train_set, skipped = encode_pairs(dataset.train, loaded, persona, config)
    val_set, skipped_val = encode_pairs(dataset.validation, loaded, persona, config)
    if not train_set:
        raise ConfigError("no training pair fits in max_seq_tokens; nothing to train on")
    base_eval = runs.base_evaluation(out_dir, lambda: _evaluate(loaded, val_set, config))
    say(f"base model: {describe_eval(base_eval)}")
    run = _start(loaded, config, len(train_set), checkpoint)
    _loop(run, train_set, config, out_dir, on_progress, clock)
    tuned_eval = _evaluate(loaded, val_set, config)
    say(f"tuned model: {describe_eval(tuned_eval)}")
    result = TrainResult(
        out_dir, run.step, base_eval, tuned_eval, len(train_set), len(val_set),
        skipped + skipped_val, checkpoint_step(checkpoint) if checkpoint else 0,
    )  # fmt: skip
    _finish(loaded, result, config, base, out_dir)
    return result


def _finish(loaded, result: TrainResult, config: TrainConfig, base: str, out_dir: Path) -> None:
    """Save the tuned model and its card; checkpoints and the frozen data are not kept."""
    _save_final(loaded, out_dir)
    card.write_model_card(out_dir, result, config, base, runs.run_info(out_dir))
    runs.remove_resume_files(out_dir)


def describe_eval(result: EvalResult | None) -> str:
    """One line: loss and perplexity, or why there are none."""
    if result is None:
        return "no validation pairs (too few threads)"
    return f"validation loss {result.loss:.4f}, perplexity {result.perplexity:.2f}"


def _training_settings(settings: ModelSettings, config: TrainConfig) -> ModelSettings:
    """The generator's loader, told to give full-precision, unquantised, trainable weights."""
    return settings.model_copy(
        update={"device": config.device, "dtype": "float32", "quantize_int8": False}
    )


def _load(
    base: str, checkpoint: Path | None, settings: ModelSettings, config: TrainConfig
) -> hf.LoadedModel:
    """The model to train: the base (with LoRA adapters if asked), or as a checkpoint left it."""
    if checkpoint is not None and not config.lora_rank:
        return hf.load_model(locate_model(str(checkpoint), settings), settings)
    loaded = hf.load_model(hf.prepare_model(settings, base), settings)
    if not config.lora_rank:
        return loaded
    return replace(loaded, model=lora.with_adapters(loaded.model, config, checkpoint))


def _evaluate(loaded: hf.LoadedModel, examples, config: TrainConfig) -> EvalResult | None:
    return evaluate(
        loaded.model, examples, loaded.pad_token_id, loaded.device, config.eval_batch_size
    )


def _start(loaded: hf.LoadedModel, config: TrainConfig, examples: int, checkpoint) -> _Run:
    total = total_steps_for(examples, config)
    trainable = [p for p in loaded.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _linear_schedule(config, total))
    step = 0
    if checkpoint is not None:
        state = torch.load(checkpoint / TRAINER_STATE, map_location=loaded.device)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = int(state["step"])
    return _Run(loaded, optimizer, scheduler, step, total, steps_per_epoch(examples, config))


def _linear_schedule(config: TrainConfig, total: int) -> Callable[[int], float]:
    """Linear warm-up, then linear decay to zero at the last step."""

    def factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        remaining = total - step
        return max(0.0, remaining / max(1, total - config.warmup_steps))

    return factor


def _loop(run: _Run, examples, config: TrainConfig, out_dir: Path, on_progress, clock) -> None:
    run.loaded.model.train()
    autocast = _autocast_for(run.loaded.device)
    started, tokens = clock(), 0
    lengths = [len(example.input_ids) for example in examples]
    while run.step < run.total_steps:
        batches = [
            _batch_tensors([examples[i] for i in indices], run.loaded.pad_token_id,
                           run.loaded.device)
            for indices in micro_batches_for_step(lengths, run.step, config)
        ]  # fmt: skip
        loss, learning_rate = _step(run, batches, autocast, config.max_grad_norm)
        tokens += sum(int(batch["attention_mask"].sum()) for batch in batches)
        if run.step % config.checkpoint_every == 0 and run.step < run.total_steps:
            save_checkpoint(run, out_dir, config.keep_checkpoints)
        if on_progress is not None:
            on_progress(_progress(run, loss, learning_rate, tokens, clock() - started))
    run.loaded.model.eval()


def _step(
    run: _Run, batches: Sequence[dict[str, Any]], autocast, max_grad_norm: float | None
) -> tuple[float, float]:
    """One optimisation step on the mean loss per reply token over every micro-batch (their
    gradients accumulate: the same step as one batch of them all), the gradient clipped to
    ``max_grad_norm``; the step's loss and learning rate."""
    tokens = max(sum(reply_tokens(batch) for batch in batches), 1)
    total = 0.0
    for batch in batches:
        loss_sum, _ = _loss_sum(run.loaded.model, batch, autocast)
        (loss_sum / tokens).backward()  # each micro-batch weighs by its share of the tokens
        total += float(loss_sum.detach())
    if max_grad_norm is not None:
        trainable = [p for p in run.loaded.model.parameters() if p.requires_grad]
        torch.nn.utils.clip_grad_norm_(trainable, max_grad_norm)
    learning_rate = run.scheduler.get_last_lr()[0]
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    run.step += 1
    return total / tokens, learning_rate


def reply_tokens(batch: dict[str, Any]) -> int:
    """The tokens of ``batch`` that carry the loss (predicted from the one before)."""
    return int((batch["labels"][:, 1:] != IGNORE).sum())


def _progress(run: _Run, loss: float, learning_rate: float, tokens: int, elapsed: float):
    return Progress(
        step=run.step,
        total_steps=run.total_steps,
        epoch=(run.step - 1) // run.steps_per_epoch + 1,
        loss=loss,
        learning_rate=learning_rate,
        tokens_per_s=tokens / elapsed if elapsed > 0 else 0.0,
        elapsed_s=elapsed,
    )


# --------------------------------------------------------------------------- files


def save_checkpoint(run: _Run, out_dir: Path, keep: int) -> Path:
    """Model, tokenizer and optimizer state at ``run.step``; only the newest ``keep`` stay."""
    root = out_dir / CHECKPOINTS
    target = root / f"step-{run.step:08d}"
    partial = root / f"partial-{run.step:08d}"
    shutil.rmtree(partial, ignore_errors=True)
    run.loaded.model.save_pretrained(partial)
    run.loaded.tokenizer.save_pretrained(partial)
    state = {
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "step": run.step,
    }
    torch.save(state, partial / TRAINER_STATE)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)  # only complete checkpoints carry a step-N name
    for old in sorted(root.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _save_final(loaded: hf.LoadedModel, out_dir: Path) -> None:
    """The tuned model into ``out_dir``; config.json comes last, so a half-saved model never
    looks loadable to ``locate_model``."""
    partial = out_dir / "model.partial"
    shutil.rmtree(partial, ignore_errors=True)
    lora.merged(loaded.model).save_pretrained(partial)
    loaded.tokenizer.save_pretrained(partial)
    files = sorted(partial.iterdir(), key=lambda f: f.name == "config.json")
    for file in files:
        os.replace(file, out_dir / file.name)
    partial.rmdir()
