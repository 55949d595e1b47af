"""``redditbot moderate``: run the output gate over JSON lines from stdin, one verdict per line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from redditbot.domain import Draft, ThreadContext
from redditbot.errors import ConfigError
from redditbot.moderation.meaning import MeaningCache
from redditbot.moderation.moderator import Moderator
from redditbot.moderation.output_gate import ReplyState
from redditbot.moderation.settings import ModerationSettings
from redditbot.moderation.verdicts import verdict_to_dict


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``moderate`` and ``train-moderation``."""
    from redditbot.moderation import train_meaning

    train = subparsers.add_parser(
        "train-moderation",
        help="write the meaning data set and train the meaning classifier's head (seeded)",
        description=train_meaning.__doc__.splitlines()[0],
    )
    train_meaning.add_arguments(train)
    train.set_defaults(handler=train_command)
    parser = subparsers.add_parser(
        "moderate",
        help="judge reply texts with the moderation filter (JSON lines in, verdicts out)",
        description='Reads JSON lines {"text": ..., "parent": ..., "subreddit": ...} from stdin '
        "and writes one verdict per line as JSON (decision, reasons, scores).",
    )
    parser.add_argument(
        "--input", "-i", help="read JSON lines from this file instead of stdin", default=None
    )
    parser.add_argument(
        "--checks", action="store_true", help="include every check's result, not only failures"
    )
    parser.set_defaults(handler=moderate_command)


def train_command(ctx: Any, args: argparse.Namespace) -> int:
    """``redditbot train-moderation``: needs no bot.toml, only the bundled embedding model."""
    from redditbot.moderation import train_meaning

    return train_meaning.run(args)


def moderate_command(ctx: Any, args: argparse.Namespace) -> int:
    """Judge each input line; returns 1 when some line could not be read, else 0."""
    if not args.input:
        return _judge_stream(sys.stdin, ctx, args)
    try:
        with open(args.input, encoding="utf-8") as stream:
            return _judge_stream(stream, ctx, args)
    except OSError as exc:
        raise ConfigError(f"moderate: cannot read {args.input}: {exc.strerror}") from exc


def _judge_stream(stream: TextIO, ctx: Any, args: argparse.Namespace) -> int:
    resolve = _settings_resolver(ctx.settings)
    moderators: dict[str, Moderator] = {}
    meaning = MeaningCache()
    errors = _judge_lines(
        stream, ctx, args, lambda sub: _moderator(moderators, sub, resolve, meaning)
    )
    return 1 if errors else 0


def _judge_lines(stream: TextIO, ctx: Any, args: argparse.Namespace, moderator_for) -> int:
    errors = 0
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            item = parse_line(line)
        except ValueError as exc:
            errors += 1
            ctx.print(json.dumps({"line": number, "error": str(exc)}))
            print(f"redditbot moderate: line {number}: {exc}", file=ctx.err)
            continue
        verdict = verdict_to_dict(moderator_for(item["subreddit"]).check_reply(*to_draft(item)))
        if not args.checks:
            verdict.pop("checks")
        ctx.print(json.dumps({"line": number, **verdict}))
    return errors


def parse_line(line: str) -> dict[str, str]:
    """One input line as {"text", "parent", "subreddit"}; ValueError says what is wrong."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise ValueError('expected an object with a string "text"')
    for key in ("parent", "subreddit"):
        if not isinstance(item.get(key, ""), str):
            raise ValueError(f'"{key}" must be a string')
    return {
        "text": item["text"],
        "parent": item.get("parent", ""),
        "subreddit": item.get("subreddit", ""),
    }


def to_draft(item: dict[str, str]) -> tuple[Draft, ReplyState]:
    """The Draft and ReplyState for one input line."""
    context = ThreadContext(subreddit=item["subreddit"], title="", target_body=item["parent"])
    return Draft(text=item["text"], subreddit=item["subreddit"], context=context), ReplyState(
        parent_text=item["parent"]
    )


def _settings_resolver(settings: Any) -> Callable[[str], ModerationSettings]:
    # moderation_for(subreddit) applies per-subreddit overrides; older Settings lack it.
    per_subreddit = getattr(settings, "moderation_for", None)
    if per_subreddit is None:
        return lambda subreddit: settings.moderation
    return lambda subreddit: per_subreddit(subreddit) if subreddit else settings.moderation


def _moderator(
    cache: dict[str, Moderator], subreddit: str, resolve, meaning: MeaningCache
) -> Moderator:
    if subreddit not in cache:
        settings = resolve(subreddit)
        cache[subreddit] = Moderator(settings, meaning=meaning.get(settings.meaning))
    return cache[subreddit]
