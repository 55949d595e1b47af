"""The meaning classifier: hate and harassment with no listed word are rejected by meaning, hard
negatives are approved, every failure names its category, thresholds are per category and per
subreddit. The real head and the real all-MiniLM-L6-v2 model throughout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redditbot.domain import Decision
from redditbot.errors import ConfigError
from redditbot.moderation.meaning import BUNDLED_HEAD, MeaningClassifier, MeaningHead, build_meaning
from redditbot.moderation.output_gate import ReplyState
from redditbot.moderation.settings import MeaningSettings, settings_for_override
from redditbot.moderation.train_meaning import DEFAULT_DATA, read_items
from redditbot.moderation.wordlist import BUILTIN_TERMS, WordList
from tests.moderation.helpers import FixedClassifier, failing, make_draft, make_moderator

BENCH_SET = Path(__file__).parents[2] / "benchmarks" / "data" / "moderation_eval.jsonl"

# Written for this test, in none of the data set's templates: hateful or harassing, and with no
# word of the built-in list, so only their meaning can reject them.
HATEFUL = (
    "People from that country are rats and they should all go back where they crawled from.",
    "You're grieving a dog in public? Crying online like that is embarrassing.",
    "That whole nationality is trash, every single one of them.",
    "Maybe take up knitting instead, clearly coding is beyond you.",
    "I will find your house and hurt your children.",
    "Do the world a favour and swallow every pill you have.",
)
# Alarming words, harmless meaning.
HARD_NEGATIVES = (
    "I bought a couple of hoes and a rake for the allotment this weekend.",
    "My brother is such an idiot, he locked his keys in the car again. Love him.",
    "Beat the eggs with the sugar until pale, then fold in the flour.",
    "If the server hangs, kill the process and restart it with systemd.",
    'The log line is log.info("user %s banned", uid) and nothing after it.',
    "Police said the gunman killed two people before he was arrested.",
    "Please don't use the r-word as an insult, my sister has Down syndrome.",
    "We lost 5-0, you absolutely destroyed us. Rematch next Saturday?",
)


@pytest.fixture(scope="module")
def meaning() -> MeaningClassifier:
    return build_meaning(MeaningSettings())


def judge(classifier, text: str, **overrides):
    moderator = make_moderator(FixedClassifier(0.0), meaning_classifier=classifier, **overrides)
    return moderator.check_reply(make_draft(text, parent="What do you think?"), ReplyState())


@pytest.mark.parametrize("text", HATEFUL)
def test_hateful_replies_with_no_listed_word_are_rejected_by_meaning(meaning, text):
    assert not WordList(BUILTIN_TERMS).find(text)
    verdict = judge(meaning, text)
    assert verdict.decision is Decision.REJECT
    assert set(failing(verdict)) == {"meaning"}, failing(verdict)


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_are_approved_by_meaning(meaning, text):
    # The meaning check only: the link check's reading of `log.info` is another check's business.
    assert "meaning" not in failing(judge(meaning, text))


def test_the_held_out_split_is_judged_well(meaning):
    items = [item for item in read_items(DEFAULT_DATA) if item["split"] == "eval"]
    scores = meaning.score([item["text"] for item in items])
    flagged = [max(s.values()) >= 0.5 for s in scores]
    rejects = [f for f, item in zip(flagged, items) if item["label"] == "reject"]
    approves = [f for f, item in zip(flagged, items) if item["label"] == "approve"]
    assert sum(rejects) / len(rejects) >= 0.8
    assert sum(approves) / len(approves) <= 0.12


def test_a_failure_names_its_category_and_score(meaning):
    verdict = judge(meaning, HATEFUL[4])
    [check] = [c for c in verdict.checks if c.name == "meaning"]
    limit = meaning.thresholds["threat"]  # the head's own, chosen by the training command
    assert check.category == "threat" and check.score >= limit
    assert check.reason == f"meaning:threat:{check.score:.2f}>={limit}"


def _flag_rate(meaning, items, threshold_for) -> float:
    scores = meaning.score([item["text"] for item in items])
    flagged = [any(p >= threshold_for(c) for c, p in s.items()) for s in scores]
    return sum(flagged) / len(flagged)


def test_the_shipped_thresholds_cut_false_positives_on_held_out_templates(meaning):
    """Hard negatives from templates the head (and the threshold choice) never saw: at the
    shipped thresholds the meaning check flags at most 6 % of them (9.4 % at a flat 0.5)."""
    settings = MeaningSettings()
    items = [
        i for i in read_items(DEFAULT_DATA) if i["split"] == "eval" and i["label"] == "approve"
    ]
    shipped = _flag_rate(meaning, items, lambda c: settings.threshold_for(c, meaning.thresholds))
    flat = _flag_rate(meaning, items, lambda c: 0.5)
    assert shipped <= 0.06, shipped
    assert shipped < flat


def test_civil_replies_of_the_old_benchmark_stay_under_the_false_positive_bound(meaning):
    """The project's older benchmark set (never trained on): the meaning check alone flags at
    most 2 % of its clean replies and 8 % of its alarming-looking clean ones, and still flags
    at least half of its toxic ones (the word list and profanity-check catch the rest)."""
    rows = [json.loads(line) for line in BENCH_SET.read_text(encoding="utf-8").splitlines()]

    def rate(category: str) -> float:  # through the output gate, at the default settings
        chosen = [r["text"] for r in rows if r["category"] == category]
        return sum("meaning" in failing(judge(meaning, text)) for text in chosen) / len(chosen)

    assert rate("clean") <= 0.02
    assert rate("alarming_clean") <= 0.08
    assert rate("toxic") >= 0.5  # 0.55 measured; the whole gate catches 0.9+ (benchmark)


def test_thresholds_are_per_category(meaning):
    text = HATEFUL[4]
    assert judge(meaning, text, meaning={"thresholds": {"threat": 0.999}}).approved
    assert not judge(meaning, text, meaning={"thresholds": {"sexual": 0.999}}).approved


def test_per_subreddit_thresholds_change_the_outcome(meaning):
    from redditbot.moderation.moderator import Moderator

    base = {"toxicity": {"classifier": "none"}}
    strict = settings_for_override(base, {})
    lenient = settings_for_override(base, {"meaning": {"thresholds": {"harassment": 0.999}}})
    draft = make_draft(HATEFUL[3], parent="What do you think?")
    assert Moderator(strict, meaning=meaning).check_reply(draft, ReplyState()).decision == "reject"
    assert Moderator(lenient, meaning=meaning).check_reply(draft, ReplyState()).approved


def test_an_unknown_category_in_thresholds_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown category 'toxic'"):
        MeaningSettings(thresholds={"toxic": 0.5})


def test_a_missing_or_broken_head_fails_closed(tmp_path, meaning):
    bad = tmp_path / "head.json"
    bad.write_text('{"categories": ["threat"], "weights": [[1.0]]}')
    with pytest.raises(ConfigError, match="has no 'bias'"):
        MeaningHead.load(bad)
    broken = build_meaning(MeaningSettings(head=str(tmp_path / "missing.json")))
    verdict = judge(broken, "Water it once a week.")
    assert verdict.decision is Decision.REJECT
    assert failing(verdict)["meaning"].startswith("error:meaning:ConfigError")


def test_the_bundled_head_is_small_and_records_its_figures():
    head = json.loads(BUNDLED_HEAD.read_text())
    assert BUNDLED_HEAD.stat().st_size < 100_000
    assert set(head["categories"]) == {"identity_hate", "harassment", "threat", "sexual",
                                       "self_harm", "extremism"}  # fmt: skip
    assert head["figures_eval"]["n"] == head["eval_items"] > 0


def test_a_hostile_target_is_declined_with_its_category(meaning):
    from tests.moderation.helpers import make_target

    moderator = make_moderator(meaning_classifier=meaning)
    hostile = make_target(body="Say that again and I'll break your legs, I know where you live.")
    verdict = moderator.check_target(hostile, _state())
    assert verdict.decision is Decision.REJECT
    assert failing(verdict)["hostile"].startswith("hostile:threat:")
    assert moderator.check_target(make_target(), _state()).approved
    off = make_moderator(meaning_classifier=meaning, input={"decline_hostile": False})
    assert off.check_target(hostile, _state()).approved


def _state():
    from redditbot.moderation.input_gate import TargetState

    return TargetState()
