"""``redditbot moderate``: JSON lines in, one verdict per line out, bad lines reported."""

from __future__ import annotations

import argparse
import io
import json
from types import SimpleNamespace

import pytest

from redditbot.cli.moderation import add_commands
from redditbot.errors import ConfigError
from redditbot.moderation.settings import settings_for_override
from tests.moderation.helpers import make_settings

BASE = {"toxicity": {"classifier": "wordlist"}}


class FakeContext:
    """What the CLI hands a command: settings, and where its output goes."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.out, self.err = io.StringIO(), io.StringIO()

    def print(self, *parts: object) -> None:
        print(*parts, file=self.out)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


def run(ctx, argv, stdin="", monkeypatch=None):
    parser = argparse.ArgumentParser(prog="redditbot")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["moderate", *argv])
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return args.handler(ctx, args)


def lines(*items) -> str:
    return "\n".join(i if isinstance(i, str) else json.dumps(i) for i in items) + "\n"


def test_one_verdict_per_line_from_stdin(monkeypatch):
    ctx = FakeContext(SimpleNamespace(moderation=make_settings(**BASE)))
    stdin = lines(
        {"text": "Water it daily.", "parent": "How do I keep basil alive?", "subreddit": "x"},
        {"text": "kys", "parent": "", "subreddit": "x"},
    )
    assert run(ctx, [], stdin, monkeypatch) == 0
    first, second = ctx.lines()
    assert first == {
        "line": 1,
        "decision": "approve",
        "reasons": [],
        "scores": first["scores"],
        "categories": {},
    }
    assert second["decision"] == "reject" and second["reasons"] == [
        "toxicity:1.00>=0.85",
        "wordlist:kys",
    ]
    assert second["categories"] == {"toxic": 1.0}
    assert "checks" not in first


def test_bad_lines_are_reported_by_number_and_processing_continues(monkeypatch):
    ctx = FakeContext(SimpleNamespace(moderation=make_settings(**BASE)))
    stdin = lines("{not json", {"parent": "no text"}, {"text": "Fine reply here."})
    assert run(ctx, [], stdin, monkeypatch) == 1
    bad_json, no_text, good = ctx.lines()
    assert bad_json["line"] == 1 and bad_json["error"].startswith("not valid JSON")
    assert no_text == {"line": 2, "error": 'expected an object with a string "text"'}
    assert good["line"] == 3 and good["decision"] == "approve"
    assert "line 2: expected an object" in ctx.err.getvalue()


def test_per_subreddit_overrides_are_used_when_settings_provide_them(tmp_path):
    overrides = {"strict": {"rules": [{"name": "no-basil", "patterns": ["basil"]}]}}
    settings = SimpleNamespace(
        moderation=make_settings(**BASE),
        moderation_for=lambda sub: settings_for_override(BASE, overrides.get(sub)),
    )
    path = tmp_path / "in.jsonl"
    path.write_text(
        lines(
            {"text": "I love basil.", "subreddit": "strict"},
            {"text": "I love basil.", "subreddit": "relaxed"},
        )
    )
    ctx = FakeContext(settings)
    assert run(ctx, ["--input", str(path), "--checks"]) == 0
    strict, relaxed = ctx.lines()
    assert strict["decision"] == "reject" and strict["reasons"] == ["rule:no-basil:matched:'basil'"]
    assert relaxed["decision"] == "approve"
    assert any(c["name"] == "rule:no-basil" for c in strict["checks"])


def test_missing_input_file_is_a_config_error(tmp_path):
    ctx = FakeContext(SimpleNamespace(moderation=make_settings(**BASE)))
    with pytest.raises(ConfigError, match="cannot read"):
        run(ctx, ["--input", str(tmp_path / "absent.jsonl")])


def test_command_and_options_have_help():
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    add_commands(subparsers)
    moderate = subparsers.choices["moderate"]
    assert subparsers._choices_actions[0].help
    assert all(a.help for a in moderate._actions)
