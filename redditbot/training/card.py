"""The model card: README.md in the output directory, plus the same figures as metrics.json.

The card opens with the Hugging Face metadata block (YAML front matter: base_model,
library_name, pipeline_tag, tags, model-index with the validation figures), written by
huggingface_hub's ``ModelCardData`` so that the Hub and its tools read it as they expect.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from redditbot.training.runs import EvalResult, TrainConfig, TrainResult, write_json

METRICS_FILE = "metrics.json"


def write_model_card(
    out_dir: Path, result: TrainResult, config: TrainConfig, base: str, info: dict[str, Any]
) -> Path:
    """Write README.md (for people) and metrics.json (for scripts) into ``out_dir``."""
    write_json(out_dir / METRICS_FILE, metrics(result, config, base, info))
    path = out_dir / "README.md"
    path.write_text(model_card(result, config, base, info))
    return path


def metrics(
    result: TrainResult, config: TrainConfig, base: str, info: dict[str, Any]
) -> dict[str, Any]:
    """Everything the card says, as plain data."""
    return {
        "subreddit": info["subreddit"],
        "base_model": base,
        "steps": result.steps,
        "resumed_from_step": result.resumed_from,
        "data": {
            **info["counts"],
            "train_examples": result.train_examples,
            "validation_examples": result.validation_examples,
            "skipped_too_long": result.skipped_examples,
        },
        "permission": info.get("permission"),
        "parameters": asdict(config),
        "base": _eval(result.base),
        "tuned": _eval(result.tuned),
    }


def _eval(result: EvalResult | None) -> dict[str, Any] | None:
    return None if result is None else asdict(result)


def model_card(result: TrainResult, config: TrainConfig, base: str, info: dict[str, Any]) -> str:
    """The card as markdown."""
    subreddit = info["subreddit"]
    lines = [
        metadata_block(result, config, base, subreddit),
        f"# {base}, tuned on r/{subreddit}",
        "",
        f"Fine-tuned by `redditbot train --subreddit {subreddit}` from `{base}`:",
        f"{_method(config)}, cross-entropy on the reply tokens only, prompts in the generator's",
        "format.",
        "",
        "## Use it",
        "",
        "```toml",
        "[[subreddits]]",
        f'name = "{subreddit}"',
        f'model = {{ name = "{result.out_dir.resolve()}" }}',
        "```",
        "",
        *_permission_lines(info.get("permission")),
        *_data_lines(result, info["counts"]),
        *_parameter_lines(result, config),
        *_metric_lines(result),
    ]
    return "\n".join(lines).rstrip() + "\n"


def metadata_block(result: TrainResult, config: TrainConfig, base: str, subreddit: str) -> str:
    """The ``---``-fenced YAML block the Hugging Face Hub reads from a model card."""
    from huggingface_hub import EvalResult as HubEvalResult
    from huggingface_hub import ModelCardData

    name = f"{Path(base).name}-r-{subreddit}"
    results = None
    if result.tuned is not None:
        results = [
            HubEvalResult(
                task_type="text-generation",
                dataset_type="reddit-threads",
                dataset_name=f"r/{subreddit} held-out threads",
                dataset_split="validation",
                metric_type=metric,
                metric_name=label,
                metric_value=round(value, 4),
            )
            for metric, label, value in (
                ("loss", "loss per reply token", result.tuned.loss),
                ("perplexity", "perplexity", result.tuned.perplexity),
            )
        ]
    data = ModelCardData(
        # A Hub id only: a local directory means nothing on the Hub (the heading names it).
        base_model=None if Path(base).is_absolute() else base,
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=["redditbot", "reddit", subreddit, "lora" if config.lora_rank else "fine-tuned"],
        model_name=name,
        eval_results=results,
    )
    return f"---\n{data.to_yaml()}\n---\n"


def _method(config: TrainConfig) -> str:
    if not config.lora_rank:
        return "full fine-tuning"
    return f"LoRA of rank {config.lora_rank} on every linear layer, merged into the weights"


def _permission_lines(permission: dict[str, Any] | None) -> list[str]:
    lines = ["## Permission", ""]
    if not permission or not permission.get("training_allowed"):
        return [*lines, "Not recorded: no permission to train on this content was given.", ""]
    subreddit = permission["subreddit"]
    return [
        *lines,
        f"`training_allowed = true` in the `[[subreddits]]` table of r/{subreddit}: the",
        "operator asserted that the subreddit's moderators (or Reddit) allowed training on",
        "its content.",
        "",
    ]


def _data_lines(result: TrainResult, counts: dict[str, Any]) -> list[str]:
    dropped = counts.get("dropped") or {}
    lines = [
        "## Data",
        "",
        "Context → reply pairs from the stored threads, split into training and validation by",
        "thread. Deleted and removed text, the bot's own text and the text of users who opted",
        "out were left out before anything was kept.",
        "",
        "| | pairs | threads |",
        "|---|---:|---:|",
        f"| training | {counts['train_pairs']} | {counts['train_threads']} |",
        f"| validation | {counts['validation_pairs']} | {counts['validation_threads']} |",
        "",
        f"Pairs too long for `max_seq_tokens` (not used): {result.skipped_examples}.",
        "",
    ]
    if dropped:
        lines += ["Comments left out, by reason:", ""]
        lines += [f"- {reason}: {count}" for reason, count in sorted(dropped.items())]
        lines.append("")
    return lines


def _parameter_lines(result: TrainResult, config: TrainConfig) -> list[str]:
    lines = ["## Parameters", "", "| parameter | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in asdict(config).items()]
    lines += [f"| steps run | {result.steps} |"]
    if result.resumed_from:
        lines += [f"| resumed from step | {result.resumed_from} |"]
    return [*lines, ""]


def _metric_lines(result: TrainResult) -> list[str]:
    lines = ["## Metrics (validation: the same held-out threads for both models)", ""]
    if result.base is None or result.tuned is None:
        return [*lines, "No validation pairs: too few threads to hold any out.", ""]
    lines += ["| model | loss / reply token | perplexity |", "|---|---:|---:|"]
    lines += [f"| base | {result.base.loss:.4f} | {result.base.perplexity:.2f} |"]
    lines += [f"| tuned | {result.tuned.loss:.4f} | {result.tuned.perplexity:.2f} |"]
    lines += ["", f"{result.tuned.tokens} reply tokens in {result.tuned.examples} pairs.", ""]
    return lines
