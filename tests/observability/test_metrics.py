"""/metrics over real HTTP, read from a migrated store on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from redditbot.store.models import (
    CommentRow,
    Event,
    GenerationRow,
    ModerationVerdictRow,
    PollCursor,
    PostedReply,
    PostJob,
    SubmissionRow,
    SubredditPause,
)
from tests.observability.conftest import NOW, FakeHealth, add_job, ago, get

Labels = tuple[tuple[str, str], ...]


def scrape(url: str) -> dict[str, dict[Labels, float]]:
    """Sample name → labels → value, parsed by prometheus_client's own parser."""
    reply = get(f"{url}/metrics")
    assert reply.status == 200, reply.body
    assert reply.content_type.startswith("text/plain; version=0.0.4")
    samples: dict[str, dict[Labels, float]] = {}
    for metric in text_string_to_metric_families(reply.body):
        for sample in metric.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def one(samples: dict[str, dict[Labels, float]], name: str, **labels: str) -> float:
    return samples[name][tuple(sorted(labels.items()))]


def _items(session: Session) -> None:
    for n in range(2):
        session.add(SubmissionRow(fullname=f"t3_{n}", subreddit="python", title="t", created_utc=1))
    for n in range(3):
        session.add(CommentRow(
            fullname=f"t1_{n}", subreddit="python", link_fullname="t3_0", parent_fullname="t3_0",
            body="b", created_utc=2,
        ))  # fmt: skip


def _jobs(session: Session) -> None:
    add_job(session, "t1_q1", created_at=ago(30))
    add_job(session, "t1_q2", created_at=ago(600))
    add_job(session, "t1_q3", created_at=ago(90))
    add_job(session, "t1_old", status="posted", created_at=ago(9000))
    add_job(session, "t1_f1", status="skipped", reason="forbidden")
    add_job(session, "t1_f2", status="skipped", reason="forbidden")
    add_job(session, "t1_l", status="skipped", reason="thread_locked")
    add_job(session, "t1_d", status="skipped", reason="dry_run")
    add_job(session, "t1_g", status="generating")
    add_job(session, "t1_x", status="failed", reason="forbidden")  # only skipped jobs count
    for slot, status in (("2026-11-28T09:00", "posted"), ("2026-11-29T09:00", "queued")):
        session.add(PostJob(account="bot", subreddit="python", slot=slot, status=status,
                            created_at=NOW, updated_at=NOW))  # fmt: skip


def _posted(session: Session) -> None:
    real = add_job(session, "t1_p1", status="posted")
    dry = add_job(session, "t1_p2", status="skipped", reason="dry_run")
    session.add(PostedReply(job_id=real.id, account="bot", target_fullname="t1_p1", body="x"))
    session.add(PostedReply(
        job_id=dry.id, account="bot", target_fullname="t1_p2", body="x", dry_run=True,
    ))  # fmt: skip


def _verdicts(session: Session) -> None:
    job = add_job(session, "t1_v", status="rejected")
    rows = [
        ("input", "reject", ["bot:known:automoderator"]),
        ("input", "reject", ["bot:name-pattern:xbot", "depth:9>5"]),
        ("input", "approve", []),
        ("output", "reject", ["length:5<20"]),
        ("output", "review", ["wordlist:darn"]),
        ("output", "approve", []),
        ("output", "approve", []),
    ]
    for gate, decision, reasons in rows:
        session.add(
            ModerationVerdictRow(job_id=job.id, gate=gate, decision=decision, reasons=reasons)
        )


def _generations(session: Session) -> None:
    job = add_job(session, "t1_gen", status="drafted")
    for latency_ms in (50.0, 300.0, 1000.0, 1200.0, 70_000.0, 400_000.0):
        session.add(GenerationRow(
            job_id=job.id, backend="fake", model="m", prompt="p", output="o",
            latency_ms=latency_ms,
        ))  # fmt: skip


