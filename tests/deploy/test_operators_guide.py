"""docs/operators-guide.md: its commands exist, its ten queries run on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from redditbot.store.engine import make_engine
from tests.deploy.conftest import REPO, parse_redditbot_command

GUIDE = REPO / "docs" / "operators-guide.md"
SECTIONS = (
    "First run", "systemd", "Compose", "Scaling workers", "vLLM", "Kubernetes",
    "Monitoring", "Backups", "Upgrades", "Ten useful queries", "Troubleshooting",
)  # fmt: skip
# `redditbot ARGS` at a line start, after a pipe or &&, `exec SERVICE`, `--` or a venv's bin/.
COMMAND = re.compile(r"(?:^\s*|[|&;]\s*|-- |exec \S+ |bin/)redditbot ([^'&#]+)")


def code_blocks(language: str) -> list[str]:
    pattern = rf"^\s*```{language}\n(.*?)^\s*```"
    return re.findall(pattern, GUIDE.read_text(), re.MULTILINE | re.DOTALL)


def redditbot_commands() -> list[list[str]]:
    """Every ``redditbot …`` command line in the guide's shell blocks, comments dropped."""
    commands = []
    for block in code_blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            for found in COMMAND.finditer(line):
                commands.append(shlex.split(found[1], comments=True))
    return commands


def test_covers_what_the_issue_asks_for() -> None:
    headings = [line for line in GUIDE.read_text().splitlines() if line.startswith("#")]
    for section in SECTIONS:
        assert any(section.lower() in h.lower() for h in headings), section
    body = GUIDE.read_text()
    for must in ("script", "user agent", "dry_run = true", "review = true", ".backup",
                 "pg_dump", "db upgrade", "--scale worker="):  # fmt: skip
        assert must in body, must


def test_it_explains_api_access_and_reddits_rules_for_bots() -> None:
    headings = [line for line in GUIDE.read_text().splitlines() if line.startswith("## ")]
    assert any("API access" in h for h in headings)
    body = " ".join(GUIDE.read_text().split())
    for must in ("Responsible Builder Policy", "November 2025", '**"App"** label',
                 "disclose = false", "training_allowed = true", "purge_requests",
                 "refresh_token", 'site = "bot1"', "(by /u/<owner>)"):  # fmt: skip
        assert must in body, must


def test_every_redditbot_command_in_it_exists() -> None:
    commands = redditbot_commands()
    assert len(commands) >= 15
    for argv in commands:
        args = parse_redditbot_command(argv)
        assert callable(args.handler), argv


def test_it_has_ten_queries() -> None:
    queries = code_blocks("sql")
    assert len(queries) == 10
    assert all("reply_history" in q or "generations" in q or "moderation_verdicts" in q
               for q in queries)  # fmt: skip


def _seed(connection) -> None:
    """One posted reply (today) with its generation and verdict, and one skipped target."""
    now = datetime.now(UTC).replace(tzinfo=None)
    connection.execute(text(
        "INSERT INTO selection_decisions (account, fullname, subreddit, decision, trigger,"
        " reason, decided_at) VALUES ('bot', 't1_abc123', 'Cooking', 'queued', 'mention', NULL,"
        " :now)"), {"now": now})  # fmt: skip
    connection.execute(text(
        "INSERT INTO reply_jobs (id, account, target_fullname, subreddit, link_fullname, trigger,"
        " status, reason, reply_text, attempts, created_at, updated_at) VALUES"
        " (42, 'bot', 't1_abc123', 'Cooking', 't3_x', 'mention', 'posted', NULL, 'Hi', 2,"
        "  :now, :now), (43, 'bot', 't1_def', 'Cooking', 't3_x', 'question', 'skipped',"
        "  'thread_locked', NULL, 0, :now, :now)"), {"now": now})  # fmt: skip
    connection.execute(text(
        "INSERT INTO generations (id, job_id, backend, model, prompt, parameters, output,"
        " candidates, tokens_in, tokens_out, latency_ms, created_at) VALUES"
        " (1, 42, 'openai', 'm', 'p', '{}', 'Hi', '[]', 10, 3, 120.5, :now)"),
        {"now": now})  # fmt: skip
    connection.execute(text(
        "INSERT INTO moderation_verdicts (job_id, generation_id, gate, decision, checks, reasons,"
        " created_at) VALUES (42, 1, 'output', 'approve', '[]', '[]', :now)"),
        {"now": now})  # fmt: skip
    connection.execute(text(
        "INSERT INTO posted_replies (job_id, account, target_fullname, comment_fullname, permalink,"
        " body, dry_run, reconciled, posted_at) VALUES"
        " (42, 'bot', 't1_abc123', 't1_reply', '/r/Cooking/x', 'Hi', false, false, :now)"),
        {"now": now})  # fmt: skip


def test_the_queries_run_and_find_the_rows(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            _seed(connection)
        with engine.connect() as connection:
            results = [connection.execute(text(q)).mappings().all() for q in code_blocks("sql")]
    finally:
        engine.dispose()
    assert [(r["subreddit"], r["reply_text"], r["reply_permalink"]) for r in results[0]] == [
        ("Cooking", "Hi", "/r/Cooking/x")
    ]
    assert [(r["subreddit"], r["replies"]) for r in results[1]] == [("Cooking", 1)]
    assert [(r["status"], r["reason"], r["jobs"]) for r in results[2]] == [
        ("skipped", "thread_locked", 1)
    ]
    assert [(r["model"], r["decision"]) for r in results[3]] == [("m", "approve")]
    assert [(r["decision"], r["reason"], r["status"]) for r in results[4]] == [
        ("queued", None, "posted")
    ]
    assert [(r["target_author"], r["replies"]) for r in results[7]] == [(None, 1)]
    assert results[8][0]["generations"] == 1 and results[8][0]["avg_ms"] == pytest.approx(120.5)
    assert [r["job_id"] for r in results[9]] == [42]  # two attempts
