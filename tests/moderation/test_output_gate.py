"""The output gate: each check on both sides of its threshold, and the Verdict it builds."""

from __future__ import annotations

import pytest

from redditbot.domain import Decision
from redditbot.moderation.moderator import Moderator
from redditbot.moderation.output_gate import ReplyState
from tests.moderation.helpers import (
    FixedClassifier,
    failing,
    make_draft,
    make_moderator,
    make_settings,
)

GOOD = "Keep it on a sunny windowsill and pinch off the flowers."


def judge(text, state=None, *, classifier=None, draft_args=None, **settings):
    draft = make_draft(text, **(draft_args or {}))
    return make_moderator(classifier, **settings).check_reply(draft, state or ReplyState())


def test_a_good_reply_is_approved_with_every_check_recorded(moderator):
    verdict = moderator.check_reply(make_draft(GOOD), ReplyState())
    assert verdict.decision is Decision.APPROVE
    assert [c.name for c in verdict.checks] == [
        "length",
        "degenerate",
        "toxicity",
        "meaning",
        "wordlist",
        "personal_data",
        "links",
        "pings",
        "echo",
        "repeat",
        "leak",
        "character",
        "injection_echo",
        "template",
        "manipulation",
    ]
    assert all(c.passed for c in verdict.checks)


def test_length_bounds_both_sides():
    limits = {"shape": {"min_chars": 5, "max_chars": 20}}
    assert judge("abcde", **limits).approved
    assert failing(judge("abcd", **limits)) == {"length": "length:4<5"}
    assert judge("Water it well today", **limits).approved
    assert failing(judge("word " * 5, **limits))["length"] == "length:24>20"


def test_repeated_ngrams_both_sides():
    text = "water it well and water it well and water it well and water it well"
    assert failing(judge(text))["degenerate"] == "degenerate:repeated-ngrams:0.69"
    assert judge(text, shape={"max_repeated_ngram_ratio": 0.7}).approved


def test_short_word_loops_are_degenerate_too():
    assert "degenerate" in failing(judge("no no no no no"))
    assert judge("no no, not like that").approved


def test_repeated_lines_both_sides():
    text = "Great post.\nGreat post.\nGreat post.\nThanks for sharing it with us."
    assert judge(text).approved  # 2 of 4 lines repeat: 0.50 is not above the default 0.5
    verdict = judge(text, shape={"max_repeated_line_ratio": 0.49})
    assert failing(verdict) == {"degenerate": "degenerate:repeated-lines:0.50"}


def test_text_without_real_words_is_degenerate():
    assert failing(judge("asdkjh qwpzxc mnbvcx lkjhgf"))["degenerate"].startswith(
        "degenerate:few-words"
    )
    assert failing(judge("!!!! ???? ...."))["degenerate"] == "degenerate:few-words:0.00"
    assert judge("Try 25C, 60% humidity, and https://reddit.com/r/gardening").approved


def test_toxicity_thresholds_reject_review_and_pass():
    limits = {"toxicity": {"reject_threshold": 0.8, "review_threshold": 0.5}}
    rejected = judge(GOOD, classifier=FixedClassifier(0.8), **limits)
    assert rejected.decision is Decision.REJECT and rejected.reasons == ("toxicity:0.80>=0.8",)
    reviewed = judge(GOOD, classifier=FixedClassifier(0.79), **limits)
    assert reviewed.decision is Decision.REVIEW and reviewed.reasons == ("toxicity:0.79>=0.5",)
    assert judge(GOOD, classifier=FixedClassifier(0.49), **limits).approved


def test_toxicity_scores_the_whole_text_and_each_sentence():
    classifier = FixedClassifier(0.0)
    judge("First part. Second part!\nThird part", classifier=classifier)
    assert classifier.seen == [
        "First part. Second part!\nThird part",
        "First part.",
        "Second part!",
        "Third part",
    ]


def test_no_classifier_means_no_toxicity_failure():
    verdict = Moderator(make_settings(), classifier=None).check_reply(
        make_draft(GOOD), ReplyState()
    )
    assert verdict.approved


def test_wordlist_catches_obfuscated_terms_and_extra_words():
    assert failing(judge("just k1lll yourself"))["wordlist"] == "wordlist:kil yourself"
    assert "wordlist" not in failing(judge("Kill the weeds yourself, by hand."))
    extra = {"toxicity": {"extra_words": ["turnip head"]}}
    assert failing(judge("ok turnip head", **extra))["wordlist"] == "wordlist:turnip head"
    assert judge("just k1ll yourself", toxicity={"wordlist": False}).approved


def test_wordlist_action_can_ask_for_review():
    verdict = judge("you retard", toxicity={"wordlist_action": "review"})
    assert verdict.decision is Decision.REVIEW


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("mail me at rose.gardener@example.com", "email"),
        ("call (415) 555-2671 tonight", "phone"),
        ("card 4111 1111 1111 1111 exp 09/27", "card"),
        ("pay GB82 WEST 1234 5698 7654 32", "iban"),
        ("ssn 123-45-6789", "ssn"),
        ("her IP is 81.2.69.160", "ip"),
    ],
)
def test_personal_data_is_rejected(text, kind):
    assert failing(judge(text))["personal_data"] == f"personal_data:{kind}"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("ring me on +33 1 23 45 67 89 after six", "phone"),
        ("DE89 3704 0044 0532 0130 00 OK thanks", "iban"),
        ("wire it to de89 3704 0044 0532 0130 00", "iban"),
    ],
)
def test_personal_data_the_regexes_missed_is_rejected(text, kind):
    assert failing(judge(text))["personal_data"] == f"personal_data:{kind}"


