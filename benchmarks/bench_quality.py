"""Reply quality on the sandbox corpus: moderation pass rate, degeneracy, relevance, length.

Targets are the corpus's threads and comments (each with its chain of ancestors), taken round-robin
across subreddits so that any ``--targets`` covers all of them. Each target is generated under two
prompt conditions:

- ``plain``: the default persona, no examples;
- ``community``: a per-subreddit persona and few-shot examples from other threads of the same
  subreddit (never the target's own thread).

Each request asks for ``--candidates`` (4) candidates. ``n=1`` is the first candidate as generated
(the candidates are independent samples, so this is exactly what a request for one would get);
``n=4`` is the candidate ``rerank_candidates`` chooses. One run thus compares n=4 with n=1 and
community prompting with plain prompting on the same targets and seeds.

Every target's results are appended to ``--out`` (JSON lines) as soon as they exist, so a run that
is stopped early still reports what it did: ``--report FILE`` prints the report from a file.

    .venv/bin/python benchmarks/bench_quality.py [--targets 200] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever fetched from a model hub
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from redditbot.domain import (  # noqa: E402
    ContextComment,
    Draft,
    GenerationRequest,
    SamplingParams,
    ThreadContext,
    Verdict,
)
from redditbot.generation import build_generator  # noqa: E402
from redditbot.generation.settings import DEFAULT_PERSONA, ModelSettings  # noqa: E402
from redditbot.moderation import ModerationSettings, Moderator, ReplyState  # noqa: E402
from redditbot.quality import QualitySettings, build_embedder, rerank_candidates  # noqa: E402
from redditbot.quality.fewshot import ExampleSource, few_shot_examples  # noqa: E402
from redditbot.reddit.sandbox.corpus import load_corpus  # noqa: E402

PERSONAS = {
    "learnpython": "You are a patient Python tutor on r/learnpython. Answer the question asked, "
    "briefly, with the fix and why it works.",
    "cooking": "You are a home cook on r/Cooking. Give practical kitchen advice in two or three "
    "friendly sentences.",
    "printsf": "You are a science-fiction reader on r/printSF. Recommend books and authors and say "
    "briefly why.",
    "gardening": "You are an experienced gardener on r/gardening. Give concrete, seasonal advice "
    "in a few sentences.",
    "personalfinance": "You are a careful redditor on r/personalfinance. Give sensible, plain "
    "money advice in a few sentences, without promising returns.",
}
CONDITIONS = ("plain", "community")
CHUNK_REQUESTS = 8  # targets per generate() call (x candidates sequences)


@dataclass(frozen=True)
class BenchTarget:
    """One thing to answer: its thread context and the thread it belongs to."""

    index: int
    context: ThreadContext
    link: str


# --------------------------------------------------------------------------- corpus


def corpus_targets(count: int) -> list[BenchTarget]:
    """``count`` targets, round-robin across subreddits, in a fixed order."""
    per_sub: dict[str, list[tuple[ThreadContext, str]]] = {}
    for number, thread in enumerate(load_corpus().threads):
        link = f"thread-{number}"
        items = per_sub.setdefault(thread["subreddit"], [])
        items.append((_thread_context(thread), link))
        items.extend((ctx, link) for ctx in _comment_contexts(thread, thread["comments"], ()))
    queues = [iter(items) for items in per_sub.values()]
    picked: list[tuple[ThreadContext, str]] = []
    while len(picked) < count and queues:
        for queue in list(queues):
            item = next(queue, None)
            if item is None:
                queues.remove(queue)
            elif len(picked) < count:
                picked.append(item)
    return [BenchTarget(i, ctx, link) for i, (ctx, link) in enumerate(picked)]


def _thread_context(thread: dict[str, Any]) -> ThreadContext:
    return ThreadContext(
        subreddit=thread["subreddit"], title=thread["title"], selftext=thread["selftext"],
        submission_author=thread["author"],
    )  # fmt: skip


def _comment_contexts(
    thread: dict[str, Any], comments: list[dict[str, Any]], chain: tuple[ContextComment, ...]
) -> Iterator[ThreadContext]:
    base = _thread_context(thread)
    for comment in comments:
        yield ThreadContext(
            subreddit=base.subreddit, title=base.title, selftext=base.selftext,
            submission_author=base.submission_author, ancestors=chain,
            target_author=comment["author"], target_body=comment["body"],
        )  # fmt: skip
        below = (*chain, ContextComment(comment["author"], comment["body"]))
        yield from _comment_contexts(thread, comment.get("replies", []), below)


def corpus_examples() -> dict[str, list[ExampleSource]]:
    """Every human reply of the corpus as a few-shot source, by lower-cased subreddit."""
    sources: dict[str, list[ExampleSource]] = {}
    for number, thread in enumerate(load_corpus().threads):
        base, link = _thread_context(thread), f"thread-{number}"
        found = sources.setdefault(thread["subreddit"].lower(), [])
        found.extend(_sources(base, None, thread["comments"], link))
    return sources


def _sources(
    base: ThreadContext, parent: dict[str, Any] | None, comments: list, link: str
) -> Iterator[ExampleSource]:
    for comment in comments:
        context = ThreadContext(
            subreddit=base.subreddit, title=base.title, selftext=base.selftext,
            submission_author=base.submission_author,
            target_author=parent["author"] if parent else None,
            target_body=parent["body"] if parent else None,
        )  # fmt: skip
        yield ExampleSource(context, comment["body"], comment.get("score", 0), link)
        yield from _sources(base, comment, comment.get("replies", []), link)


def subreddit_target_chars(examples: dict[str, list[ExampleSource]]) -> dict[str, int]:
    """Each subreddit's median human reply length: the length reranking aims for."""
    return {
        sub: round(statistics.median(len(s.reply) for s in items))
        for sub, items in examples.items()
    }