def _events_and_cursors(session: Session) -> None:
    for kind in ("poll_failed", "poll_failed", "post_interrupted", "stage_error", "poll_gap"):
        session.add(Event(kind=kind, at=NOW, message="m"))
    session.add(PollCursor(account="bot", feed="comments:python", last_success_at=ago(45)))
    session.add(PollCursor(account="bot2", feed="comments:python", last_success_at=ago(5)))
    session.add(PollCursor(account="bot", feed="inbox", last_success_at=ago(100)))
    session.add(PollCursor(account="bot", feed="submissions:python"))  # never succeeded


@pytest.fixture
def filled(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions.begin() as session:
        for fill in (_items, _jobs, _posted, _verdicts, _generations, _events_and_cursors):
            fill(session)
    return sessions


def test_metrics_count_the_store(filled, serve, health: FakeHealth) -> None:
    samples = scrape(serve(filled, health).url)

    assert one(samples, "redditbot_items_stored", kind="submission") == 2
    assert one(samples, "redditbot_items_stored", kind="comment") == 3
    assert one(samples, "redditbot_jobs", status="queued") == 3
    assert one(samples, "redditbot_jobs", status="skipped") == 5
    assert one(samples, "redditbot_jobs", status="posted") == 2
    assert one(samples, "redditbot_jobs", status="approved") == 0
    assert one(samples, "redditbot_post_jobs", status="posted") == 1
    assert one(samples, "redditbot_post_jobs", status="queued") == 1
    assert one(samples, "redditbot_post_jobs", status="generating") == 0
    assert one(samples, "redditbot_replies_posted_total") == 1
    assert one(samples, "redditbot_oldest_queued_job_age_seconds") == 600


def test_moderation_decisions_by_gate_decision_and_reason_kind(filled, serve, health) -> None:
    decisions = scrape(serve(filled, health).url)["redditbot_moderation_decisions_total"]

    assert decisions == {
        (("decision", "approve"), ("gate", "input"), ("reason", "none")): 1,
        (("decision", "reject"), ("gate", "input"), ("reason", "bot")): 2,
        (("decision", "approve"), ("gate", "output"), ("reason", "none")): 2,
        (("decision", "reject"), ("gate", "output"), ("reason", "length")): 1,
        (("decision", "review"), ("gate", "output"), ("reason", "wordlist")): 1,
    }


def test_generation_latency_histogram(filled, serve, health) -> None:
    samples = scrape(serve(filled, health).url)
    buckets = {
        dict(k)["le"]: v for k, v in samples["redditbot_generation_latency_seconds_bucket"].items()
    }

    assert buckets["0.1"] == 1
    assert buckets["0.25"] == 1
    assert buckets["0.5"] == 2
    assert buckets["1.0"] == 3  # 1000 ms is on the bound: le means <=
    assert buckets["2.5"] == 4
    assert buckets["60.0"] == 4
    assert buckets["120.0"] == 5
    assert buckets["300.0"] == 5
    assert buckets["+Inf"] == 6
    assert one(samples, "redditbot_generation_latency_seconds_count") == 6
    assert one(samples, "redditbot_generation_latency_seconds_sum") == pytest.approx(472.55)


def test_reddit_errors_by_kind(filled, serve, health) -> None:
    samples = scrape(serve(filled, health).url)
    errors = {dict(k)["kind"]: v for k, v in samples["redditbot_reddit_errors_total"].items()}

    assert errors["poll_failed"] == 2
    assert errors["post_interrupted"] == 1
    assert errors["stage_error"] == 1
    assert errors["forbidden"] == 2
    assert errors["thread_locked"] == 1
    assert errors["too_old"] == 0
    assert "poll_gap" not in errors and "dry_run" not in errors


def test_last_successful_poll_per_feed(filled, serve, health) -> None:
    polls = scrape(serve(filled, health).url)["redditbot_last_poll_timestamp_seconds"]

    assert polls == {
        (("feed", "comments:python"),): ago(5).timestamp(),
        (("feed", "inbox"),): ago(100).timestamp(),
    }


def test_empty_store_reads_zero(sessions, serve, health) -> None:
    samples = scrape(serve(sessions, health).url)

    assert set(samples["redditbot_jobs"].values()) == {0}
    assert len(samples["redditbot_jobs"]) == 10  # every status, so dashboards see zeros
    assert set(samples["redditbot_post_jobs"].values()) == {0}
    assert one(samples, "redditbot_oldest_queued_job_age_seconds") == 0
    assert one(samples, "redditbot_generation_latency_seconds_bucket", le="+Inf") == 0
    assert one(samples, "redditbot_generation_latency_seconds_sum") == 0
    assert "redditbot_moderation_decisions_total" not in samples
    assert "redditbot_last_poll_timestamp_seconds" not in samples


def test_process_counters_from_the_health_source(sqlite_sessions, serve, health) -> None:
    health.stats = {
        "listen": {"runs": 7, "failures": 2, "handled": 40},
        "post": {"runs": 3, "failures": 0, "handled": 1},
    }
    health.draining = True
    samples = scrape(serve(sqlite_sessions, health).url)

    assert one(samples, "redditbot_stage_runs_total", stage="listen") == 7
    assert one(samples, "redditbot_stage_failures_total", stage="listen") == 2
    assert one(samples, "redditbot_stage_handled_total", stage="listen") == 40
    assert one(samples, "redditbot_stage_runs_total", stage="post") == 3
    assert one(samples, "redditbot_up") == 1
    assert one(samples, "redditbot_draining") == 1


def test_up_is_zero_when_the_loop_is_stuck(sqlite_sessions, serve, health) -> None:
    health.is_alive = False

    assert one(scrape(serve(sqlite_sessions, health).url), "redditbot_up") == 0


def test_rate_limit_waits_and_paused_subreddits(sessions, serve, health) -> None:
    """What the alert rules watch: jobs waiting out a RATELIMIT, subreddits paused after 403s."""
    with sessions.begin() as session:
        add_job(session, "t1_r1", status="approved", reason="ratelimit", not_before=ago(-120))
        add_job(session, "t1_r2", status="approved", reason="ratelimit", not_before=ago(60))  # over
        session.add(PostJob(account="bot", subreddit="python", slot="2026-11-29T10:00",
                            status="approved", reason="ratelimit", not_before=ago(-30),
                            created_at=NOW, updated_at=NOW))  # fmt: skip
        for account in ("bot", "other"):  # two accounts paused in one subreddit: two pairs
            session.add(SubredditPause(account=account, subreddit="python",
                                       paused_until=ago(-3600), pause_reason="403s"))  # fmt: skip
        session.add(SubredditPause(account="bot", subreddit="cooking", paused_until=ago(10)))
        session.add(SubredditPause(account="bot", subreddit="rust", forbidden_count=2))
    samples = scrape(serve(sessions, health).url)

    assert one(samples, "redditbot_rate_limited_jobs", job="reply") == 1
    assert one(samples, "redditbot_rate_limited_jobs", job="post") == 1
    assert one(samples, "redditbot_paused_subreddits") == 2


def test_store_figures_only_where_asked_for(filled, health) -> None:
    """Workers set store_metrics = false: their /metrics has their own figures, not the store's."""
    from redditbot.observability.server import ObservabilityServer

    server = ObservabilityServer("127.0.0.1", 0, filled, health, clock=lambda: NOW,
                                 store_metrics=False)  # fmt: skip
    server.start()
    try:
        samples = scrape(server.url)
    finally:
        server.stop()
    assert "redditbot_up" in samples and "process_cpu_seconds_total" in samples
    assert not {"redditbot_jobs", "redditbot_replies_posted_total"} & set(samples)
