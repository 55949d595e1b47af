"""Reddit users' text from the recorded cassettes is read at run time, never committed.

The cassettes in ``../shared/reddit-cassettes`` hold real comments and posts. Benchmarks and
tests extract them when they run; no file that git tracks may carry a copy of one (a test
example, a README sample, a fixture). Every recorded body, self-text and title of at least
``MIN_CHARS`` characters is looked for, by its first ``MIN_CHARS`` characters, in every tracked
text file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.benchmarks.loader import load_benchmark
from tests.promise import unavailable
from tests.reddit.test_conformance import CASSETTES

ROOT = Path(__file__).resolve().parents[2]
MIN_CHARS = 25  # shorter lines ("lol", "Thanks!") are anyone's words
SKIPPED_SUFFIXES = (".gguf", ".safetensors", ".png", ".jpg", ".ico")


def recorded_texts() -> set[str]:
    things = load_benchmark("reddit_cassettes").recorded_things(CASSETTES)
    texts = set()
    for _kind, data in things.values():
        for key in ("body", "selftext", "title"):
            text = (data.get(key) or "").strip()
            if len(text) >= MIN_CHARS:
                texts.add(" ".join(text[:MIN_CHARS].split()))
    return texts


def tracked_files() -> dict[str, str]:
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    files = {}
    for name in filter(None, listing.stdout.split("\0")):
        path = ROOT / name
        if name.endswith(SKIPPED_SUFFIXES) or not path.is_file():
            continue
        files[name] = " ".join(path.read_text(encoding="utf-8", errors="ignore").split())
    return files


def quoted(texts: set[str], files: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, text) for text in texts for name, body in files.items() if text in body]


def test_no_tracked_file_quotes_a_recorded_reddit_comment() -> None:
    if not CASSETTES.is_dir():
        unavailable(f"no recorded cassettes at {CASSETTES} (set REDDITBOT_CASSETTES)")
    texts = recorded_texts()
    assert len(texts) > 500, f"only {len(texts)} recorded texts found in {CASSETTES}"
    found = quoted(texts, tracked_files())
    lines = "\n".join(f"  {name}: {text!r}…" for name, text in found)
    assert not found, f"recorded Reddit text committed (quote it at run time instead):\n{lines}"


def test_a_quoted_comment_would_be_found() -> None:
    """The search itself: one recorded text planted in a file is found there."""
    if not CASSETTES.is_dir():
        unavailable(f"no recorded cassettes at {CASSETTES} (set REDDITBOT_CASSETTES)")
    text = sorted(recorded_texts())[0]
    found = quoted({text}, {"tests/planted.py": f"EXAMPLES = [{text!r} + ' and more']"})
    assert found == [("tests/planted.py", text)]