# --------------------------------------------------------------------------- running


class Bench:
    """Generator, moderator and embedder, and the per-condition requests."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.model = ModelSettings(
            device="cpu", threads=args.threads, batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
        )  # fmt: skip
        self.generator = build_generator(self.model)
        self.moderator = Moderator(ModerationSettings())
        self.examples = corpus_examples()
        self.quality = QualitySettings(subreddit_target_chars=subreddit_target_chars(self.examples))
        self.embedder = build_embedder(self.quality)

    def request(self, target: BenchTarget, condition: str) -> GenerationRequest:
        params = SamplingParams(
            max_new_tokens=self.args.max_new_tokens, n=self.args.candidates,
            seed=1000 * target.index,
        )  # fmt: skip
        return GenerationRequest(
            key=f"{condition}-{target.index}", context=target.context,
            persona=self.persona(target, condition), params=params,
            few_shot=self.few_shot(target) if condition == "community" else (),
        )  # fmt: skip

    def persona(self, target: BenchTarget, condition: str) -> str:
        if condition == "plain":
            return DEFAULT_PERSONA
        return PERSONAS.get(target.context.subreddit.lower(), DEFAULT_PERSONA)

    def few_shot(self, target: BenchTarget) -> tuple[tuple[ThreadContext, str], ...]:
        sources = self.examples.get(target.context.subreddit.lower(), [])
        return few_shot_examples(
            sources, count=self.quality.few_shot, max_chars=self.quality.few_shot_max_chars,
            exclude_link=target.link,
        )  # fmt: skip

    def judge(self, target: BenchTarget, persona: str, texts: list[str]) -> list[Verdict]:
        state = ReplyState(persona=persona, system_prompt=persona)
        sub = target.context.subreddit
        return [
            self.moderator.check_reply(Draft(t, sub, target.context, persona), state) for t in texts
        ]


@dataclass(frozen=True)
class Judged:
    """The shape ``rerank_candidates`` reads (as ``pipeline.drafting.Judged``)."""

    text: str
    verdict: Verdict
    mean_logprob: float | None


def run(args: argparse.Namespace) -> None:
    bench = Bench(args)
    targets = corpus_targets(args.targets)
    started = time.perf_counter()
    with open(args.out, "w", encoding="utf-8") as out:
        for first in range(0, len(targets), CHUNK_REQUESTS):
            chunk = targets[first : first + CHUNK_REQUESTS]
            for record in _run_chunk(bench, chunk):
                out.write(json.dumps(record) + "\n")
            out.flush()
            done = first + len(chunk)
            print(f"{done}/{len(targets)} targets, {time.perf_counter() - started:.0f} s",
                  flush=True)  # fmt: skip


def _run_chunk(bench: Bench, chunk: list[BenchTarget]) -> Iterator[dict[str, Any]]:
    by_condition = {
        condition: bench.generator.generate([bench.request(t, condition) for t in chunk])
        for condition in CONDITIONS
    }
    for position, target in enumerate(chunk):
        record: dict[str, Any] = {"index": target.index, "subreddit": target.context.subreddit}
        for condition in CONDITIONS:
            generation = by_condition[condition][position]
            record[condition] = _score(bench, target, condition, generation.candidates)
        yield record


def _score(bench: Bench, target: BenchTarget, condition: str, candidates) -> dict[str, Any]:
    persona = bench.persona(target, condition)
    texts = [c.text for c in candidates]
    verdicts = bench.judge(target, persona, texts)
    judged = [Judged(c.text, v, c.mean_logprob) for c, v in zip(candidates, verdicts)]
    reranked = rerank_candidates(
        target.context, judged, settings=bench.quality, embedder=bench.embedder
    )
    return {
        "best": reranked.best_index,
        "candidates": [
            {**score.as_dict(), "text": text, "degenerate": _degenerate(verdict),
             "reasons": list(verdict.reasons), "finish": candidate.finish_reason}
            for text, verdict, score, candidate in zip(texts, verdicts, reranked.scores, candidates)
        ],
        "target": (target.context.target_body or target.context.title)[:200],
    }  # fmt: skip


def _degenerate(verdict: Verdict) -> bool:
    broken = {"degenerate", "length"}
    return any(check.name in broken and not check.passed for check in verdict.checks)


# --------------------------------------------------------------------------- report


def report(path: Path) -> None:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if not records:
        print(f"{path}: no target finished yet")
        return
    subs = Counter(r["subreddit"] for r in records)
    print(f"\n{len(records)} targets: " + ", ".join(f"{s} {n}" for s, n in subs.items()))
    print(f"{'condition':<10} {'pick':<5} {'pass 1st':>8} {'degen':>6} {'rel mean':>8} "
          f"{'rel p10/p50/p90':>17} {'thread':>6} {'fluency':>7} {'chars p10/p50/p90':>18} "
          f"{'len fit':>7} {'trunc':>6}")  # fmt: skip
    for condition in CONDITIONS:
        for pick in ("n=1", "n=4"):
            chosen = [_chosen(r[condition], pick) for r in records]
            print(_row(condition, pick, chosen))
    drafts = [c for r in records for cond in CONDITIONS for c in r[cond]["candidates"]]
    print(
        f"\nall {len(drafts)} drafts: degenerate {_share(drafts, _is_degenerate):.1%}, "
        f"pass {_share(drafts, _passes):.1%}; rejections by reason: {_reasons(drafts)}"
    )
    _samples(records)


def _chosen(result: dict[str, Any], pick: str) -> dict[str, Any]:
    return result["candidates"][0 if pick == "n=1" else result["best"]]


def _row(condition: str, pick: str, chosen: list[dict[str, Any]]) -> str:
    relevance = [c["relevance_target"] for c in chosen]
    chars = [c["chars"] for c in chosen]
    return (
        f"{condition:<10} {pick:<5} {_share(chosen, _passes):8.1%} "
        f"{_share(chosen, _is_degenerate):6.1%} {statistics.mean(relevance):8.3f} "
        f"{_quantiles(relevance, '.2f'):>17} "
        f"{statistics.mean(c['relevance_thread'] for c in chosen):6.3f} "
        f"{statistics.mean(c['fluency'] for c in chosen):7.3f} {_quantiles(chars, 'd'):>18} "
        f"{statistics.mean(c['length_fit'] for c in chosen):7.3f} "
        f"{_share(chosen, lambda c: c['finish'] == 'length'):6.1%}"
    )


def _passes(candidate: dict[str, Any]) -> bool:
    return candidate["decision"] == "approve"


def _is_degenerate(candidate: dict[str, Any]) -> bool:
    return candidate["degenerate"]


def _share(items: list[dict[str, Any]], test) -> float:
    return sum(1 for item in items if test(item)) / len(items) if items else 0.0


def _quantiles(values: list[float], fmt: str) -> str:
    ordered = sorted(values)
    picks = [ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.1, 0.5, 0.9)]
    return "/".join(format(round(v) if fmt == "d" else v, fmt) for v in picks)


def _reasons(drafts: list[dict[str, Any]]) -> str:
    counts = Counter(r.split(":")[0] for d in drafts for r in d["reasons"])
    return ", ".join(f"{reason} {n}" for reason, n in counts.most_common(6)) or "none"


def _samples(records: list[dict[str, Any]], count: int = 3) -> None:
    chosen = [(r, _chosen(r["community"], "n=4")) for r in records]
    ranked = sorted(chosen, key=lambda pair: pair[1]["score"])
    for title, pairs in (("best", ranked[::-1][:count]), ("worst", ranked[:count])):
        print(f"\n--- {title} (community, n=4) ---")
        for record, candidate in pairs:
            print(f"[r/{record['subreddit']} score {candidate['score']:.3f} "
                  f"rel {candidate['relevance_target']:.2f} {candidate['decision']}]")  # fmt: skip
            print(f"  to:    {record['community']['target'][:160]!r}")
            print(f"  reply: {candidate['text'][:300]!r}")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=200, help="targets (threads + comments)")
    parser.add_argument("--quick", action="store_true", help="20 targets, 48 new tokens")
    parser.add_argument("--candidates", type=int, default=4, help="candidates per request")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="longest reply, tokens")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences decoded together")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path("bench_quality.jsonl"),
                        help="JSON lines written as targets finish")  # fmt: skip
    parser.add_argument("--report", type=Path, help="only print the report of an earlier --out")
    parser.add_argument(
        "--real",
        action="store_true",
        help="real Reddit parents and replies from the PRAW cassettes",
    )
    parser.add_argument("--cassettes", type=Path, help="cassette folder (default: shared/)")
    parser.add_argument("--limit", type=int, default=64, help="--real: parents answered")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["before"],
        help="--real: prompt variants (see REAL_VARIANTS)",
    )
    parser.add_argument(
        "--report-file",
        type=Path,
        help="--real: also write the report here (outside the repository)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.targets, args.max_new_tokens = min(args.targets, 20), 48
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.real:
        if args.report is None:
            real_run(args)
        text = real_report(args.report or args.out)
        print(text)
        if args.report_file:
            args.report_file.write_text(text + "\n", encoding="utf-8")
        return
    if args.report is None:
        run(args)
    report(args.report or args.out)


# --------------------------------------------------------------------------- real Reddit text
#
# ``--real``: parents recorded from real Reddit (benchmarks/reddit_cassettes.py) answered with
# ``redditbot draft``'s own path, under each prompt variant, against the real human replies.

REAL_CHUNK = 8


def real_variant_settings(variant: str, candidates: int) -> Any:
    """The bot's settings under one prompt variant (``before``: main's defaults until #15)."""
    from redditbot.config import load_settings

    settings = load_settings(None)
    model = {**REAL_VARIANTS[variant].get("model", {}), "candidates": candidates}
    quality = {**settings.quality.model_dump(), **REAL_VARIANTS[variant].get("quality", {})}
    return settings.model_copy(update={
        "model": settings.model.model_copy(update=model),
        "quality": QualitySettings.model_validate(quality),
    })  # fmt: skip


