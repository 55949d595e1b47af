"""``redditbot config check``: validate the configuration and print it with secrets masked."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from redditbot.cli.common import usage
from redditbot.config import SECRET_KEYS

if TYPE_CHECKING:
    from redditbot.cli import Context

MASK = "********"


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    config = subparsers.add_parser("config", help="inspect the configuration")
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    check = config_sub.add_parser(
        "check",
        help="validate bot.toml (+ secrets, + REDDITBOT_* env) and print the effective settings",
    )
    check.add_argument(
        "--offline",
        action="store_true",
        help="do not require Reddit credentials (for a configuration used only with the sandbox)",
    )
    check.add_argument(
        "--json",
        action="store_true",
        help="the default, accepted as on every listing command: stdout is one JSON document",
    )
    check.set_defaults(handler=check_config)
    config.set_defaults(handler=lambda ctx, args: usage(config, ctx))


def check_config(ctx: Context, args: argparse.Namespace) -> int:
    """Print the effective configuration as JSON with secrets masked; exit 0 when it is valid.

    stdout holds the JSON document and nothing else (scripts parse it); warnings and the
    verdict go to stderr."""
    settings = ctx.settings
    if not args.offline:
        settings.require_reddit_credentials()
    ctx.print(json.dumps(masked(settings.model_dump(mode="json")), indent=2))
    for warning in settings.disclosure_warnings():
        print(f"warning: {warning}", file=ctx.err)
    source = ctx.config_path or "defaults and environment only"
    print(f"# configuration OK ({source})", file=ctx.err)
    return 0


def masked(data: Any) -> Any:
    """A copy of settings data with every secret value replaced by a mask."""
    if isinstance(data, dict):
        return {key: _masked_value(key, value) for key, value in data.items()}
    if isinstance(data, list):
        return [masked(item) for item in data]
    return data


def _masked_value(key: str, value: Any) -> Any:
    if _is_secret(key, value):
        return MASK
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return masked(value)


def redact_url(url: str) -> str:
    """``scheme://user:secret@host`` → ``scheme://user:***@host``."""
    scheme, rest = url.split("://", 1)
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def _is_secret(key: str, value: Any) -> bool:
    return key in SECRET_KEYS and bool(value)
