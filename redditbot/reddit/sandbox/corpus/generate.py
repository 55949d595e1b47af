"""Rewrite the bundled corpus: ``python -m redditbot.reddit.sandbox.corpus.generate [--seed N]``.

The text comes from ``templates.py`` (written for this project); ``compose.py`` picks, fills
and nests it. The same seed always gives the same ``threads.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from redditbot.reddit.sandbox.corpus.compose import compose

OUT = Path(__file__).with_name("threads.json")


def main() -> None:
    parser = argparse.ArgumentParser(description="Regenerate the sandbox corpus.")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", type=Path, default=OUT, help="output file")
    args = parser.parse_args()
    corpus = compose(args.seed)
    args.out.write_text(json.dumps(corpus, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    count = sum(_count(t["comments"]) for t in corpus["threads"])
    print(f"wrote {len(corpus['threads'])} threads, {count} comments to {args.out}")


def _count(comments: list[dict[str, Any]]) -> int:
    return sum(1 + _count(c["replies"]) for c in comments)


if __name__ == "__main__":
    main()
