"""The AutoModerator-like rules: matchers, negation, case, fields, the check shorthand."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from redditbot.domain import Decision
from redditbot.moderation.output_gate import ReplyState
from redditbot.moderation.rules import Rule
from tests.moderation.helpers import failing, make_draft, make_moderator


def rule(**fields) -> Rule:
    return Rule.model_validate({"name": "r", **fields})


def body(text: str) -> dict[str, list[str]]:
    return {"body": [text]}


@pytest.mark.parametrize(
    ("match", "pattern", "hit", "miss"),
    [
        ("includes-word", "coin", "buy coin now", "buy coins now"),
        ("includes", "coin", "buy bitcoins now", "buy tokens now"),
        ("starts-with", "hello", "  Hello there", "well hello"),
        ("ends-with", "bye", "ok bye  ", "bye then"),
        ("full-exact", "yes", " yes ", "yes please"),
        ("regex", r"\d{3}-?\d{4}", "call 555-1234", "call me"),
    ],
)
def test_each_matcher_hits_and_misses(match, pattern, hit, miss):
    compiled = rule(match=match, patterns=[pattern])
    assert compiled.fires(body(hit))[0] is True
    assert compiled.fires(body(miss))[0] is False


def test_case_insensitive_by_default_and_sensitive_on_request():
    assert rule(patterns=["Bitcoin"]).fires(body("BITCOIN"))[0]
    assert not rule(patterns=["Bitcoin"], case_sensitive=True).fires(body("BITCOIN"))[0]


def test_negation_fires_when_nothing_matches():
    must_mention = rule(patterns=["source"], negate=True)
    assert must_mention.fires(body("trust me"))[0] is True
    assert must_mention.fires(body("source: the docs"))[0] is False


def test_regex_metacharacters_are_literal_outside_regex_rules():
    assert rule(match="includes", patterns=["a.b"]).fires(body("a.b"))[0]
    assert not rule(match="includes", patterns=["a.b"]).fires(body("axb"))[0]


def test_reason_names_the_rule_and_the_match_unless_given():
    assert rule(patterns=["coin"]).fires(body("coin"))[1] == "rule:r:matched:'coin'"
    assert rule(patterns=["coin"], reason="no-coins").fires(body("coin"))[1] == "no-coins"


def test_check_shorthand_sets_fields_matcher_negation_and_case():
    parsed = rule(check="~body+title (regex, case-sensitive)", patterns=["X"])
    assert parsed.fields == ["body", "title"] and parsed.match == "regex"
    assert parsed.negate and parsed.case_sensitive


def test_check_shorthand_rejects_unknown_modifiers_and_fields():
    with pytest.raises(ValidationError, match="unknown modifier 'fuzzy'"):
        rule(check="body (fuzzy)", patterns=["x"])
    with pytest.raises(ValidationError, match="fields"):
        rule(check="flair (includes)", patterns=["x"])


def test_rule_needs_patterns():
    with pytest.raises(ValidationError, match="patterns"):
        rule(patterns=[])


def test_rules_see_title_author_and_link_domains_in_the_output_gate():
    rules = [
        {"name": "title", "fields": ["title"], "patterns": ["basil"], "action": "review"},
        {"name": "author", "check": "author (full-exact)", "patterns": ["gardener42"]},
        {"name": "domain", "fields": ["domain"], "match": "ends-with", "patterns": ["reddit.com"]},
    ]
    draft = make_draft("See https://old.reddit.com/r/gardening for more.")
    verdict = make_moderator(rules=rules).check_reply(draft, ReplyState())
    assert set(failing(verdict)) == {"rule:title", "rule:author", "rule:domain"}
    assert verdict.decision is Decision.REJECT


def test_a_review_rule_holds_for_review():
    rules = [{"name": "crypto", "patterns": ["bitcoin"], "action": "review"}]
    verdict = make_moderator(rules=rules).check_reply(make_draft("I like bitcoin."), ReplyState())
    assert verdict.decision is Decision.REVIEW
    assert verdict.reasons == ("rule:crypto:matched:'bitcoin'",)


def test_rule_that_does_not_fire_passes():
    rules = [{"name": "crypto", "patterns": ["bitcoin"]}]
    verdict = make_moderator(rules=rules).check_reply(make_draft("Water it daily."), ReplyState())
    assert verdict.approved and any(c.name == "rule:crypto" and c.passed for c in verdict.checks)
