"""403 pauses per (account, subreddit), on both backends: the store's count, its reset, the
claim filter's subquery, two instances counting at once, and migration 0005 up and down with
data in it (a subreddit-wide pause carried to every account known there, and back)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import MetaData, Table, insert, inspect, select, text, update

from redditbot.store import migrate, queries
from redditbot.store.engine import make_engine
from redditbot.store.models import Event, SubredditPause

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def forbid(sessions, account: str, subreddit: str = "x", threshold: int = 3) -> datetime | None:
    with sessions.begin() as session:
        return queries.count_forbidden(
            session, subreddit, account=account, now=NOW, threshold=threshold, pause_for=DAY
        )


def pause_of(sessions, account: str, subreddit: str = "x") -> SubredditPause | None:
    with sessions() as session:
        return session.get(SubredditPause, (account, subreddit))


def paused_for(sessions, account: str, now: datetime = NOW) -> list[str]:
    with sessions() as session:
        return list(session.scalars(queries.paused_subreddits(account, now)))


def test_third_403_in_a_row_pauses_that_account_only(sessions) -> None:
    assert forbid(sessions, "a") is None and forbid(sessions, "a") is None
    assert forbid(sessions, "b") is None
    assert forbid(sessions, "a") == NOW + DAY
    assert paused_for(sessions, "a") == ["x"] and paused_for(sessions, "b") == []
    assert paused_for(sessions, "a", NOW + DAY) == []  # the pause ends
    assert (pause_of(sessions, "a").forbidden_count, pause_of(sessions, "b").forbidden_count) == (
        0,
        1,
    )
    with sessions() as session:
        [event] = session.scalars(select(Event).where(Event.kind == "subreddit_paused"))
    assert (event.account, event.subreddit) == ("a", "x") and "u/a" in event.message


def test_a_success_clears_only_that_accounts_count(sessions) -> None:
    for account in ("a", "a", "b", "b"):
        forbid(sessions, account)
    forbid(sessions, "a", subreddit="y")
    with sessions.begin() as session:
        queries.clear_forbidden(session, "x", account="a")
    counts = {(p.account, p.subreddit): p.forbidden_count for p in all_pauses(sessions)}
    assert counts == {("a", "x"): 0, ("b", "x"): 2, ("a", "y"): 1}
    assert forbid(sessions, "b") == NOW + DAY  # b's third in a row
    assert forbid(sessions, "a") is None  # a's count began again


def all_pauses(sessions) -> list[SubredditPause]:
    with sessions() as session:
        return list(session.scalars(select(SubredditPause)))


def test_two_instances_counting_at_once_both_count(pg_sessions) -> None:
    """Two instances of one account get a 403 each in the same moment: the second's count waits
    for the first's and adds to it (a read-then-write would write 1 over 1)."""
    forbid(pg_sessions, "a", threshold=99)
    with pg_sessions.begin() as session:
        session.execute(text("UPDATE subreddit_pauses SET forbidden_count = 0"))
    results: list[datetime | None] = []
    first = pg_sessions()
    first.begin()
    queries.count_forbidden(first, "x", account="a", now=NOW, threshold=99, pause_for=DAY)
    first.flush()
    second = threading.Thread(target=lambda: results.append(forbid(pg_sessions, "a", "x", 99)))
    second.start()
    try:
        _wait_for_a_lock_wait(pg_sessions)
    finally:
        first.commit()
        first.close()
        second.join(10)
    assert results == [None] and pause_of(pg_sessions, "a").forbidden_count == 2


def _wait_for_a_lock_wait(sessions) -> None:
    """Until another connection waits on a row lock (the second instance's count)."""
    deadline = time.monotonic() + 10
    query = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    while time.monotonic() < deadline:
        with sessions() as session:
            if session.scalar(query):
                return
        time.sleep(0.02)
    raise AssertionError("the second count never waited for the first")


# --------------------------------------------------------------------------- migration 0005


def _tables(connection, *names: str) -> dict[str, Table]:
    metadata = MetaData()
    return {name: Table(name, metadata, autoload_with=connection) for name in names}


