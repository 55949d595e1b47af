"""The command line: every command documents itself, and mistakes never show a traceback."""

from __future__ import annotations

import argparse
import io
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from redditbot import cli
from redditbot.app import InstanceLock
from redditbot.cli import status as status_commands
from redditbot.errors import (
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
    EXIT_TEMPFAIL,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)
from tests.daemon.conftest import write_config


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


# --------------------------------------------------------------------------- exit codes


def run_main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli.main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_help_documents_every_exit_code() -> None:
    text = cli.build_parser().format_help()
    for code in (EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_TEMPFAIL, EXIT_CONFIG, EXIT_INTERRUPTED):
        assert re.search(rf"^  {code}\s+\S", text, re.MULTILINE), (code, text)
    assert "EX_CONFIG" in text and "EX_UNAVAILABLE" in text and "EX_TEMPFAIL" in text


def test_an_unknown_option_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["status", "--no-such-option"], err=io.StringIO())
    assert exited.value.code == EXIT_USAGE


@pytest.mark.parametrize("command", [["posts", "list"], ["history"]])
def test_an_unknown_status_is_a_usage_error_naming_the_states(command, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([*command, "--status", "pendng_review"], err=io.StringIO())
    err = capsys.readouterr().err  # argparse writes usage errors to sys.stderr
    assert exited.value.code == EXIT_USAGE
    assert "'pendng_review'" in err and "pending_review" in err and "Traceback" not in err


def test_a_broken_config_file_exits_78(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text("[reddit\n")
    code, _, err = run_main("--config", str(config), "config", "check")
    assert code == EXIT_CONFIG and f"{config}:1:" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["status"], ["review", "list"], ["posts", "list"],
                                     ["history"]])  # fmt: skip
def test_a_never_migrated_database_is_named_without_a_traceback(
    command, empty_db_url, monkeypatch
) -> None:
    monkeypatch.setenv("REDDITBOT_DATABASE__URL", empty_db_url)
    code, _, err = run_main(*command)
    assert code == EXIT_CONFIG, err
    assert "redditbot db upgrade" in err and "Traceback" not in err
    shown = make_url(empty_db_url).render_as_string(hide_password=True)
    assert shown in err, err
    assert err.count("\n") == 1, "one line"


def test_debug_shows_the_traceback(empty_db_url, monkeypatch) -> None:
    monkeypatch.setenv("REDDITBOT_DATABASE__URL", empty_db_url)
    code, _, err = run_main("--debug", "status")
    assert code == EXIT_CONFIG
    assert err.startswith("Traceback") and "SchemaError" in err
    assert err.rstrip().splitlines()[-1].startswith("redditbot: error: the database")


def test_an_unreachable_database_exits_69(monkeypatch) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/redditbot"
    monkeypatch.setenv("REDDITBOT_DATABASE__URL", url)
    for command in (["status"], ["db", "upgrade"], ["history"]):
        code, _, err = run_main(*command)
        assert code == EXIT_UNAVAILABLE, (command, err)
        assert "Traceback" not in err and "127.0.0.1" in err


def test_run_once_against_an_unreachable_reddit_exits_69(tmp_path, prawcore_retry_sleeps) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    config = write_config(tmp_path / "bot.toml", sandbox_url=dead, db_url=db_url,
                          openai_url=f"{dead}/v1")  # fmt: skip
    code, out, err = run_main("--config", str(config), "run", "--once")
    assert code == EXIT_UNAVAILABLE, (out, err)
    assert "Traceback" not in err and err.strip().startswith("redditbot: error: me:")


def test_a_second_daemon_on_one_sqlite_file_exits_75(tmp_path) -> None:
    """Not 1 (a failure) nor 78 (systemd would give up): the file is busy, try again later."""
    dead = f"http://127.0.0.1:{closed_port()}"
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    config = write_config(tmp_path / "bot.toml", sandbox_url=dead, db_url=db_url,
                          openai_url=f"{dead}/v1")  # fmt: skip
    other = InstanceLock(db_url)
    other.acquire()
    try:
        code, out, err = run_main("--config", str(config), "run", "--once")
    finally:
        other.release()
    assert code == EXIT_TEMPFAIL == 75, (out, err)
    assert "another redditbot is already running" in err and "Traceback" not in err


def test_interrupted_exits_130_and_a_bug_keeps_its_traceback(monkeypatch) -> None:
    def interrupted(ctx, args):
        raise KeyboardInterrupt

    def buggy(ctx, args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(status_commands, "show_status", interrupted)
    assert run_main("status")[0] == EXIT_INTERRUPTED
    monkeypatch.setattr(status_commands, "show_status", buggy)
    with pytest.raises(ZeroDivisionError):
        run_main("status")
