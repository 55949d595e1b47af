"""The meaning data set: large, labelled, split by template, and what the generator writes."""

from __future__ import annotations

from collections import Counter

from redditbot.moderation.meaning_templates import REJECT_CATEGORIES
from redditbot.moderation.train_meaning import DEFAULT_DATA, generate_items, read_items


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