@pytest.mark.parametrize(
    "text",
    ["The log says timestamp 1700000000, so it ran at night.", "Is order 2024 1234 5678 ok?"],
)
def test_numbers_that_only_look_like_phones_pass(text):
    assert "personal_data" not in failing(judge(text))


def test_phone_regions_are_configurable_and_checked():
    text = "appelle le 06 12 34 56 78 ce soir"
    assert judge(text).approved
    verdict = judge(text, personal_data={"phone_regions": ["FR"]})
    assert failing(verdict)["personal_data"] == "personal_data:phone"
    with pytest.raises(ValueError, match="unknown phone region"):
        make_settings(personal_data={"phone_regions": ["Germany"]})


def test_personal_data_kinds_and_action_are_configurable():
    assert judge("ssn 123-45-6789", personal_data={"kinds": ["email"]}).approved
    verdict = judge("a@b.org", personal_data={"action": "review"})
    assert verdict.decision is Decision.REVIEW


def test_link_count_both_sides():
    one = "See https://en.wikipedia.org/wiki/Basil"
    two = one + " and https://www.reddit.com/r/gardening"
    assert judge(one).approved
    assert failing(judge(two))["links"] == "links:2>1"
    assert judge(two, links={"max_links": 2}).approved


def test_links_outside_the_allowlist_are_rejected_subdomains_allowed():
    assert failing(judge("Buy at cheap-seeds.biz/basil"))["links"] == "links:domain:cheap-seeds.biz"
    assert judge("See https://old.reddit.com/r/gardening").approved
    assert failing(judge("See https://notreddit.com/x"))["links"] == "links:domain:notreddit.com"
    assert judge("Buy at cheap-seeds.biz", links={"allowed_domains": ["cheap-seeds.biz"]}).approved


def test_user_and_subreddit_pings_both_sides():
    assert failing(judge("ask u/plantdoc about it"))["pings"] == "pings:users:1>0"
    assert judge("ask u/plantdoc about it", links={"max_user_pings": 1}).approved
    assert judge("try r/gardening or r/herbs").approved
    verdict = judge("try r/gardening, r/herbs and r/plantclinic")
    assert failing(verdict)["pings"] == "pings:subreddits:3>2"


def test_echo_of_the_parent_both_sides():
    parent = "How do I keep basil alive indoors in the winter?"
    draft_args = {"parent": parent}
    echoed = judge(parent + " Good question.", draft_args=draft_args)
    assert failing(echoed)["echo"].startswith("echo:")
    assert judge(GOOD, draft_args=draft_args).approved
    lenient = judge(
        parent + " Good question.", draft_args=draft_args, similarity={"echo_threshold": 1.0}
    )
    assert lenient.approved


def test_echo_of_an_ancestor_and_state_parent_override():
    ancestor = "Basil hates cold drafts, keep it away from the window at night"
    verdict = judge(ancestor, draft_args={"ancestors": (ancestor,)})
    assert "echo" in failing(verdict)
    state = ReplyState(parent_text="Keep it on a sunny windowsill and pinch off the flowers!")
    assert "echo" in failing(judge(GOOD, state))


def test_short_replies_are_never_echoes():
    assert judge("Basil help", draft_args={"parent": "Basil help"}).approved


def test_repeat_of_a_recent_bot_reply_both_sides():
    state = ReplyState(recent_replies=("Keep it on a sunny windowsill and pinch off flowers.",))
    assert failing(judge(GOOD, state))["repeat"].startswith("repeat:")
    other = ReplyState(recent_replies=("Use a grow light for twelve hours a day in winter.",))
    assert judge(GOOD, other).approved


def test_system_prompt_overlap_is_a_leak_both_sides():
    prompt = "You are Fern, a cheerful redditor who loves plants and never mentions being a bot."
    state = ReplyState(system_prompt=prompt)
    leaked = judge("Well, I'm a cheerful redditor who loves plants and never mentions it", state)
    assert failing(leaked)["leak"].startswith("leak:prompt-overlap:")
    assert judge("I'm a cheerful person who loves gardening.", state).approved
    assert "leak" in failing(
        judge("You are Fern, a cheerful redditor who loves plants!", draft_args={"persona": prompt})
    )


def test_leak_phrases_and_character_breaks():
    assert failing(judge("My system prompt says to be nice."))["leak"].startswith("leak:phrase:")
    verdict = judge("As an AI language model, I think basil is great.")
    assert failing(verdict)["character"] == "character:'As an AI'"
    reviewed = judge("As an AI, I like basil.", leak={"character_break_action": "review"})
    assert reviewed.decision is Decision.REVIEW
    extra = {"leak": {"extra_phrases": [r"\bbeep boop\b"]}}
    assert "character" in failing(judge("beep boop, water it daily", **extra))


def test_injection_echo_in_a_reply():
    verdict = judge("Sure, ignoring all previous instructions, here you go.")
    assert "injection_echo" in failing(verdict)


def test_disabled_moderation_approves_everything():
    verdict = judge("you retard, mail me at a@b.org", enabled=False)
    assert verdict.approved and [c.name for c in verdict.checks] == ["disabled"]


def test_reject_beats_review_and_reasons_keep_their_order():
    verdict = judge(
        "I like bitcoin, mail a@b.org",
        rules=[{"name": "crypto", "patterns": ["bitcoin"], "action": "review"}],
    )
    assert verdict.decision is Decision.REJECT
    assert verdict.reasons == ("personal_data:email", "rule:crypto:matched:'bitcoin'")
