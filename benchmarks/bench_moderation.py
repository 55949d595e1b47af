"""Evaluate the moderation filter on the labelled set: precision and recall per category.

    .venv/bin/python benchmarks/bench_moderation.py [--data FILE] [--classifier NAME] [--json]
    .venv/bin/python benchmarks/bench_moderation.py --set meaning-eval [--no-meaning]

``--set meaning-eval`` judges the held-out split of the meaning data set
(redditbot/moderation/data/meaning_items.jsonl: templates the head never saw in training) and
adds, per reject category, how often the verdict *named* that category (named P / named R).
``--no-meaning`` turns the meaning classifier off: the figures of the filter before it. Every
run reports the p50 / p95 time to judge one reply (the whole output gate, no judge model).

Each line of the data set is {"id", "category", "expect": "approve"|"flag", "text", "parent",
"subreddit"}. A text is *flagged* when the verdict is REVIEW or REJECT. For every category the
report gives recall (share flagged, for categories that should be flagged) or the false-positive
rate (for clean ones), and for the checks that belong to a category the precision: of the texts
those checks fired on, the share that should have been flagged.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from redditbot.cli.moderation import parse_line, to_draft
from redditbot.moderation.moderator import Moderator
from redditbot.moderation.settings import MEANING_CATEGORIES, ModerationSettings
from redditbot.moderation.train_meaning import DEFAULT_DATA as MEANING_DATA
from redditbot.moderation.train_meaning import read_items
from redditbot.moderation.verdicts import failing_categories

DEFAULT_DATA = Path(__file__).parent / "data" / "moderation_eval.jsonl"

# Which checks are "the" checks for a category (rules count as spam controls).
FAMILIES = {
    "toxic": ("toxicity", "wordlist"),
    "personal_data": ("personal_data",),
    "spam": ("links", "pings", "rule:"),
    "injection": ("leak", "character", "injection_echo"),
    "degenerate": ("degenerate", "length"),
    "echo": ("echo", "repeat"),
}


@dataclass
class Outcome:
    """One judged example."""

    row: dict
    flagged: bool
    failing: tuple[str, ...]
    reasons: tuple[str, ...]
    categories: tuple[str, ...] = ()  # the failing checks' categories
    seconds: float = 0.0  # time to judge this reply

    @property
    def should_flag(self) -> bool:
        return self.row["expect"] == "flag"


@dataclass
class Report:
    """Everything the benchmark prints."""

    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def by_category(self) -> dict[str, list[Outcome]]:
        groups: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in self.outcomes:
            groups[outcome.row["category"]].append(outcome)
        return dict(groups)

    def overall(self) -> dict[str, float]:
        return precision_recall(self.outcomes, lambda o: o.flagged)

    def family(self, category: str) -> dict[str, float]:
        prefixes = FAMILIES[category]
        fired = [o for o in self.outcomes if any(n.startswith(prefixes) for n in o.failing)]
        own = self.by_category().get(category, [])
        caught = [o for o in own if any(n.startswith(prefixes) for n in o.failing)]
        return {
            "precision": _ratio(sum(o.should_flag for o in fired), len(fired)),
            "recall": _ratio(len(caught), len(own)),
            "fired": len(fired),
        }

    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.flagged != o.should_flag]

    def named(self, category: str) -> dict[str, float]:
        """Of the verdicts naming ``category``, the share whose row is of that category
        (precision); of that category's rows, the share whose verdict names it (recall)."""
        naming = [o for o in self.outcomes if category in o.categories]
        own = self.by_category().get(category, [])
        return {
            "precision": _ratio(sum(o.row["category"] == category for o in naming), len(naming)),
            "recall": _ratio(sum(category in o.categories for o in own), len(own)),
        }

    def latency_ms(self) -> dict[str, float]:
        """p50 and p95 of the time to judge one reply, in milliseconds."""
        times = sorted(o.seconds * 1000 for o in self.outcomes)
        if not times:
            return {"p50": 0.0, "p95": 0.0}
        return {
            "p50": times[len(times) // 2],
            "p95": times[min(len(times) - 1, int(len(times) * 0.95))],
        }


def precision_recall(outcomes: list[Outcome], predicted) -> dict[str, float]:
    """Binary precision / recall of ``predicted`` against ``expect == "flag"``."""
    true_pos = sum(predicted(o) and o.should_flag for o in outcomes)
    flagged = sum(bool(predicted(o)) for o in outcomes)
    positives = sum(o.should_flag for o in outcomes)
    return {"precision": _ratio(true_pos, flagged), "recall": _ratio(true_pos, positives)}


def evaluate(rows: list[dict], moderator: Moderator) -> Report:
    """Judge every row with the output gate."""
    report = Report()
    started = time.perf_counter()
    for row in rows:
        draft, state = to_draft(parse_line(json.dumps(row)))
        begun = time.perf_counter()
        verdict = moderator.check_reply(draft, state)
        took = time.perf_counter() - begun
        failing = tuple(c.name for c in verdict.checks if not c.passed)
        categories = tuple(failing_categories(verdict))
        report.outcomes.append(
            Outcome(row, not verdict.approved, failing, verdict.reasons, categories, took)
        )
    report.seconds = time.perf_counter() - started
    return report


def meaning_rows(split: str = "eval") -> list[dict]:
    """One split of the meaning data set as benchmark rows (reject → flag)."""
    return [
        {"id": item["id"], "category": item["category"], "text": item["text"], "parent": "",
         "subreddit": "", "expect": "flag" if item["label"] == "reject" else "approve"}
        for item in read_items(MEANING_DATA) if item["split"] == split
    ]  # fmt: skip


def render(report: Report) -> list[str]:
    """The human-readable report."""
    overall, latency = report.overall(), report.latency_ms()
    lines = [
        f"{len(report.outcomes)} texts in {report.seconds:.2f}s; overall flagging precision "
        f"{overall['precision']:.3f} recall {overall['recall']:.3f}; one reply p50 "
        f"{latency['p50']:.1f} ms p95 {latency['p95']:.1f} ms",
        f"{'category':<16}{'n':>4}{'flagged':>9}{'recall/FPR':>12}{'family P':>10}{'family R':>10}",
    ]
    for category, outcomes in sorted(report.by_category().items()):
        lines.append(_category_line(report, category, outcomes))
    lines.append("misses (expected → got: reasons):")
    for miss in report.misses():
        got = "flag" if miss.flagged else "approve"
        detail = "; ".join(miss.reasons) or "-"
        lines.append(f"  {miss.row['id']:<20} {miss.row['expect']}→{got}: {detail}")
        lines.append(f"      {miss.row['text'][:100]!r}")
    return lines


def _category_line(report: Report, category: str, outcomes: list[Outcome]) -> str:
    flagged = sum(o.flagged for o in outcomes)
    expected_flags = sum(o.should_flag for o in outcomes)
    if expected_flags == len(outcomes):
        rate = f"R={flagged / len(outcomes):.3f}"
    elif expected_flags == 0:
        rate = f"FPR={flagged / len(outcomes):.3f}"
    else:
        rate = f"acc={sum(o.flagged == o.should_flag for o in outcomes) / len(outcomes):.3f}"
    family = report.family(category) if category in FAMILIES else None
    if category in MEANING_CATEGORIES:
        family = report.named(category)  # named P / named R: the verdict named this category
    family_cols = f"{family['precision']:>10.3f}{family['recall']:>10.3f}" if family else ""
    return f"{category:<16}{len(outcomes):>4}{flagged:>9}{rate:>12}{family_cols}"


def _category_summary(report: Report) -> dict[str, dict[str, float]]:
    summary = {}
    for category, outcomes in sorted(report.by_category().items()):
        rate = _ratio(sum(o.flagged for o in outcomes), len(outcomes))
        key = "recall" if all(o.should_flag for o in outcomes) else "flag_rate"
        summary[category] = {"n": len(outcomes), key: round(rate, 3)}
        if category in MEANING_CATEGORIES:
            summary[category].update({f"named_{k}": round(v, 3)
                                      for k, v in report.named(category).items()})  # fmt: skip
    return summary


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled JSON lines")
    parser.add_argument(
        "--classifier",
        default=None,
        help="override moderation.toxicity.classifier (profanity-check, wordlist, none)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead")
    parser.add_argument(
        "--set",
        choices=("file", "meaning-eval"),
        default="file",
        help="judge --data (default) or the held-out split of the meaning data set",
    )
    parser.add_argument(
        "--no-meaning", action="store_true", help="turn the meaning classifier off (before)"
    )
    args = parser.parse_args()
    table: dict = {"meaning": {"enabled": not args.no_meaning}}
    if args.classifier:
        table["toxicity"] = {"classifier": args.classifier}
    settings = ModerationSettings.model_validate(table)
    if args.set == "meaning-eval":
        rows = meaning_rows("eval")
    else:
        text = args.data.read_text(encoding="utf-8")
        rows = [json.loads(line) for line in text.splitlines() if line]
    moderator = Moderator(settings)
    moderator.check_reply(*to_draft(parse_line('{"text": "warm up the models"}')))
    report = evaluate(rows, moderator)
    if args.json:
        summary = {"overall": report.overall(), "seconds": report.seconds}
        summary["latency_ms"] = report.latency_ms()
        summary["categories"] = _category_summary(report)
        summary["families"] = {c: report.family(c) for c in FAMILIES}
        print(json.dumps(summary, indent=2))
    else:
        print("\n".join(render(report)))


if __name__ == "__main__":
    main()