def _utc(value: datetime | None) -> datetime | None:
    """A reflected timestamp (naive on SQLite) as an aware UTC one."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def test_migration_moves_subreddit_pauses_to_accounts_and_back(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url, "0004")
    engine = make_engine(empty_db_url)
    later = NOW + timedelta(hours=6)
    try:
        with engine.begin() as connection:
            t = _tables(connection, "subreddits", "reply_jobs", "post_jobs", "events")
            connection.execute(insert(t["subreddits"]), [
                {"name": "gardening", "first_seen_at": NOW, "forbidden_count": 0,
                 "paused_until": NOW + DAY, "pause_reason": "3 consecutive 403 answers"},
                {"name": "cooking", "first_seen_at": NOW, "forbidden_count": 2,
                 "paused_until": None, "pause_reason": None},
                {"name": "rust", "first_seen_at": NOW, "forbidden_count": 0,
                 "paused_until": NOW + DAY, "pause_reason": "nobody known here"},
                {"name": "python", "first_seen_at": NOW, "forbidden_count": 0,
                 "paused_until": None, "pause_reason": None},
            ])  # fmt: skip
            job = {"status": "approved", "attempts": 0, "created_at": NOW, "updated_at": NOW}
            connection.execute(insert(t["reply_jobs"]), [
                {"account": "a", "subreddit": "gardening", "target_fullname": "t1_1",
                 "link_fullname": "t3_1", "trigger": "mention", **job},
                {"account": "a", "subreddit": "cooking", "target_fullname": "t1_2",
                 "link_fullname": "t3_2", "trigger": "mention", **job},
                {"account": "d", "subreddit": "python", "target_fullname": "t1_3",
                 "link_fullname": "t3_3", "trigger": "mention", **job},
            ])  # fmt: skip
            connection.execute(insert(t["post_jobs"]), [
                {"account": "b", "subreddit": "gardening", "slot": "2026-01-01T06:00",
                 "generations": 0, "verdict": {}, "dry_run": False, "reconciled": False, **job},
            ])  # fmt: skip
            connection.execute(insert(t["events"]), [
                {"at": NOW, "level": "warning", "kind": "subreddit_paused", "account": "c",
                 "subreddit": "gardening", "message": "paused", "data": {}},
                {"at": NOW, "level": "info", "kind": "poll_failed", "account": "e",
                 "subreddit": "gardening", "message": "not a pause", "data": {}},
            ])  # fmt: skip

        migrate.upgrade(empty_db_url)
        assert migrate.schema_problems(empty_db_url) == []
        with engine.begin() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("subreddits")}
            assert columns == {"name", "first_seen_at"}
            pauses = _tables(connection, "subreddit_pauses")["subreddit_pauses"]
            rows = {(r.account, r.subreddit): (r.forbidden_count, _utc(r.paused_until),
                                               r.pause_reason)
                    for r in connection.execute(select(pauses))}  # fmt: skip
            gardening = (0, NOW + DAY, "3 consecutive 403 answers")
            assert rows == {("a", "gardening"): gardening, ("b", "gardening"): gardening,
                            ("c", "gardening"): gardening,
                            ("a", "cooking"): (2, None, None)}  # fmt: skip
            # what the new code writes: b's own pause ending later, a pause in a subreddit that
            # has no row in `subreddits`
            connection.execute(
                update(pauses)
                .where(pauses.c.account == "b", pauses.c.subreddit == "gardening")
                .values(forbidden_count=1, paused_until=later + DAY, pause_reason="b's own 403s")
            )
            connection.execute(insert(pauses).values(
                account="a", subreddit="haskell", forbidden_count=0, paused_until=later,
                pause_reason="a's 403s in haskell"))  # fmt: skip

        migrate.downgrade(empty_db_url, "0004")
        with engine.begin() as connection:
            assert "subreddit_pauses" not in inspect(connection).get_table_names()
            subreddits = _tables(connection, "subreddits")["subreddits"]
            rows = {r.name: (r.forbidden_count, _utc(r.paused_until), r.pause_reason)
                    for r in connection.execute(select(subreddits))}  # fmt: skip
        # each subreddit's longest pause and highest count over its accounts; a paused
        # subreddit nobody was known in had nothing to carry, and stays unpaused
        assert rows == {
            "gardening": (1, later + DAY, "b's own 403s"),
            "cooking": (2, None, None),
            "rust": (0, None, None),
            "python": (0, None, None),
            "haskell": (0, later, "a's 403s in haskell"),
        }
        migrate.upgrade(empty_db_url)
        assert migrate.schema_problems(empty_db_url) == []
    finally:
        engine.dispose()
