"""LoRA through peft (optional): adapters on every linear layer, merged away when saving.

peft is imported here only, and only when a run asks for LoRA: full fine-tuning needs none.
The saved model is always a plain Hugging Face model (adapters merged into the weights), so
the generator loads it like any other; checkpoints hold only the adapters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from redditbot.errors import ConfigError
from redditbot.training.runs import TrainConfig


def with_adapters(model: Any, config: TrainConfig, checkpoint: Path | None) -> Any:
    """``model`` with trainable LoRA adapters: fresh ones, or those saved in ``checkpoint``."""
    peft = _peft()
    if checkpoint is not None:
        return peft.PeftModel.from_pretrained(model, checkpoint, is_trainable=True)
    adapters = peft.LoraConfig(
        r=config.lora_rank,
        lora_alpha=2 * config.lora_rank,
        lora_dropout=0.0,  # dropout would make a resumed run differ from an uninterrupted one
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)  # the adapters' random start is part of the run
        return peft.get_peft_model(model, adapters)


def merged(model: Any) -> Any:
    """A plain model: the adapters folded into the weights (a model without any, as is)."""
    merge = getattr(model, "merge_and_unload", None)
    return merge() if merge is not None else model


def _peft():
    try:
        import peft
    except ImportError as exc:
        raise ConfigError(
            "LoRA needs the peft package: `pip install peft` (or train without --lora-rank)"
        ) from exc
    return peft
