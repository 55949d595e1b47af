"""Fine-tuning the reply model: cross-entropy on the reply tokens, checkpoints, evaluation.

The torch adapter of the training package (with transformers, through the generation
package's loader). Each example is the prompt exactly as the generator renders it, followed by
the reply and the end-of-turn token; only the reply's tokens carry a loss, so the model learns
how this subreddit answers, not how to write prompts.

The optimisation runs on transformers' ``Trainer``: AdamW, the linear warm-up and decay,
gradient accumulation (the loss of a step is the mean over every reply token of its
micro-batches), clipping, bf16 autocast on CUDA, checkpoints with optimizer, scheduler and RNG
state, and resuming from them. What stays here: the examples and their labels (the collator),
the batch order (length-grouped, a function of the seed and the epoch: the ``Trainer``'s
``group_by_length`` is not seeded by epoch the same way and does not keep the batches the
previous loop made), the checkpoints' names and rotation (``step-N``, published only once
complete), the validation loss (a mean per reply token over the whole set, which the
``Trainer``'s mean of batch means is not), the final save (LoRA merged, config.json last) and
the model card.

A run lives in one output directory::

    training.json      what is trained on what, with which parameters (written first)
    dataset.jsonl      the pairs, frozen when the run starts, so a resumed run sees the same data
    base_eval.json     the base model's validation loss, measured once
    checkpoints/step-N the Trainer's checkpoint (model, tokenizer, optimizer.pt, scheduler.pt,
                       rng_state.pth, trainer_state.json), every N steps; written as
                       checkpoint-N and renamed once complete, so only whole ones carry a
                       step-N name
    README.md          the model card; with config.json, model.safetensors and the tokenizer,
                       the directory is a model the generator loads as ``[model] name = "DIR"``

Resumption is exact: batches come from a permutation seeded by (seed, epoch), so the step after
a checkpoint sees the same batch it would have seen in an uninterrupted run (the ``Trainer``
skips the epoch's batches already trained on, and restores the optimizer, scheduler and RNG).
"""

from __future__ import annotations

import importlib
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
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
# transformers itself, imported after the generation package has switched the hub offline
hf_trainer = importlib.import_module("transformers")
CHECKPOINT_PREFIX = importlib.import_module("transformers.trainer_utils").PREFIX_CHECKPOINT_DIR
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
    if _bf16(device):
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext


# --------------------------------------------------------------------------- batch order


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


class _EpochOrder(torch.utils.data.Sampler):
    """Which epoch the batches are of. accelerate's data loader sets it on the batch sampler's
    ``sampler`` (also through the wrapper that skips a resumed epoch's first batches)."""

    def __init__(self, lengths: Sequence[int], config: TrainConfig) -> None:
        self.lengths, self.config, self.epoch = list(lengths), config, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        return epoch_batches(self.lengths, self.config, self.epoch)

    def __iter__(self) -> Iterator[int]:
        return (index for batch in self.batches() for index in batch)

    def __len__(self) -> int:
        return len(self.lengths)


class StepBatches(torch.utils.data.BatchSampler):
    """``epoch_batches`` as the ``Trainer``'s batch sampler: the Trainer takes
    ``gradient_accumulation`` of them per step, so step N gets ``micro_batches_for_step(N)``."""

    def __init__(self, lengths: Sequence[int], config: TrainConfig) -> None:
        super().__init__(_EpochOrder(lengths, config), config.batch_size, drop_last=False)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.sampler.batches())

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)


class _Examples(torch.utils.data.Dataset):
    def __init__(self, examples: Sequence[Example]) -> None:
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> Example:
        return self.examples[index]


# --------------------------------------------------------------------------- the Trainer


