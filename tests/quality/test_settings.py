"""QualitySettings: defaults, strictness, per-subreddit target length."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from redditbot.quality import QualitySettings


def test_defaults_are_usable():
    settings = QualitySettings()

    assert settings.enabled is True
    assert settings.few_shot == 2
    weights = settings.weights
    assert weights.target + weights.thread + weights.fluency + weights.length == pytest.approx(1.0)


def test_unknown_keys_are_errors():
    with pytest.raises(ValidationError, match="extra"):
        QualitySettings.model_validate({"wieghts": {}})
    with pytest.raises(ValidationError, match="extra"):
        QualitySettings.model_validate({"weights": {"relevance": 1.0}})


def test_negative_weights_and_lengths_are_refused():
    with pytest.raises(ValidationError):
        QualitySettings.model_validate({"weights": {"target": -1}})
    with pytest.raises(ValidationError):
        QualitySettings(target_chars=0)


def test_target_length_per_subreddit_case_insensitive():
    settings = QualitySettings(target_chars=300, subreddit_target_chars={"r/LearnPython": 120})

    assert settings.target_chars_for("learnpython") == 120
    assert settings.target_chars_for("Cooking") == 300


def test_embedding_device_is_checked():
    with pytest.raises(ValidationError):
        QualitySettings.model_validate({"device": "tpu"})
