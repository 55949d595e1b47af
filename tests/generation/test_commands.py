"""``redditbot model pull`` and ``redditbot model info``."""

from __future__ import annotations

import argparse
import io
import json
from types import SimpleNamespace

from pydantic import SecretStr

from redditbot.cli.model import add_commands, info_command, pull_command
from redditbot.generation.settings import ModelSettings


class FakeContext:
    """The CLI's Context as far as commands use it: settings, print and the error stream
    (not a terminal, so progress comes as plain lines)."""

    def __init__(self, settings: ModelSettings) -> None:
        self.settings = SimpleNamespace(model=settings)
        self.lines: list[str] = []
        self.err = io.StringIO()

    def print(self, *parts: object) -> None:
        self.lines.append(" ".join(str(p) for p in parts))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="redditbot")
    add_commands(root.add_subparsers(dest="command"))
    return root


def test_commands_parse_and_every_command_and_option_has_help():
    args = parser().parse_args(["model", "pull", "--force"])
    assert args.handler is pull_command and args.force
    assert parser().parse_args(["model", "info"]).handler is info_command
    model = parser()._subparsers._group_actions[0].choices["model"]
    sub_action = model._subparsers._group_actions[0]
    assert {a.dest: bool(a.help) for a in sub_action._choices_actions} == {
        "pull": True,
        "info": True,
    }
    for sub in sub_action.choices.values():
        assert all(action.help for action in sub._actions)


def test_info_for_a_default_model_not_yet_pulled(tmp_path):
    ctx = FakeContext(ModelSettings(cache_dir=tmp_path))
    assert info_command(ctx, argparse.Namespace(name=None, json=False)) == 0
    assert f"cache_dir: {tmp_path}" in ctx.lines
    assert ctx.lines[-2:] == ["status: not pulled yet", "problem: run `redditbot model pull`"]


def test_info_for_a_local_model_reads_its_config(tiny_model_dir):
    ctx = FakeContext(ModelSettings(name=str(tiny_model_dir)))
    info_command(ctx, argparse.Namespace(name=None, json=False))
    assert "status: ready" in ctx.lines
    assert "layers: 2" in ctx.lines and "hidden: 64" in ctx.lines
    assert "architecture: LlamaForCausalLM" in ctx.lines


def test_info_as_json_is_one_document(tiny_model_dir):
    ctx = FakeContext(ModelSettings(name=str(tiny_model_dir)))
    info_command(ctx, argparse.Namespace(name=None, json=True))
    info = json.loads("\n".join(ctx.lines))
    assert info["status"] == "ready" and (info["layers"], info["hidden"]) == (2, 64)
    assert info["path"] == str(tiny_model_dir.resolve()) and info["weights_mb"] > 0


def test_info_for_a_missing_model(tmp_path):
    ctx = FakeContext(ModelSettings())
    info_command(ctx, argparse.Namespace(name=str(tmp_path / "nope"), json=False))
    assert ctx.lines[-2] == "status: missing" and ctx.lines[-1].startswith("problem: model ")


def test_info_for_openai_never_prints_the_key():
    settings = ModelSettings(backend="openai", api_key=SecretStr("sk-hidden"))
    ctx = FakeContext(settings)
    info_command(ctx, argparse.Namespace(name=None, json=False))
    assert "api_key: set" in ctx.lines and "sk-hidden" not in "\n".join(ctx.lines)
    info_command(ctx, argparse.Namespace(name=None, json=True))
    assert "sk-hidden" not in "\n".join(ctx.lines)


def test_pull_of_a_local_model_has_nothing_to_do(tiny_model_dir):
    ctx = FakeContext(ModelSettings(name=str(tiny_model_dir)))
    assert pull_command(ctx, argparse.Namespace(name=None, force=False)) == 0
    assert ctx.lines == [f"{tiny_model_dir.resolve()} is a local model directory: nothing to pull"]
