"""Turning check results into a Verdict, failing closed, and making verdicts JSON-safe."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from redditbot.domain import CheckResult, Decision, Verdict

Check = Callable[[], "CheckResult | list[CheckResult]"]

# The category a failing check names when it does not give its own (the meaning classifier
# names finer ones: identity_hate, harassment, threat, sexual, self_harm, extremism).
CHECK_CATEGORIES = {
    "length": "degenerate",
    "degenerate": "degenerate",
    "toxicity": "toxic",
    "wordlist": "toxic",
    "personal_data": "personal_data",
    "links": "spam",
    "pings": "spam",
    "echo": "echo",
    "repeat": "echo",
    "leak": "leak",
    "character": "leak",
    "injection_echo": "injection",
    "injection": "injection",
}
ERROR_CATEGORY = "error"


def category_of(name: str) -> str:
    """The default category of a check's failure (``rule:*`` checks are ``rule``)."""
    if name.startswith("rule:"):
        return "rule"
    return CHECK_CATEGORIES.get(name, name)


def run_check(name: str, check: Check) -> list[CheckResult]:
    """Run one check; a check that raises fails closed with the error as its reason."""
    try:
        outcome = check()
    # Fail closed on purpose: any bug or missing model in a check must reject, not let a reply
    # through unexamined; the error text is the recorded reason.
    except Exception as exc:
        return [error_result(name, exc)]
    return outcome if isinstance(outcome, list) else [outcome]


def error_result(name: str, exc: BaseException) -> CheckResult:
    """The failing result of a check that raised."""
    return CheckResult(
        name=name,
        passed=False,
        score=1.0,
        reason=f"error:{name}:{type(exc).__name__}: {exc}",
        action=Decision.REJECT,
        category=ERROR_CATEGORY,
    )


def decide(results: Iterable[CheckResult]) -> Verdict:
    """REJECT if a failing check asks reject, else REVIEW if one asks review, else APPROVE."""
    checks = tuple(results)
    failing = [c for c in checks if not c.passed]
    actions = {c.action for c in failing}
    if Decision.REJECT in actions:
        decision = Decision.REJECT
    elif Decision.REVIEW in actions:
        decision = Decision.REVIEW
    else:
        decision = Decision.APPROVE
    reasons = tuple(c.reason or c.name for c in failing)
    return Verdict(decision=decision, checks=checks, reasons=reasons)


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    """A JSON-safe dict: decision, reasons, scores by check name, the failing categories with
    their highest score, and every check's result."""
    return {
        "decision": verdict.decision.value,
        "reasons": list(verdict.reasons),
        "scores": {c.name: c.score for c in verdict.checks if c.score is not None},
        "categories": failing_categories(verdict),
        "checks": [check_to_dict(c) for c in verdict.checks],
    }


def failing_categories(verdict: Verdict) -> dict[str, float]:
    """{category: highest score} over the verdict's failing checks."""
    found: dict[str, float] = {}
    for check in verdict.checks:
        if not check.passed:
            category = check.category or category_of(check.name)
            score = 1.0 if check.score is None else float(check.score)
            found[category] = max(score, found.get(category, score))
    return found


def check_to_dict(check: CheckResult) -> dict[str, Any]:
    """One CheckResult as a JSON-safe dict."""
    return {
        "name": check.name,
        "passed": check.passed,
        "score": None if check.score is None else float(check.score),
        "reason": check.reason,
        "action": check.action.value,
        "category": check.category,
    }


def verdict_from_dict(data: dict[str, Any]) -> Verdict:
    """The inverse of :func:`verdict_to_dict` (for reading stored verdicts back)."""
    checks = tuple(
        CheckResult(
            name=c["name"],
            passed=c["passed"],
            score=c["score"],
            reason=c["reason"],
            action=Decision(c["action"]),
            category=c.get("category"),  # verdicts stored before categories existed lack it
        )
        for c in data["checks"]
    )
    return Verdict(Decision(data["decision"]), checks, tuple(data["reasons"]))


def passed(name: str, score: float | None = None) -> CheckResult:
    """A passing result."""
    return CheckResult(name=name, passed=True, score=score)


def failed(
    name: str,
    reason: str,
    action: str = "reject",
    score: float | None = None,
    category: str | None = None,
) -> CheckResult:
    """A failing result asking for ``action`` ("reject" or "review").

    ``category`` defaults to the check's own (:func:`category_of`); ``score`` defaults to 1.0,
    a pattern that matched for certain, so that every failure names a category and a score.
    """
    return CheckResult(
        name=name,
        passed=False,
        score=1.0 if score is None else score,
        reason=reason,
        action=Decision(action),
        category=category or category_of(name),
    )
