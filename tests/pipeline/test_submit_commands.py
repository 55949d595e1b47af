"""``redditbot posts``: listing post jobs and reviewing held ones."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from redditbot.cli.posts import add_commands
from redditbot.store import migrate
from redditbot.store.engine import make_engine, session_factory
from redditbot.store.models import PostJob
from redditbot.store.review import NotHeld

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Ctx:
    def __init__(self, url: str) -> None:
        self.settings = SimpleNamespace(database=SimpleNamespace(url=url))
        self.lines: list[str] = []

    def print(self, *parts: object) -> None:
        self.lines.append(" ".join(map(str, parts)))


@pytest.fixture
def url(sqlite_empty_url: str) -> str:
    migrate.upgrade(sqlite_empty_url)
    return sqlite_empty_url


def add_job(url: str, status: str, slot: str = "2026-06-01T12:00") -> int:
    with session_factory(make_engine(url)).begin() as session:
        job = PostJob(
            account="bot",
            subreddit="learnpython",
            slot=slot,
            status=status,
            title="A held title",
            body="A held body",
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(job)
        session.flush()
        return job.id


def run(url: str, *argv: str) -> Ctx:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    ctx = Ctx(url)
    assert args.handler(ctx, args) == 0
    return ctx


def job(url: str, job_id: int) -> PostJob:
    with session_factory(make_engine(url))() as session:
        return session.get(PostJob, job_id)


def test_list_shows_held_posts(url: str) -> None:
    held = add_job(url, "pending_review")
    add_job(url, "posted", slot="2026-06-01T06:00")
    output = "\n".join(run(url, "posts", "list", "--status", "pending_review").lines)
    assert "A held title" in output and "pending_review" in output and "posted" not in output
    assert str(held) in output


def test_approve_with_an_edit(url: str) -> None:
    held = add_job(url, "pending_review")
    run(url, "posts", "approve", str(held), "--title", "Better title")
    approved = job(url, held)
    assert (approved.status, approved.reason) == ("approved", "reviewer_edited")
    assert (approved.title, approved.body) == ("Better title", "A held body")


def test_reject_and_refuse_a_job_not_held(url: str) -> None:
    held = add_job(url, "pending_review")
    run(url, "posts", "reject", str(held), "--reason", "off-topic")
    assert (job(url, held).status, job(url, held).reason) == ("rejected", "reviewer:off-topic")
    with pytest.raises(NotHeld, match="not pending_review"):
        run(url, "posts", "approve", str(held))


def test_every_command_has_help() -> None:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    add_commands(subparsers)
    posts = subparsers.choices["posts"]
    actions = next(a for a in posts._actions if isinstance(a, argparse._SubParsersAction))
    assert {a.dest: a.help for a in actions._choices_actions} == {
        "list": "the newest post jobs (the default)",
        "approve": "approve a held post (optionally edited)",
        "reject": "reject a held post",
    }
