"""The command line: every command documents itself, and mistakes never show a traceback."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys

from redditbot import cli


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield path + (name,), helps.get(name), sub
                yield from _walk(sub, path + (name,))


def test_every_command_and_option_has_help_text() -> None:
    commands = list(_walk(cli.build_parser()))
    names = {" ".join(path) for path, _, _ in commands}
    assert {"config check", "db upgrade", "db downgrade", "db check", "history", "sql"} <= names
    for path, help_text, parser in commands:
        assert help_text, f"`redditbot {' '.join(path)}` has no help text"
        for action in parser._actions:
            if action.option_strings or action.dest not in ("help",):
                is_sub = isinstance(action, argparse._SubParsersAction)
                assert is_sub or action.help, f"{' '.join(path)} {action.dest} has no help"


def test_no_command_prints_usage_and_fails() -> None:
    out = io.StringIO()
    assert cli.main([], out=out, err=io.StringIO()) == 2
    assert "COMMAND" in out.getvalue()


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "redditbot", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "history" in result.stdout and "sql" in result.stdout