OLD_PERSONA = "You are a helpful redditor who gives short, friendly, practical answers."
REAL_VARIANTS: dict[str, dict[str, Any]] = {
    # main before #15: chat template, helpful-assistant persona, 96 tokens, no voice checks
    "before": {
        "model": {
            "persona": OLD_PERSONA,
            "prompt_format": "chat",
            "max_new_tokens": 96,
            "natural_end": 1.0,
        },
        "quality": {
            "few_shot": 0,
            "target_chars": 280,
            "length_budget": False,
            "assistant_speak_filter": False,
            "weights": {"assistant_speak": 0.0},
        },
    },  # fmt: skip
    # (a) the chat template with a Reddit persona, budget and assistant-speak checks
    "chat-persona": {"model": {"prompt_format": "chat"}, "quality": {"few_shot": 0}},
    # (b) the thread as a transcript, continued as the bot's line (the default)
    "transcript": {"model": {"prompt_format": "transcript"}, "quality": {"few_shot": 0}},
    # as (b), without the natural end: only the line's end or the limit ends a reply
    "transcript-limit": {
        "model": {"prompt_format": "transcript", "natural_end": 1.0},
        "quality": {"few_shot": 0},
    },  # fmt: skip
    # (c) as (b), with two real replies of the same subreddit first
    "transcript-fewshot": {"model": {"prompt_format": "transcript"}, "quality": {"few_shot": 2}},
    "chat-fewshot": {"model": {"prompt_format": "chat"}, "quality": {"few_shot": 2}},
    # as (c), the examples from the same thread's other parents (see thread_examples)
    "transcript-fewshot-thread": {
        "model": {"prompt_format": "transcript"},
        "quality": {"few_shot": 2},
        "examples": "thread",
    },
}


