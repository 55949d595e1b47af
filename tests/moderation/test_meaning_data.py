"""The meaning data set: large, labelled, split by template, and what the generator writes."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from redditbot.moderation.meaning import BUNDLED_HEAD, MeaningHead
from redditbot.moderation.meaning_templates import REJECT_CATEGORIES
from redditbot.moderation.train_meaning import (
    DEFAULT_DATA,
    MIN_THRESHOLD,
    choose_thresholds,
    fit_head,
    generate_items,
    read_items,
)


def test_the_committed_data_set_is_what_the_generator_writes():
    assert read_items(DEFAULT_DATA) == generate_items()


def test_it_is_large_labelled_and_has_more_hard_negatives_than_rejects():
    items = read_items(DEFAULT_DATA)
    assert len(items) >= 2000 and len({i["id"] for i in items}) == len(items)
    labels = Counter(i["label"] for i in items)
    assert labels["approve"] >= labels["reject"] > 0
    categories = Counter(i["category"] for i in items)
    for category in (*REJECT_CATEGORIES, "slur_meta", "medical", "garden_cook", "trash_talk",
                     "sibling_banter", "violence_news", "code_logs"):  # fmt: skip
        assert categories[category] >= 40, category


def test_train_and_eval_share_no_template_and_no_text():
    items = read_items(DEFAULT_DATA)
    train = [i for i in items if i["split"] == "train"]
    held = [i for i in items if i["split"] == "eval"]
    assert not {i["template"] for i in train} & {i["template"] for i in held}
    assert not {i["text"] for i in train} & {i["text"] for i in held}
    for category in {i["category"] for i in items}:
        assert any(i["category"] == category for i in held), category


@pytest.mark.slow
def test_the_shipped_thresholds_and_weights_are_what_the_training_command_makes():
    """Retraining on the training split (the real embeddings, the same seed) reproduces the
    bundled head's weights and the thresholds its grouped cross-validation chose; the held-out
    split plays no part in the choice."""
    from redditbot.quality.embeddings import SentenceEmbedder, bundled_model_dir

    head = json.loads(BUNDLED_HEAD.read_text(encoding="utf-8"))
    train = [i for i in read_items(DEFAULT_DATA) if i["split"] == "train"]
    embedder = SentenceEmbedder(bundled_model_dir(), batch_size=64)
    vectors = np.asarray(embedder.embed([i["text"] for i in train]), dtype=np.float32)
    choice = choose_thresholds(vectors, train)
    assert choice["thresholds"] == head["thresholds"]
    assert choice["figures_cv"] == head["threshold_choice"]["figures_cv"]
    assert all(head["thresholds"][c] >= MIN_THRESHOLD for c in REJECT_CATEGORIES)
    refit = fit_head(vectors, train)
    assert np.allclose(refit["weights"], head["weights"], atol=1e-4)
    assert np.allclose(refit["bias"], head["bias"], atol=1e-4)
    assert MeaningHead.load(BUNDLED_HEAD).thresholds == head["thresholds"]
