"""``redditbot draft``: threads in as JSON lines, the reply the daemon would choose out.

Each input line is one thing to answer::

    {"subreddit": "Cooking", "title": "...", "selftext": "...", "author": "op",
     "ancestors": [{"author": "a", "text": "..."}], "text": "the comment answered"}

(``text`` null or absent: the reply answers the post itself; ``author`` is who wrote ``text``,
or the post's author when answering the post; ``selftext`` and ``ancestors`` are optional.)
One JSON line comes out per input line, in order: the chosen ``reply``, every candidate with its
scores and moderation verdict, the model, prompt tokens and seconds; or, for a bad line,
``{"line": N, "error": "..."}`` naming the line and field (the other lines are still answered).
``--examples FILE`` gives few-shot examples: lines of the same shape with the human ``reply``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redditbot.domain import ContextComment, ThreadContext
from redditbot.errors import ConfigError
from redditbot.moderation.verdicts import verdict_to_dict
from redditbot.pipeline.drafting import Drafted, Drafter, reply_request
from redditbot.quality.fewshot import ExampleSource, few_shot_examples
from redditbot.quality.voice import length_budget

CHUNK = 8  # lines generated together: the model batches them, the output still streams
SEED = 1000  # a line's seed is SEED * its line number unless [model] sets one


class InputError(ValueError):
    """A draft input line that cannot be used, with the line number and field at fault."""

    def __init__(self, line: int, field: str | None, problem: str) -> None:
        where = f"line {line}" + (f", field '{field}'" if field else "")
        super().__init__(f"{where}: {problem}")
        self.line, self.field = line, field


@dataclass(frozen=True)
class DraftInput:
    """One parsed input line."""

    line: int
    context: ThreadContext
    thread: str  # what identifies the thread (few-shot never uses the same thread)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``redditbot draft``."""
    draft = subparsers.add_parser(
        "draft",
        help="draft replies to threads given as JSON lines (no store, no Reddit)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    draft.add_argument("input", nargs="?", default="-", help="JSON lines file (default: stdin)")
    draft.add_argument("--examples", type=Path, help="JSON lines of threads with their 'reply'")
    draft.add_argument("--candidates", type=int, help="candidates per reply ([model] candidates)")
    draft.set_defaults(handler=draft_command)


def draft_command(ctx: Any, args: argparse.Namespace) -> int:
    """Answer every input line; exit 1 when some line was bad (its error is in the output)."""
    settings = ctx.settings
    if args.candidates is not None:
        settings = settings.model_copy(
            update={"model": settings.model.model_copy(update={"candidates": args.candidates})}
        )
    examples = load_examples(args.examples) if args.examples else []
    drafter = build_drafter(settings)
    drafter.warm_up()
    bad = 0
    with _open_input(args.input) as lines:
        for chunk in _chunks(parse_lines(lines), CHUNK):
            for record in draft_chunk(drafter, chunk, examples):
                bad += "error" in record
                if "error" in record:
                    print(f"redditbot draft: {record['error']}", file=ctx.err)
                ctx.out.write(json.dumps(record, ensure_ascii=False) + "\n")
            ctx.out.flush()
    return 1 if bad else 0


def build_drafter(settings) -> Drafter:
    """The daemon's generator, moderation and embedder (as ``Bot`` builds them), no store."""
    from redditbot.generation import build_generator
    from redditbot.moderation import Moderator
    from redditbot.quality import build_embedder

    moderators: dict[str, Moderator] = {}

    def moderator_for(subreddit: str) -> Moderator:
        key = subreddit.lower()
        if key not in moderators:
            moderators[key] = Moderator(settings.moderation_for(subreddit))
        return moderators[key]

    embedder = build_embedder(settings.quality) if settings.quality.enabled else None
    return Drafter(
        settings, build_generator(settings.model), moderator_for=moderator_for, embedder=embedder
    )


def draft_chunk(
    drafter: Drafter, chunk: list[DraftInput | InputError], examples: list[ExampleSource]
) -> list[dict[str, Any]]:
    """The output records of a chunk of parsed lines, in order (errors stay where they were)."""
    good = [item for item in chunk if isinstance(item, DraftInput)]
    requests = [_request(drafter, item, examples) for item in good]
    drafted = {item.line: d for item, d in zip(good, drafter.draft(requests) if good else [])}
    return [
        {"line": item.line, "error": str(item)}
        if isinstance(item, InputError)
        else draft_record(item.line, drafted[item.line])
        for item in chunk
    ]


def _request(drafter: Drafter, item: DraftInput, examples: list[ExampleSource]):
    quality = drafter.settings.quality
    sub = item.context.subreddit.lower()
    same_sub = [e for e in examples if e.context.subreddit.lower() == sub]
    few_shot, budget = (), None
    if quality.enabled:
        few_shot = few_shot_examples(
            same_sub,
            count=quality.few_shot,
            max_chars=quality.few_shot_max_chars,
            exclude_link=item.thread,
        )
        if quality.length_budget:  # as the generate stage does with the stored replies
            budget = length_budget([len(e.reply) for e in same_sub])
    return reply_request(
        drafter.settings,
        str(item.line),
        item.context,
        few_shot=few_shot,
        seed=SEED * item.line,
        max_new_tokens=budget,
    )


def draft_record(line: int, drafted: Drafted) -> dict[str, Any]:
    """The JSON output of one drafted line."""
    generation, choice = drafted.generation, drafted.choice
    candidates = [
        {
            "text": judged.text,
            "finish_reason": candidate.finish_reason,
            "tokens_out": candidate.tokens_out,
            "mean_logprob": candidate.mean_logprob,
            "scores": score.as_dict(),
            "moderation": verdict_to_dict(judged.verdict),
        }
        for candidate, judged, score in zip(
            generation.candidates, choice.judged, choice.reranked.scores, strict=True
        )
    ]
    best = choice.best
    return {
        "line": line,
        "reply": best.text,
        "decision": best.verdict.decision.value,
        "rejected": choice.rejection,  # not None: the daemon would generate again, not post
        "chosen": choice.reranked.best_index,
        "candidates": candidates,
        "model": generation.model_id,
        "backend": generation.backend,
        "prompt_tokens": generation.tokens_in,
        "seconds": round(drafted.seconds, 3),
    }


# --------------------------------------------------------------------------- input


def parse_lines(lines: Iterable[str]) -> Iterator[DraftInput | InputError]:
    """Each non-blank line parsed, or the error that says what is wrong with it and where."""
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            try:
                yield parse_input(number, raw)
            except InputError as exc:
                yield exc


def parse_input(line: int, raw: str) -> DraftInput:
    """One input line as a thread context (``InputError`` names the line and the field)."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(line, None, f"not JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise InputError(line, None, "not a JSON object")
    field = _Fields(line, data)
    text = field.text("text", required=False)
    author = field.text("author")
    context = ThreadContext(
        subreddit=field.text("subreddit", empty=False).removeprefix("r/"),
        title=field.text("title"),
        selftext=field.text("selftext", required=False) or "",
        submission_author=field.text("submission_author", required=False) or author,
        ancestors=field.ancestors(),
        target_author=author if text else None,
        target_body=text or None,
    )
    return DraftInput(line, context, field.text("thread", required=False) or context.title)


class _Fields:
    """Typed access to one line's fields, raising ``InputError`` with the field's name."""

    def __init__(self, line: int, data: dict[str, Any]) -> None:
        self.line, self.data = line, data

    def text(self, name: str, *, required: bool = True, empty: bool = True) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise InputError(self.line, name, "missing")
            return None
        if not isinstance(value, str):
            raise InputError(self.line, name, f"must be a string, not {type(value).__name__}")
        if not empty and not value.strip():
            raise InputError(self.line, name, "empty")
        return value

    def ancestors(self) -> tuple[ContextComment, ...]:
        value = self.data.get("ancestors") or []
        if not isinstance(value, list):
            raise InputError(self.line, "ancestors", "must be a list of {author, text} objects")
        chain = []
        for index, item in enumerate(value):
            where = f"ancestors[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise InputError(self.line, where, "must be an object with a string 'text'")
            author = item.get("author")
            if author is not None and not isinstance(author, str):
                raise InputError(self.line, f"{where}.author", "must be a string")
            chain.append(ContextComment(author, item["text"]))
        return tuple(chain)


def load_examples(path: Path) -> list[ExampleSource]:
    """Few-shot sources from a JSON lines file (input lines plus the human ``reply``)."""
    sources = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read --examples {path}: {exc}") from exc
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = parse_input(number, raw)
            reply = _Fields(number, json.loads(raw)).text("reply", empty=False)
            score = json.loads(raw).get("score", 0)
        except InputError as exc:
            raise ConfigError(f"--examples {path}: {exc}") from exc
        sources.append(ExampleSource(item.context, reply, int(score or 0), item.thread))
    return sources


def _open_input(name: str):
    if name == "-":
        return _Stdin()
    try:
        return open(name, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {name}: {exc}") from exc


class _Stdin:
    def __enter__(self):
        return sys.stdin

    def __exit__(self, *exc) -> None:
        return None


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