def real_run(args: argparse.Namespace) -> None:
    """Draft every sampled parent under each variant; one JSON line per parent and variant."""
    from reddit_cassettes import reply_pairs, spread

    from redditbot.cli.draft import build_drafter, draft_chunk, parse_input

    every = reply_pairs(args.cassettes)
    pairs = spread(every, args.limit)
    inputs = [parse_input(i + 1, json.dumps(p.draft_input)) for i, p in enumerate(pairs)]
    examples = [  # every recorded reply may be an example; draft skips the target's own thread
        ExampleSource(parse_input(0, json.dumps(p.draft_input)).context, p.reply, p.score, p.thread)
        for p in every
    ]
    with open(args.out, "w", encoding="utf-8") as out:
        for variant in args.variants:
            drafter = build_drafter(real_variant_settings(variant, args.candidates))
            drafter.warm_up()
            same_thread = REAL_VARIANTS[variant].get("examples") == "thread"
            started = time.perf_counter()
            for first in range(0, len(inputs), REAL_CHUNK):
                chunk, shots = inputs[first : first + REAL_CHUNK], examples
                if same_thread:
                    chunk_pairs = pairs[first : first + REAL_CHUNK]
                    chunk = [_keyed_by_parent(item, p) for item, p in zip(chunk, chunk_pairs)]
                    shots = thread_examples(every, chunk_pairs)
                for item, record in zip(chunk, draft_chunk(drafter, chunk, shots)):
                    pair = pairs[item.line - 1]
                    out.write(json.dumps({"variant": variant, "n": args.candidates,
                                          "human": pair.reply, "input": pair.draft_input,
                                          **record}) + "\n")  # fmt: skip
                out.flush()
                print(f"{variant}: {first + len(chunk)}/{len(inputs)}, "
                      f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip


def _keyed_by_parent(item, pair):
    """A draft input whose 'thread' is its parent: examples of that parent are skipped."""
    from redditbot.cli.draft import parse_input

    return parse_input(item.line, json.dumps({**pair.draft_input, "thread": pair.parent_id}))


def thread_examples(every, targets) -> list[ExampleSource]:
    """Examples from the answered threads themselves (the cassettes hold one thread per
    subreddit), one per parent, leaving out every pair that would show a target's human reply:
    as the reply, as the comment answered or among the ancestors."""
    from redditbot.cli.draft import parse_input

    answers = {t.reply.strip() for t in targets}

    def shows_an_answer(pair) -> bool:
        seen = [pair.reply, pair.draft_input.get("text") or ""]
        seen += [a["text"] for a in pair.draft_input.get("ancestors", [])]
        return any(text.strip() in answers for text in seen)

    return [
        ExampleSource(parse_input(0, json.dumps(p.draft_input)).context, p.reply, p.score,
                      p.parent_id)
        for p in every if not shows_an_answer(p)
    ]  # fmt: skip


def real_report(path: Path, samples: int = 6) -> str:
    """The table (per variant, n=1 against the reranked n) and sampled parents with replies.

    The n=1 row of a run with more candidates is its first candidate (candidate k has seed
    + k, so it is what a request for one gets); its seconds come from an n=1 run of the same
    variant in the same file when there is one ("n/a" otherwise: n candidates cost more).
    """

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    embedder = build_embedder(QualitySettings())
    lines = [
        f"{'variant':<22} {'pick':<4} {'parents':>7} {'AUC':>5} {'asst':>6} {'median':>6} "
        f"{'human':>5} {'ratio':>5} {'cut':>6} {'mid':>6} {'rel bot':>7} {'rel hum':>7} "
        f"{'pass':>6} {'s/reply':>7}"
    ]
    alone = {}  # variant -> seconds per reply of its n=1 run
    for record in records:
        if record["n"] == 1:
            alone.setdefault(record["variant"], []).append(record["seconds"])
    for variant, n in dict.fromkeys((r["variant"], r["n"]) for r in records):
        rows = [r for r in records if (r["variant"], r["n"]) == (variant, n)]
        picks = ("n=1",) if n == 1 else ("n=1", f"n={n}")
        for pick in picks:
            chosen = [r["candidates"][0 if pick == "n=1" else r["chosen"]] for r in rows]
            seconds = [r["seconds"] for r in rows]
            if pick == "n=1" and n > 1:
                seconds = alone.get(variant)
            lines.append(_real_row(variant, pick, rows, chosen, embedder, seconds))
    lines.append("")
    for record in records[:: max(1, len(records) // samples)][:samples]:
        parent = record["input"].get("text") or record["input"]["title"]
        lines += [f"[r/{record['input']['subreddit']} · {record['variant']} n={record['n']}]",
                  f"  parent: {parent[:200]!r}", f"  human:  {record['human'][:200]!r}",
                  f"  bot:    {record['reply'][:200]!r}"]  # fmt: skip
    return "\n".join(lines)


_ENDS_SENTENCE = re.compile(r"""[.!?…]["')\]*_»”’]*$""")


def _real_row(variant, pick, rows, chosen, embedder, seconds) -> str:
    from redditbot.quality.voice import assistant_phrases

    bot = [c["text"] for c in chosen]
    human = [r["human"] for r in rows]
    parents = [r["input"].get("text") or r["input"]["title"] for r in rows]
    vectors = embedder.embed([*bot, *human, *parents])
    bot_v, human_v, parent_v = (vectors[i * len(rows) : (i + 1) * len(rows)] for i in range(3))
    auc = bot_vs_human_auc(bot, human, bot_v, human_v)
    med_bot = statistics.median(len(t) for t in bot)
    med_human = statistics.median(len(t) for t in human)
    rel_bot = statistics.mean(_dot(b, p) for b, p in zip(bot_v, parent_v))
    rel_human = statistics.mean(_dot(h, p) for h, p in zip(human_v, parent_v))
    passed = _share(chosen, lambda c: c["moderation"]["decision"] == "approve")
    cut = _share(chosen, lambda c: c["finish_reason"] == "length")
    mid = _share(
        chosen, lambda c: c["finish_reason"] == "length" and not _ENDS_SENTENCE.search(c["text"])
    )
    timing = f"{statistics.mean(seconds):7.2f}" if seconds else f"{'n/a':>7}"
    return (
        f"{variant:<22} {pick:<4} {len(rows):7d} {auc:5.2f} "
        f"{_share(bot, lambda t: bool(assistant_phrases(t))):6.1%} {med_bot:6.0f} "
        f"{med_human:5.0f} {med_bot / med_human:5.2f} {cut:6.1%} {mid:6.1%} {rel_bot:7.3f} "
        f"{rel_human:7.3f} {passed:6.1%} {timing}"
    )


def _dot(a, b) -> float:
    return sum(x * y for x, y in zip(a, b))  # the vectors are normalised: this is the cosine


def style_features(text: str) -> list[float]:
    """Surface style of a reply: length, casing, punctuation, line breaks, links."""
    import math
    import re

    size = max(1, len(text))
    words = text.split()
    return [
        math.log1p(len(text)), len(words) / 50, sum(len(w) for w in words) / max(1, len(words)),
        sum(c.isupper() for c in text) / size, sum(not c.isalnum() and not c.isspace()
                                                  for c in text) / size,
        float(text.rstrip()[-1:] in ".!?"), float(text[:1].isupper()), text.count("\n"),
        text.count("!"), text.count("?"), float("http" in text), float(text == text.lower()),
        float("'" in text or "’" in text), len(re.findall(r"[.!?](?:\s|$)", text)),
    ]  # fmt: skip


def bot_vs_human_auc(bot, human, bot_vectors, human_vectors, folds: int = 5) -> float:
    """Cross-validated AUC of a logistic regression telling bot from human replies.

    Sentence embeddings plus ``style_features``; a parent's two replies always fall in the same
    fold, so the classifier never sees the parent it is tested on. 0.5: indistinguishable.
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = np.array([
        [*vector, *style_features(text)]
        for text, vector in zip([*bot, *human], [*bot_vectors, *human_vectors])
    ])  # fmt: skip
    labels = np.array([1] * len(bot) + [0] * len(human))
    groups = np.array([*range(len(bot)), *range(len(human))])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))
    scores = cross_val_predict(
        model, features, labels, groups=groups, cv=GroupKFold(min(folds, len(bot))),
        method="predict_proba",
    )[:, 1]  # fmt: skip
    return float(roc_auc_score(labels, scores))


if __name__ == "__main__":
    main()