class _ReplyTrainer(hf_trainer.Trainer):
    """transformers' Trainer, fed our batches (in our order, with our labels)."""

    def __init__(self, *args: Any, batches: StepBatches, pad_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batches, self._pad_id = batches, pad_id

    def get_train_dataloader(self):
        loader = torch.utils.data.DataLoader(
            self.train_dataset,
            batch_sampler=self._batches,
            num_workers=0,
            collate_fn=lambda examples: _batch_tensors(examples, self._pad_id, "cpu"),
        )
        return self.accelerator.prepare(loader)


def build_trainer(
    loaded: hf.LoadedModel,
    examples: Sequence[Example],
    config: TrainConfig,
    out_dir: Path,
    callbacks: Sequence[Any] = (),
    optimizers: tuple[Any, Any] = (None, None),
) -> _ReplyTrainer:
    """The ``Trainer`` of a run: its parameters from ``config``, checkpoints under
    ``out_dir/checkpoints`` (``optimizers``: to replace AdamW and its schedule, for tests)."""
    args = hf_trainer.TrainingArguments(
        output_dir=str(out_dir / CHECKPOINTS),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_steps,
        lr_scheduler_type="linear",
        optim="adamw_torch",
        max_grad_norm=config.max_grad_norm or 0.0,  # 0: no clipping
        max_steps=total_steps_for(len(examples), config),
        seed=config.seed,
        data_seed=config.seed,
        bf16=_bf16(loaded.device),
        use_cpu=loaded.device == "cpu",
        save_strategy="steps",
        save_steps=config.checkpoint_every,
        logging_strategy="steps",
        logging_steps=1,  # every step's loss and learning rate reach the progress callback
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=True,  # the progress callback draws the bar (or prints lines)
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        remove_unused_columns=False,
        log_level="warning",
    )
    trainer = _ReplyTrainer(
        model=loaded.model,
        args=args,
        train_dataset=_Examples(examples),
        processing_class=loaded.tokenizer,
        callbacks=list(callbacks),
        optimizers=optimizers,
        batches=StepBatches([len(e.input_ids) for e in examples], config),
        pad_id=loaded.pad_token_id,
    )
    # Without its tqdm bar the Trainer prints every step's logs as a dict on stdout: the
    # progress callback reports them instead (a bar on a terminal, lines elsewhere).
    trainer.remove_callback(hf_trainer.PrinterCallback)
    return trainer


def _bf16(device: str) -> bool:
    """bf16 autocast on CUDA (weights stay fp32 for the optimiser); nothing on the CPU."""
    return device == "cuda" and torch.cuda.is_bf16_supported()


class CheckpointLayout(hf_trainer.TrainerCallback):
    """The ``Trainer``'s ``checkpoint-N``, once complete, renamed ``step-N`` (zero-padded:
    they sort by name), and only the newest ``keep`` kept. A checkpoint never written whole
    keeps its ``checkpoint-N`` name, which resuming ignores and the next run removes."""

    def __init__(self, out_dir: Path, keep: int) -> None:
        self.root, self.keep = out_dir / CHECKPOINTS, keep

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_save = False  # the last step's weights are the model itself
        return control

    def on_save(self, args, state, control, **kwargs):
        written = self.root / f"{CHECKPOINT_PREFIX}-{state.global_step}"
        target = self.root / f"step-{state.global_step:08d}"
        shutil.rmtree(target, ignore_errors=True)
        written.rename(target)
        for old in sorted(self.root.glob("step-*"))[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        return control

    def remove_partial(self) -> None:
        """What a killed run left half-written."""
        for partial in self.root.glob(f"{CHECKPOINT_PREFIX}-*"):
            shutil.rmtree(partial, ignore_errors=True)


class ReportProgress(hf_trainer.TrainerCallback):
    """Every step's ``Progress`` to ``on_progress`` (the bar or the lines), once that step's
    checkpoint, if it has one, is saved: a progress callback that stops the run (Ctrl-C, a
    crash) never loses a checkpoint the step made."""

    def __init__(self, on_progress: ProgressCallback, per_epoch: int, clock) -> None:
        self.on_progress, self.per_epoch, self.clock = on_progress, per_epoch, clock
        self.started, self.tokens_before, self._pending = clock(), 0, None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started, self.tokens_before = self.clock(), state.num_input_tokens_seen
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs:
            return control  # the summary at the end of training
        elapsed = self.clock() - self.started
        tokens = state.num_input_tokens_seen - self.tokens_before
        progress = Progress(
            step=state.global_step,
            total_steps=state.max_steps,
            epoch=(state.global_step - 1) // self.per_epoch + 1,
            loss=float(logs["loss"]),
            learning_rate=float(logs["learning_rate"]),
            tokens_per_s=tokens / elapsed if elapsed > 0 else 0.0,
            elapsed_s=elapsed,
        )
        if control.should_save:
            self._pending = progress
        else:
            self.on_progress(progress)
        return control

    def on_save(self, args, state, control, **kwargs):
        pending, self._pending = self._pending, None
        if pending is not None:
            self.on_progress(pending)
        return control


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
        if checkpoint is not None:
            runs.require_trainer_checkpoint(checkpoint)
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
    steps = _fit(loaded, train_set, config, out_dir, checkpoint, on_progress, clock)
    tuned_eval = _evaluate(loaded, val_set, config)
    say(f"tuned model: {describe_eval(tuned_eval)}")
    result = TrainResult(
        out_dir,
        steps,
        base_eval,
        tuned_eval,
        len(train_set),
        len(val_set),
        skipped + skipped_val,
        checkpoint_step(checkpoint) if checkpoint else 0,
    )
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
    """The model to train: the base (with LoRA adapters if asked), or as a checkpoint left it
    (the Trainer then restores the optimizer, scheduler and RNG from the same checkpoint)."""
    if checkpoint is not None and not config.lora_rank:
        return hf.load_model(locate_model(str(checkpoint), settings), settings)
    loaded = hf.load_model(hf.prepare_model(settings, base), settings)
    if not config.lora_rank:
        return loaded
    return replace(loaded, model=lora.with_adapters(loaded.model, config, checkpoint))


def _fit(
    loaded: hf.LoadedModel,
    examples,
    config: TrainConfig,
    out_dir: Path,
    checkpoint: Path | None,
    on_progress: ProgressCallback | None,
    clock,
) -> int:
    """Train with the ``Trainer`` from ``checkpoint`` (or the start); the steps run in all."""
    layout = CheckpointLayout(out_dir, config.keep_checkpoints)
    layout.remove_partial()
    callbacks: list[Any] = [layout]
    if on_progress is not None:
        per_epoch = steps_per_epoch(len(examples), config)
        callbacks.append(ReportProgress(on_progress, per_epoch, clock))
    trainer = build_trainer(loaded, examples, config, out_dir, callbacks)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    loaded.model.eval()
    return trainer.state.global_step


def _evaluate(loaded: hf.LoadedModel, examples, config: TrainConfig) -> EvalResult | None:
    return evaluate(
        loaded.model, examples, loaded.pad_token_id, loaded.device, config.eval_batch_size
    )


def reply_tokens(batch: dict[str, Any]) -> int:
    """The tokens of ``batch`` that carry the loss (predicted from the one before)."""
    return int((batch["labels"][:, 1:] != IGNORE).sum())


# --------------------------------------------------------------------------- files


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
