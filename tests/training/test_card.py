"""The model card's Hugging Face metadata block, read back with huggingface_hub's parser."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import ModelCard

from redditbot.training import card
from redditbot.training.runs import EvalResult, TrainConfig, TrainResult

INFO = {
    "subreddit": "pizzatalk",
    "counts": {
        "train_pairs": 20,
        "train_threads": 5,
        "validation_pairs": 4,
        "validation_threads": 2,
        "dropped": {},
    },  # fmt: skip
    "permission": {"training_allowed": True, "subreddit": "pizzatalk"},
}


def result(tmp_path: Path, tuned: EvalResult | None) -> TrainResult:
    base = EvalResult(3.0, 20.09, 100, 4)
    return TrainResult(tmp_path, 12, base, tuned, 20, 4, 0, 0)


def test_the_card_opens_with_the_hub_metadata_block(tmp_path) -> None:
    base = "HuggingFaceTB/SmolLM2-135M-Instruct"
    tuned = EvalResult(1.23456, 3.437, 100, 4)
    text = card.model_card(result(tmp_path, tuned), TrainConfig(lora_rank=8), base, INFO)
    assert text.startswith("---\n")
    data = ModelCard(text).data
    assert data.base_model == base and data.library_name == "transformers"
    assert data.pipeline_tag == "text-generation"
    assert {"redditbot", "pizzatalk", "lora"} <= set(data.tags)
    figures = {r.metric_type: r.metric_value for r in data.eval_results}
    assert figures == {"loss": 1.2346, "perplexity": 3.437}
    assert "# HuggingFaceTB/SmolLM2-135M-Instruct, tuned on r/pizzatalk" in text


def test_without_validation_there_are_no_results_to_claim(tmp_path) -> None:
    text = card.model_card(result(tmp_path, None), TrainConfig(), "/models/local", INFO)
    data = ModelCard(text).data
    assert data.eval_results is None and data.base_model is None
    assert "fine-tuned" in data.tags
