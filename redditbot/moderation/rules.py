"""Operator rules in an AutoModerator-like vocabulary, compiled when the config loads.

A rule in bot.toml::

    [[moderation.rules]]
    name = "no-crypto-shilling"
    check = "body+title (includes-word)"   # AutoModerator style: [~]fields (matcher, modifiers)
    patterns = ["bitcoin", "dogecoin"]
    action = "review"

or spelled out with ``fields``, ``match``, ``negate`` and ``case_sensitive``. A rule *fires* when
one of its patterns matches one of its fields (or, negated with ``~``, when none does).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

RuleField = Literal["body", "title", "author", "domain"]
Matcher = Literal["includes-word", "includes", "starts-with", "ends-with", "full-exact", "regex"]
MATCHERS: tuple[str, ...] = Matcher.__args__  # type: ignore[attr-defined]
FIELDS: tuple[str, ...] = RuleField.__args__  # type: ignore[attr-defined]

_CHECK_SYNTAX = re.compile(r"^\s*(?P<neg>~)?(?P<fields>[\w+]+)\s*(?:\((?P<mods>[^)]*)\))?\s*$")


def compile_pattern(pattern: str, flags: int, *, where: str) -> re.Pattern[str]:
    """Compile a regex, naming ``where`` it came from and the pattern when it is invalid."""
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"{where}: bad regex pattern {pattern!r}: {exc}") from exc


class Rule(BaseModel):
    """One operator rule; see the module docstring for the TOML syntax."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="names the rule in verdict reasons")
    fields: list[RuleField] = Field(
        default_factory=lambda: ["body"],
        description="what is searched: body, title, author, domain",
    )
    match: Matcher = Field("includes-word", description="how a pattern is matched")
    patterns: list[str] = Field(min_length=1, description="values (or regexes) to look for")
    negate: bool = Field(False, description="fire when no pattern matches (AutoModerator's ~)")
    case_sensitive: bool = Field(False, description="match case exactly")
    action: Literal["reject", "review"] = Field("reject", description="what a firing asks for")
    reason: str | None = Field(None, description="reason recorded when the rule fires")
    _regex: re.Pattern[str] = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _expand_check(cls, data: Any) -> Any:
        if isinstance(data, dict) and "check" in data:
            data = dict(data)
            data.update(parse_check(data.pop("check"), rule_name=data.get("name", "?")))
        return data

    @model_validator(mode="after")
    def _compile(self) -> Rule:
        flags = 0 if self.case_sensitive else re.IGNORECASE
        self._regex = compile_pattern(_combined_pattern(self), flags, where=f"rule {self.name!r}")
        return self

    def search(self, values: dict[str, list[str]]) -> str | None:
        """The first matching text among this rule's fields, or None."""
        for field_name in self.fields:
            for value in values.get(field_name, []):
                found = self._find(value)
                if found is not None:
                    return found
        return None

    def fires(self, values: dict[str, list[str]]) -> tuple[bool, str]:
        """Whether the rule fires on these field values, and the reason to record."""
        found = self.search(values)
        fired = (found is None) if self.negate else (found is not None)
        detail = "no-match" if found is None else f"matched:{found[:40]!r}"
        return fired, self.reason or f"rule:{self.name}:{detail}"

    def _find(self, value: str) -> str | None:
        if self.match == "full-exact":
            hit = self._regex.fullmatch(value.strip())
        else:
            hit = self._regex.search(value)
        return None if hit is None else hit.group(0)


def parse_check(check: str, *, rule_name: str) -> dict[str, Any]:
    """Turn ``"~body+title (regex, case-sensitive)"`` into rule fields."""
    parsed = _CHECK_SYNTAX.match(check)
    if parsed is None:
        raise ValueError(f"rule {rule_name!r}: cannot read check {check!r}")
    result: dict[str, Any] = {
        "negate": bool(parsed["neg"]),
        "fields": parsed["fields"].split("+"),
    }
    for modifier in filter(None, (m.strip() for m in (parsed["mods"] or "").split(","))):
        if modifier == "case-sensitive":
            result["case_sensitive"] = True
        elif modifier in MATCHERS:
            result["match"] = modifier
        else:
            raise ValueError(f"rule {rule_name!r}: unknown modifier {modifier!r} in {check!r}")
    return result


def _combined_pattern(rule: Rule) -> str:
    if rule.match == "regex":
        for pattern in rule.patterns:  # compile each alone so the error names the bad one
            compile_pattern(pattern, 0, where=f"rule {rule.name!r}")
        alternatives = "|".join(f"(?:{p})" for p in rule.patterns)
    else:
        alternatives = "|".join(re.escape(p) for p in rule.patterns)
    return {
        "includes-word": r"(?<!\w)(?:{})(?!\w)",
        "includes": "(?:{})",
        "starts-with": r"^\s*(?:{})",
        "ends-with": r"(?:{})\s*$",
        "full-exact": "(?:{})",
        "regex": "(?:{})",
    }[rule.match].format(alternatives)
