"""ModerationSettings: defaults, strictness, per-subreddit merging, config-time rule errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from redditbot.moderation.settings import (
    ModerationSettings,
    merge_moderation,
    settings_for_override,
)

GLOBAL = {
    "toxicity": {"reject_threshold": 0.9, "review_threshold": 0.5},
    "links": {"allowed_domains": ["reddit.com"], "max_links": 1},
    "rules": [{"name": "no-crypto", "patterns": ["bitcoin"]}],
}


def test_defaults_are_valid_and_every_field_is_described():
    settings = ModerationSettings()
    assert settings.enabled and settings.input.max_depth == 8
    assert settings.toxicity.classifier == "profanity-check"
    sections = (settings, settings.input, settings.toxicity, settings.links, settings.shape)
    for section in (*sections, settings.personal_data, settings.judge):
        for name, info in type(section).model_fields.items():
            assert info.description or name in {
                "input",
                "toxicity",
                "meaning",
                "personal_data",
                "links",
                "shape",
                "similarity",
                "leak",
                "judge",
            }, name


def test_unknown_keys_are_rejected_at_every_level():
    with pytest.raises(ValidationError, match="toxcity"):
        ModerationSettings.model_validate({"toxcity": {}})
    with pytest.raises(ValidationError, match="max_link"):
        ModerationSettings.model_validate({"links": {"max_link": 2}})


def test_override_merges_a_partial_table_and_keeps_the_rest():
    merged = settings_for_override(GLOBAL, {"toxicity": {"reject_threshold": 0.7}})
    assert merged.toxicity.reject_threshold == 0.7
    assert merged.toxicity.review_threshold == 0.5  # from the global table
    assert merged.links.allowed_domains == ["reddit.com"]


def test_subreddit_rules_add_to_global_rules():
    override = {"rules": [{"name": "no-spoilers", "patterns": ["spoiler"]}]}
    merged = settings_for_override(GLOBAL, override)
    assert [r.name for r in merged.rules] == ["no-crypto", "no-spoilers"]


def test_replace_rules_drops_the_global_rules():
    override = {"replace_rules": True, "rules": [{"name": "only-this", "patterns": ["x"]}]}
    merged = settings_for_override(GLOBAL, override)
    assert [r.name for r in merged.rules] == ["only-this"]


def test_override_lists_other_than_rules_replace():
    merged = settings_for_override(GLOBAL, {"links": {"allowed_domains": ["github.com"]}})
    assert merged.links.allowed_domains == ["github.com"]
    assert merged.links.max_links == 1


def test_merge_does_not_mutate_its_inputs():
    override = {"rules": [{"name": "extra", "patterns": ["y"]}], "links": {"max_links": 3}}
    merge_moderation(GLOBAL, override)
    assert len(GLOBAL["rules"]) == 1 and GLOBAL["links"]["max_links"] == 1


def test_no_override_gives_the_global_settings():
    assert settings_for_override(GLOBAL, None).rules[0].name == "no-crypto"


def test_bad_override_is_a_validation_error():
    with pytest.raises(ValidationError, match="reject_threshold"):
        settings_for_override(GLOBAL, {"toxicity": {"reject_threshold": 1.5}})


def test_bad_rule_regex_names_the_rule_and_the_pattern():
    rules = [{"name": "broken", "match": "regex", "patterns": ["ok", "(unclosed"]}]
    with pytest.raises(ValidationError) as caught:
        ModerationSettings.model_validate({"rules": rules})
    message = str(caught.value)
    assert "rule 'broken'" in message and "'(unclosed'" in message


def test_bad_bot_name_pattern_is_reported_with_the_pattern():
    with pytest.raises(ValidationError, match=r"bot_name_patterns: bad regex pattern '\[bot'"):
        ModerationSettings.model_validate({"input": {"bot_name_patterns": ["[bot"]}})


EXAMPLE_TOML = """
[moderation]
replace_rules = false

[moderation.input]
max_depth = 5
blocked_subreddits = ["politics"]
injection_policy = "review"

[moderation.toxicity]
classifier = "wordlist"
reject_threshold = 0.9

[moderation.links]
allowed_domains = ["reddit.com", "wikipedia.org", "python.org"]

[[moderation.rules]]
name = "no-crypto"
check = "body+title (includes-word)"
patterns = ["bitcoin", "dogecoin"]
action = "review"

[[moderation.rules]]
name = "must-be-polite"
check = "~body (regex, case-sensitive)"
patterns = ["[A-Z]"]
"""


def test_a_toml_section_validates_with_the_check_shorthand():
    settings = ModerationSettings.model_validate(tomllib.loads(EXAMPLE_TOML)["moderation"])
    crypto, polite = settings.rules
    assert (crypto.fields, crypto.match, crypto.action) == (
        ["body", "title"],
        "includes-word",
        "review",
    )
    assert (polite.negate, polite.case_sensitive, polite.match) == (True, True, "regex")
    assert settings.input.injection_policy == "review"
    assert settings.links.allowed_domains[-1] == "python.org"


def test_the_documented_example_section_is_valid_and_complete():
    path = Path(__file__).parent / "data" / "example_moderation.toml"
    table = tomllib.loads(path.read_text())["moderation"]
    settings = ModerationSettings.model_validate(table)
    assert set(ModerationSettings.model_fields) == set(table)
    assert settings.rules[0].name == "no-crypto-shilling"


def test_overrides_merge_over_a_dumped_settings_object():
    # The config layer holds validated settings, so it merges over their model_dump().
    base = ModerationSettings.model_validate(GLOBAL)
    assert ModerationSettings.model_validate(base.model_dump()) == base
    override = {"rules": [{"name": "extra", "check": "title (starts-with)", "patterns": ["Q:"]}]}
    merged = settings_for_override(base.model_dump(), override)
    assert [r.name for r in merged.rules] == ["no-crypto", "extra"]
    assert merged.rules[1].fields == ["title"] and merged.toxicity.reject_threshold == 0.9
