"""Migrations up and down, drift detection, and the read-only SQL command, on both backends."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from redditbot import cli
from redditbot.errors import StoreError
from redditbot.store import migrate
from redditbot.store.engine import make_engine

TABLES = {
    "subreddits",
    "subreddit_pauses",
    "submissions",
    "comments",
    "inbox_items",
    "poll_cursors",
    "reply_jobs",
    "generations",
    "moderation_verdicts",
    "posted_replies",
    "opt_outs",
    "events",
}


def run_cli(*argv: str, env_url: str, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.setenv("REDDITBOT_DATABASE__URL", env_url)
    monkeypatch.delenv("REDDITBOT_CONFIG", raising=False)
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _inspect(url: str):
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        return set(inspector.get_table_names()), set(inspector.get_view_names())
    finally:
        engine.dispose()


def test_upgrade_then_downgrade_to_base(empty_db_url: str, monkeypatch) -> None:
    code, out, _ = run_cli("db", "upgrade", env_url=empty_db_url, monkeypatch=monkeypatch)
    assert code == 0 and "head" in out
    tables, views = _inspect(empty_db_url)
    assert tables >= TABLES
    assert "reply_history" in views
    code, _, _ = run_cli("db", "downgrade", "base", env_url=empty_db_url, monkeypatch=monkeypatch)
    assert code == 0
    tables, views = _inspect(empty_db_url)
    assert not (TABLES & tables) and "reply_history" not in views


def test_check_passes_on_a_current_schema(db_url: str, monkeypatch) -> None:
    code, out, _ = run_cli("db", "check", env_url=db_url, monkeypatch=monkeypatch)
    assert code == 0, out
    assert "schema is current" in out


def test_check_fails_on_an_empty_database(empty_db_url: str, monkeypatch) -> None:
    code, out, _ = run_cli("db", "check", env_url=empty_db_url, monkeypatch=monkeypatch)
    assert code == 1
    assert "run `redditbot db upgrade`" in out


def test_check_detects_drift_between_models_and_database(db_url: str, monkeypatch) -> None:
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE reply_jobs ADD COLUMN surprise INTEGER"))
    engine.dispose()
    code, out, _ = run_cli("db", "check", env_url=db_url, monkeypatch=monkeypatch)
    assert code == 1
    assert "surprise" in out


def test_daemon_refuses_a_schema_that_is_behind(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        with pytest.raises(StoreError, match="run `redditbot db upgrade`"):
            migrate.require_current_schema(engine)
        migrate.upgrade(empty_db_url)
        migrate.require_current_schema(engine)
    finally:
        engine.dispose()


def test_sql_prints_the_empty_history_table(db_url: str, monkeypatch) -> None:
    code, out, err = run_cli(
        "sql", "select * from reply_history", env_url=db_url, monkeypatch=monkeypatch
    )
    assert code == 0, err
    header = out.splitlines()[0]
    for column in ("subreddit", "target_fullname", "reply_text", "status", "posted_at"):
        assert column in header
    assert out.rstrip().endswith("(0 rows)")


def test_sql_refuses_writes(db_url: str, monkeypatch) -> None:
    code, out, err = run_cli(
        "sql",
        "INSERT INTO opt_outs (username, opted_out, updated_at) VALUES ('x', true, "
        "CURRENT_TIMESTAMP)",
        env_url=db_url,
        monkeypatch=monkeypatch,
    )
    assert code == 1
    assert "read-only" in err and "Traceback" not in err
    code, out, _ = run_cli(
        "sql", "select count(*) as n from opt_outs", env_url=db_url, monkeypatch=monkeypatch
    )
    assert out.splitlines()[2].strip() == "0"


def test_sql_on_a_missing_schema_says_to_upgrade(empty_db_url: str, monkeypatch) -> None:
    code, _, err = run_cli(
        "sql", "select * from reply_history", env_url=empty_db_url, monkeypatch=monkeypatch
    )
    assert code == 78
    assert "redditbot db upgrade" in err


def test_top_level_alembic_ini_drives_the_packaged_migrations(empty_db_url: str) -> None:
    """`alembic -c migrations/alembic.ini -x url=…` (writing revisions) sees the same scripts."""
    ini = Path(migrate.__file__).resolve().parents[2] / "migrations" / "alembic.ini"
    config = Config(str(ini), cmd_opts=type("Opts", (), {"x": [f"url={empty_db_url}"]})())
    script = ScriptDirectory.from_config(config)
    assert Path(script.dir).resolve() == migrate.MIGRATIONS_DIR
    assert script.get_current_head() == migrate.head_revision()
    command.upgrade(config, "head")
    assert "reply_jobs" in _inspect(empty_db_url)[0]


@pytest.mark.slow
def test_pods_migrating_at_once_on_postgresql_all_succeed(pg_empty_url: str) -> None:
    """Kubernetes starts every pod's `db upgrade` init container together: on PostgreSQL an
    advisory lock lets one migrate while the others wait, then find the schema current."""
    upgrade = ("import sys; from redditbot.store import migrate; print('ready', flush=True); "
               "sys.stdin.readline(); migrate.upgrade(sys.argv[1])")  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(Path(migrate.__file__).resolve().parents[2]))
    pods = [subprocess.Popen([sys.executable, "-c", upgrade, pg_empty_url], env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT) for _ in range(4)]  # fmt: skip
    for pod in pods:  # every process imported: start them at the same moment
        assert pod.stdout.readline().strip() == "ready"
    for pod in pods:
        pod.stdin.write("go\n")
        pod.stdin.flush()
    outputs = [pod.communicate(timeout=120)[0] for pod in pods]
    assert [pod.returncode for pod in pods] == [0] * 4, "\n".join(outputs)[-3000:]
    assert migrate.schema_problems(pg_empty_url) == []
