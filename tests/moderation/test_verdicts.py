"""Verdict assembly, fail-closed wrapping and JSON serialisation."""

from __future__ import annotations

import json

from redditbot.domain import CheckResult, Decision
from redditbot.moderation.output_gate import ReplyState
from redditbot.moderation.verdicts import (
    decide,
    failed,
    passed,
    run_check,
    verdict_from_dict,
    verdict_to_dict,
)
from tests.moderation.helpers import make_draft, make_moderator


def test_decision_precedence():
    assert decide([passed("a"), passed("b")]).decision is Decision.APPROVE
    assert decide([passed("a"), failed("b", "b:x", "review")]).decision is Decision.REVIEW
    mixed = decide([failed("a", "a:x", "review"), failed("b", "b:y", "reject"), passed("c")])
    assert mixed.decision is Decision.REJECT and mixed.reasons == ("a:x", "b:y")
    assert len(mixed.checks) == 3


def test_run_check_turns_an_exception_into_a_failing_reject():
    def broken() -> CheckResult:
        raise KeyError("rules")

    assert run_check("rules", broken) == [
        CheckResult("rules", False, 1.0, "error:rules:KeyError: 'rules'", Decision.REJECT, "error")
    ]
    assert run_check("ok", lambda: passed("ok")) == [passed("ok")]
    assert run_check("many", lambda: [passed("x"), passed("y")]) == [passed("x"), passed("y")]


def test_verdict_to_dict_is_json_safe_and_round_trips():
    verdict = make_moderator().check_reply(make_draft("mail me: a@b.org"), ReplyState())
    data = json.loads(json.dumps(verdict_to_dict(verdict)))
    assert data["decision"] == "reject"
    assert data["reasons"] == ["personal_data:email"]
    assert data["scores"]["personal_data"] == 1.0 and data["scores"]["length"] == 16.0
    assert {"name", "passed", "score", "reason", "action", "category"} <= set(data["checks"][0])
    assert data["categories"] == {"personal_data": 1.0}
    assert verdict_from_dict(data) == verdict


def test_every_failure_names_a_category_and_a_score():
    result = failed("pings", "pings:users:2>0")
    assert (result.category, result.score) == ("spam", 1.0)
    assert failed("rule:no-basil", "rule:no-basil:x").category == "rule"
    named = failed("meaning", "meaning:harassment:0.97>=0.5", score=0.97, category="harassment")
    assert (named.category, named.score) == ("harassment", 0.97)
    assert passed("pings").category is None


def test_a_verdict_stored_before_categories_existed_still_reads_back():
    old = {
        "decision": "reject",
        "reasons": ["links:2>1"],
        "checks": [{"name": "links", "passed": False, "score": 2.0, "reason": "links:2>1",
                    "action": "reject"}],
    }  # fmt: skip
    assert verdict_from_dict(old).checks[0].category is None


def test_a_broken_check_in_the_output_gate_fails_closed():
    # A rule whose settings object is sabotaged after validation makes the rules check raise.
    moderator = make_moderator(rules=[{"name": "r", "patterns": ["x"]}])
    object.__setattr__(moderator.settings, "rules", [None])
    verdict = moderator.check_reply(make_draft("Water it."), ReplyState())
    assert verdict.decision is Decision.REJECT
    assert verdict.reasons == (
        "error:rules:AttributeError: 'NoneType' object has no attribute 'fires'",
    )
