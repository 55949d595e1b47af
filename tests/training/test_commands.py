"""``redditbot train`` and ``redditbot export-dataset``, driven through their own parser."""

from __future__ import annotations

import argparse
import io
import json
from types import SimpleNamespace

import pytest

from redditbot.cli import train as commands
from redditbot.config import Settings
from redditbot.errors import ConfigError, StoreError
from redditbot.training.runs import Progress
from tests.training.conftest import SECRET, SUBREDDIT

PERSONA = "You are a pizza fan from r/pizzatalk."


class FakeContext:
    """What a command gets from the CLI: settings and a captured stdout."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.out, self.err = io.StringIO(), io.StringIO()

    def print(self, *parts: object) -> None:
        print(*parts, file=self.out)

    @property
    def lines(self) -> list[str]:
        return self.out.getvalue().splitlines()


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="redditbot")
    commands.add_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(list(argv))


def settings_for(url: str, allowed: bool = True, **model) -> Settings:
    return Settings(
        dry_run=True,
        database={"url": url},
        reddit={"username": "replybot"},
        model={"device": "cpu", **model},
        subreddits=[
            {"name": SUBREDDIT, "persona": PERSONA, "training_allowed": allowed},
            {"name": "emptyplace", "training_allowed": allowed},
        ],  # fmt: skip
    )


def run(ctx: FakeContext, *argv: str) -> int:
    args = parse(*argv)
    return args.handler(ctx, args)


def test_export_dataset_writes_the_pairs_with_the_subreddits_persona(store_url, tmp_path):
    ctx = FakeContext(settings_for(store_url))
    out = tmp_path / "pairs.jsonl"
    assert run(ctx, "export-dataset", "--subreddit", SUBREDDIT, "--out", str(out)) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 34
    assert {r["split"] for r in records} == {"train", "validation"}
    assert records[0]["messages"][0]["content"].startswith(PERSONA)
    assert SECRET not in out.read_text()
    assert ctx.lines[0] == f"wrote 34 pairs to {out}"
    assert "duplicate 1" in ctx.lines[2] and "opted_out 1" in ctx.lines[2]


def test_train_prints_progress_and_metrics_and_saves_a_usable_model(
    store_url, tiny_model_dir, tmp_path, capfd
):
    ctx = FakeContext(settings_for(store_url))
    out = tmp_path / "tuned"
    argv = ["train", "--subreddit", SUBREDDIT, "--base", str(tiny_model_dir), "--out", str(out)]
    capfd.readouterr()
    assert run(ctx, *argv, "--max-steps", "2", "--lr", "1e-3", "--max-seq-tokens", "384") == 0
    assert capfd.readouterr().out == ""  # only the command's own lines: no Trainer log dicts
    text = "\n".join(ctx.lines)
    assert "r/pizzatalk: 30 training pairs (14 threads), 4 validation pairs (2 threads)" in text
    assert "base model: validation loss" in text
    assert "step 2/2  epoch 1  loss" in text
    assert "done: 2 steps; validation loss" in text
    assert (out / "config.json").is_file() and (out / "README.md").is_file()
    card = (out / "README.md").read_text()
    assert f"`training_allowed = true` in the `[[subreddits]]` table of r/{SUBREDDIT}" in card
    assert json.loads((out / "metrics.json").read_text())["permission"]["training_allowed"]
    assert f'model = {{ name = "{out.resolve()}" }}' in card
    assert "| learning_rate | 0.001 |" in card


@pytest.mark.parametrize("command", ["export-dataset", "train"])
def test_training_needs_the_subreddits_permission(store_url, tmp_path, command):
    out = tmp_path / "out"
    ctx = FakeContext(settings_for(store_url, allowed=False))
    with pytest.raises(ConfigError, match=f"r/{SUBREDDIT}: .*set training_allowed = true in its"):
        run(ctx, command, "--subreddit", SUBREDDIT, "--out", str(out))
    with pytest.raises(ConfigError, match='training_allowed = true in a .*name = "elsewhere"'):
        run(ctx, command, "--subreddit", "elsewhere", "--out", str(out))
    assert not out.exists() and ctx.lines == []  # refused before anything was read or written


def test_train_refuses_bad_numbers_and_an_empty_subreddit(store_url):
    ctx = FakeContext(settings_for(store_url))
    with pytest.raises(ConfigError, match="--batch-size"):
        run(ctx, "train", "--subreddit", SUBREDDIT, "--batch-size", "0")
    with pytest.raises(ConfigError, match="--gradient-accumulation"):
        run(ctx, "train", "--subreddit", SUBREDDIT, "--gradient-accumulation", "0")
    with pytest.raises(ConfigError, match="--max-grad-norm"):
        run(ctx, "train", "--subreddit", SUBREDDIT, "--max-grad-norm", "-1")
    args = parse("train", "--subreddit", SUBREDDIT, "--gradient-accumulation", "4",
                 "--max-grad-norm", "0")  # fmt: skip
    config = commands.train_config(args, ctx.settings.model)
    assert (config.gradient_accumulation, config.max_grad_norm) == (4, None)
    with pytest.raises(ConfigError, match="no usable reply"):
        run(ctx, "train", "--subreddit", "emptyplace")


def test_an_unmigrated_store_is_refused(sqlite_empty_url):
    ctx = FakeContext(settings_for(sqlite_empty_url))
    with pytest.raises(StoreError, match="db upgrade"):
        run(ctx, "export-dataset", "--subreddit", SUBREDDIT)


def test_every_command_and_option_has_help():
    parser = argparse.ArgumentParser(prog="redditbot")
    subparsers = parser.add_subparsers(dest="command")
    commands.add_commands(subparsers)
    helps = {action.dest: action.help for action in subparsers._choices_actions}
    assert set(helps) == {"train", "export-dataset"} and all(helps.values())
    for name in helps:
        for action in subparsers.choices[name]._actions:
            assert action.help, f"{name} {action.option_strings} has no help"


def progress(step: int, elapsed_s: float, total: int = 40) -> Progress:
    return Progress(step, total, 1, 2.5, 5e-5, 120.0, elapsed_s)


def test_progress_is_printed_every_ten_steps_or_30_seconds_and_at_both_ends():
    lines: list[str] = []
    printer = commands.ProgressPrinter(lines.append)
    for step, elapsed in [(1, 1), (2, 2), (3, 40), (4, 41), (10, 50), (39, 60), (40, 61)]:
        printer(progress(step, elapsed))
    assert [line.split()[1] for line in lines] == ["1/40", "3/40", "10/40", "40/40"]
    assert lines[0] == (
        "step 1/40  epoch 1  loss 2.5000  lr 5.00e-05  120 tok/s  0:00:01 elapsed, ~0:00:39 left"
    )


class Terminal(io.StringIO):
    """A stream that says it is a terminal (as stderr does in an interactive shell)."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_and_a_pipe_gets_plain_lines():
    ctx = SimpleNamespace(err=Terminal(), print=lambda *parts: printed.append(parts))
    printed: list = []
    bar = commands.progress_reporter(ctx)
    for step in range(1, 41):
        bar(progress(step, step * 1.5))
    drawn = ctx.err.getvalue()
    assert "\r" in drawn and "40/40" in drawn and "loss=2.5000" in drawn and printed == []
    piped = SimpleNamespace(err=io.StringIO(), print=lambda *parts: printed.append(parts))
    lines = commands.progress_reporter(piped)
    for step in range(1, 41):
        lines(progress(step, step * 1.5))
    assert piped.err.getvalue() == "" and "\r" not in str(printed)
    assert [parts[0].split()[1] for parts in printed] == ["1/40", "10/40", "20/40", "30/40",
                                                          "40/40"]  # fmt: skip
