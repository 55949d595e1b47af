"""Fixtures for the web pages: a migrated store (SQLite and PostgreSQL) holding one thread with a
hostile comment, a held reply with its generation and verdicts, a held post, and history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from redditbot.domain import Comment, Submission
from redditbot.store import queries
from redditbot.store.models import (
    GenerationRow,
    ModerationVerdictRow,
    PostedReply,
    PostJob,
    ReplyJob,
    SelectionDecision,
)
from redditbot.web.app import create_app
from redditbot.web.settings import WebSettings

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct-horse-battery-staple-42"
XSS = "<img src=x onerror=alert(1)>"
DRAFT = "Path('notes.txt').read_text() gives you the whole file."
OTHER = "open('notes.txt').read() also works, and closes nothing."
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _thread(session) -> None:
    post = Submission(id="p1", subreddit="learnpython", author="op", title="Reading a file",
                      selftext="How do I read a whole text file?", created_utc=1.0)  # fmt: skip
    target = Comment(id="c1", subreddit="learnpython", link_id="t3_p1", parent_id="t3_p1",
                     author="mallory", body=f"Is there something shorter? {XSS}",
                     created_utc=2.0)  # fmt: skip
    queries.upsert_items(session, [post, target], account="bot", bot_username="helper_bot",
                         now=NOW)  # fmt: skip


def _job(session, target: str, status: str, subreddit="learnpython", **fields) -> ReplyJob:
    fields = {"created_at": NOW, "updated_at": NOW} | fields
    job = ReplyJob(
        account="bot",
        target_fullname=target,
        subreddit=subreddit,
        link_fullname="t3_p1",
        trigger="question",
        status=status,
        **fields,
    )
    session.add(job)
    session.flush()
    return job


def _generation(session, job: ReplyJob) -> None:
    quality = {"decision": "approve", "relevance_target": 0.61, "relevance_thread": 0.4,
               "fluency": 0.7, "length_fit": 0.9, "chars": 55}  # fmt: skip
    generation = GenerationRow(
        job_id=job.id, backend="transformers", model="SmolLM2-135M-Instruct",
        prompt="SYSTEM You help with Python.\nUSER Is there something shorter?",
        parameters={"temperature": 0.8, "top_p": 0.95, "seed": 7}, output=DRAFT,
        candidates=[{"text": DRAFT, "quality": quality | {"score": 0.734, "chosen": True}},
                    {"text": OTHER, "quality": quality | {"score": 0.512, "chosen": False}}],
        tokens_in=120, tokens_out=30, latency_ms=850.0, created_at=NOW,
    )  # fmt: skip
    session.add(generation)
    session.flush()
    check = {"name": "toxicity", "passed": True, "score": 0.021, "reason": None, "action": "pass"}
    for decision, reasons in (("approve", []), ("review", ["rule:no-crypto-shilling"])):
        session.add(ModerationVerdictRow(job_id=job.id, generation_id=generation.id,
                                         gate="output", decision=decision, checks=[check],
                                         reasons=reasons, created_at=NOW))  # fmt: skip
    session.add(ModerationVerdictRow(job_id=job.id, gate="input", decision="approve", checks=[],
                                     reasons=[], created_at=NOW))  # fmt: skip


@pytest.fixture
def store(sessions) -> dict[str, int]:
    """The ids of the seeded jobs: held, posted, rejected, other_sub, post."""
    with sessions.begin() as session:
        _thread(session)
        held = _job(session, "t1_c1", "pending_review", reason="review_mode", reply_text=DRAFT)
        _generation(session, held)
        session.add(SelectionDecision(account="bot", fullname="t1_c1", subreddit="learnpython",
                                      decision="queued", trigger="question",
                                      decided_at=NOW))  # fmt: skip
        posted = _job(session, "t3_p1", "posted", reply_text="A posted answer about 100% cotton")
        session.add(PostedReply(job_id=posted.id, account="bot", target_fullname="t3_p1",
                                comment_fullname="t1_zz9", body=posted.reply_text,
                                permalink="/r/learnpython/comments/p1/_/zz9/",
                                posted_at=NOW))  # fmt: skip
        rejected = _job(
            session,
            "t1_old",
            "rejected",
            reason="output:toxicity",
            reply_text="a rude draft",
            created_at=NOW - timedelta(days=3),
        )
        other = _job(session, "t1_cook", "posted", subreddit="Cooking", reply_text="Salt it.")
        post = PostJob(account="bot", subreddit="learnpython", slot="2026-06-01T12:00",
                       status="pending_review", reason="review_mode", title="Weekly thread",
                       body=f"Ask anything. {XSS}", model="m", prompt="P",
                       verdict={"decision": "approve", "reasons": []}, created_at=NOW,
                       updated_at=NOW)  # fmt: skip
        session.add(post)
        session.flush()
        return {"held": held.id, "posted": posted.id, "rejected": rejected.id,
                "other_sub": other.id, "post": post.id}  # fmt: skip


@pytest.fixture
def app(sessions, store):
    return create_app(sessions, WebSettings(password=PASSWORD), reddit_url="https://www.reddit.com",
                      clock=lambda: NOW)  # fmt: skip


@pytest.fixture
def client(app):
    with TestClient(app, follow_redirects=False) as client:
        yield client


def csrf_of(html: str) -> str:
    return CSRF.search(html)[1]


def log_in(client, name: str = "alice", password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf": token, "name": name, "password": password,
                                       "next": "/review"})  # fmt: skip


@pytest.fixture
def operator(client):
    """The client, logged in as alice; returns (client, csrf token)."""
    assert log_in(client).status_code == 303
    return client, csrf_of(client.get("/review").text)
