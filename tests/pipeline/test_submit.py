"""Original posts end to end against the sandbox Reddit (real PRAW over HTTP, a migrated store,
a scripted generator): one post per slot, whatever Reddit answers and whenever the bot crashes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from redditbot.config import Settings
from redditbot.disclosure import DEFAULT_FOOTER, disclosed
from redditbot.domain import Candidate, Generation, GenerationRequest
from redditbot.errors import ConfigError, PartialGenerationError
from redditbot.moderation import Moderator
from redditbot.pipeline.listen import Listener
from redditbot.pipeline.submit import (
    SubmitStage,
    jitter,
    latest_slot,
    parse_post,
    post_stages,
    posting_for,
    slot_key,
    title_problems,
)
from redditbot.posting_settings import OriginalPostSettings
from redditbot.reddit.gateway import PrawGateway
from redditbot.reddit.sandbox import DEMO_BOT
from redditbot.store import queries
from redditbot.store.models import Event, PostJob, SubredditPause
from tests.pipeline.conftest import expire_leases, reddit_settings

TITLE = "What small script saved you the most time this year?"
BODY = "Mine renames my photos by date. Share yours, however tiny it is!"
CLEAN = f"Title: {TITLE}\nBody: {BODY}"
TOXIC = "Title: You are all idiots\nBody: Fuck off, this is a shit subreddit full of shit people."
EVERY_6H = OriginalPostSettings(enabled=True, every_hours=6)


class ScriptedGenerator:
    """Answers each request with the next scripted text; records the requests."""

    def __init__(self, *texts: str) -> None:
        self.texts, self.requests = list(texts), []

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        self.requests += requests
        return [self._one(r, self.texts.pop(0)) for r in requests]

    @staticmethod
    def _one(request: GenerationRequest, output: str) -> Generation:
        return Generation(
            key=request.key,
            model_id="scripted",
            prompt=f"PROMPT {request.key}",
            params={},
            candidates=(Candidate(output, tokens_out=20),),
            tokens_in=42,
            latency_s=0.1,
        )


def config(review: bool = False, dry_run: bool = False) -> Settings:
    return Settings(
        dry_run=dry_run,
        moderation={"toxicity": {"classifier": "wordlist"}},
        subreddits=[{"name": "learnpython", "review": review, "persona": "A Python regular."}],
    )


def make_stage(
    gateway,
    sessions,
    clock,
    generator,
    settings=None,
    posting=EVERY_6H,
    owner="instance-1",
    account="bot",
) -> SubmitStage:
    settings = settings or config()
    moderator = Moderator(settings.moderation_for("learnpython"))
    stages = post_stages(
        gateway,
        sessions,
        settings,
        generator,
        account=account,
        owner=owner,
        moderator_for=lambda _: moderator,
        posting=lambda _: posting,
        lease=timedelta(minutes=10),
        clock=clock,
    )
    return SubmitStage(stages)


def jobs(sessions) -> list[PostJob]:
    with sessions() as session:
        return list(session.scalars(select(PostJob).order_by(PostJob.id)))


def bot_posts(world) -> list:
    return [p for p in world.submissions({"learnpython"}) if p.author == DEMO_BOT]


def submit_writes(sandbox) -> list:
    return [w for w in sandbox.writes.records if w.path.startswith("/api/submit")]


# ---------------------------------------------------------------------- the happy path


def test_a_due_slot_becomes_one_post_with_history(world, sandbox, gateway, sessions, clock):
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN))
    assert stage.run_once() == 4  # scheduled, written, approved, posted
    [post] = bot_posts(world)
    assert (post.title, post.selftext) == (TITLE, disclosed(BODY, DEFAULT_FOOTER))
    [job] = jobs(sessions)
    assert job.status == "posted" and job.submission_fullname == post.fullname
    assert job.body == post.selftext  # the history holds what Reddit got, footer included
    assert job.slot == slot_key(latest_slot(EVERY_6H, clock()))
    assert stage.run_once() == 0  # the same slot never posts twice
    clock.advance(3600)
    assert stage.run_once() == 0 and len(submit_writes(sandbox)) == 1
    with sessions() as session:
        history = session.execute(text("SELECT * FROM post_history")).mappings().one()
    assert (history["title"], history["status"]) == (TITLE, "posted")
    assert history["submission_fullname"] == post.fullname and history["model"] == "scripted"


def test_the_next_slot_posts_again_and_the_post_appears_in_listings(
    world, sandbox, gateway, sessions, clock
) -> None:
    second = "Title: Which library surprised you?\nBody: For me it was itertools, so handy!!"
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN, second))
    stage.run_once()
    clock.advance(6 * 3600)
    stage.run_once()
    assert [p.title for p in bot_posts(world)] == ["Which library surprised you?", TITLE]
    page = gateway.submissions(["learnpython"])
    assert page.items[0].title == "Which library surprised you?"
    assert page.items[0].author == DEMO_BOT


def test_the_request_has_persona_and_few_shot_threads_of_the_subreddit(
    world, gateway, sessions, clock
) -> None:
    Listener(
        gateway,
        sessions,
        account="bot",
        bot_username=DEMO_BOT,
        subreddits=["learnpython"],
        clock=clock,
    ).run_once()
    generator = ScriptedGenerator(CLEAN)
    make_stage(gateway, sessions, clock, generator).run_once()
    [request] = generator.requests
    assert request.persona == "A Python regular."
    assert request.context.subreddit == "learnpython" and "Title:" in request.context.selftext
    assert len(request.few_shot) == 3
    stored = {p.title for p in world.submissions({"learnpython"}) if p.selftext}
    for _context, example in request.few_shot:
        assert example.startswith("Title: ") and example.split("\n")[0][7:] in stored
    assert request.params.max_new_tokens >= 256


# ---------------------------------------------------------------------- safety


def test_dry_run_makes_no_write_request(world, sandbox, gateway, sessions, clock) -> None:
    stage = make_stage(
        gateway, sessions, clock, ScriptedGenerator(CLEAN), settings=config(dry_run=True)
    )
    stage.run_once()
    assert sandbox.writes.records == [] and bot_posts(world) == []
    [job] = jobs(sessions)
    assert (job.status, job.reason, job.dry_run) == ("skipped", "dry_run", True)
    assert (job.title, job.body) == (TITLE, disclosed(BODY, DEFAULT_FOOTER))


def test_review_mode_holds_the_post(world, sandbox, gateway, sessions, clock) -> None:
    make_stage(
        gateway, sessions, clock, ScriptedGenerator(CLEAN), settings=config(review=True)
    ).run_once()
    [job] = jobs(sessions)
    assert (job.status, job.reason) == ("pending_review", "review_mode")
    assert submit_writes(sandbox) == []


def test_a_toxic_post_is_regenerated_then_rejected(world, sandbox, gateway, sessions, clock):
    generator = ScriptedGenerator(TOXIC, TOXIC, TOXIC)
    stage = make_stage(gateway, sessions, clock, generator)
    for _ in range(3):
        stage.run_once()
    [job] = jobs(sessions)
    assert job.status == "rejected" and job.reason.startswith("output:")
    assert job.generations == 3 and job.verdict["decision"] == "reject"
    assert submit_writes(sandbox) == []
    # each try's candidates (seeded seed + k) are new ones: tries are n seeds apart
    seeds = [request.params.seed for request in generator.requests]
    n = generator.requests[0].params.n
    assert seeds == [job.id * 1000 + try_ * n for try_ in range(3)]


def test_title_rules_reject_a_linked_title(world, sandbox, gateway, sessions, clock) -> None:
    linked = f"Title: See https://example.com/x now\nBody: {BODY}"
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(linked, CLEAN))
    stage.run_once()
    first = jobs(sessions)[0]
    assert first.status == "queued" and first.reason == "regenerate:output:title:link"
    stage.run_once()
    assert jobs(sessions)[0].status == "posted" and bot_posts(world)[0].title == TITLE


# ---------------------------------------------------------------------- crashes


def test_crash_between_submit_and_record_is_reconciled_from_the_listing(
    world, sandbox, gateway, sessions, clock
) -> None:
    # The post is made, then the answer is lost (as if the process died before recording).
    sandbox.faults.add("/api/submit", status=502, after_write=True)
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN))
    stage.run_once()
    [job] = jobs(sessions)
    assert job.status == "posting" and len(bot_posts(world)) == 1
    restarted = make_stage(gateway, sessions, clock, ScriptedGenerator(), owner="instance-2")
    assert restarted.reconcile(stale_only=False) == 1
    [job] = jobs(sessions)
    [post] = bot_posts(world)
    assert (job.status, job.submission_fullname, job.reconciled) == ("posted", post.fullname, True)
    restarted.run_once()
    assert len(submit_writes(sandbox)) == 1 and len(bot_posts(world)) == 1


def test_a_lost_request_that_made_nothing_is_sent_again(
    world, sandbox, gateway, sessions, clock
) -> None:
    sandbox.faults.add("/api/submit", status=503)  # refused before the write
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN))
    stage.run_once()
    assert jobs(sessions)[0].status == "posting" and bot_posts(world) == []
    expire_leases(sessions)  # the lease runs out: the next run reconciles, then sends
    stage.run_once()
    assert jobs(sessions)[0].status == "posted" and len(bot_posts(world)) == 1


def test_a_crash_during_generation_is_picked_up_after_the_lease(
    world, sandbox, gateway, sessions, clock
) -> None:
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN))
    stage.parts[0].run_once()
    with sessions.begin() as session:  # as a dead instance leaves it
        job = session.scalars(select(PostJob)).one()
        job.status, job.lease_owner = "generating", "dead-instance"
        job.lease_expires_at = queries.db_now(session, timedelta(minutes=10))
    stage.run_once()
    assert jobs(sessions)[0].status == "generating"
    expire_leases(sessions)
    stage.run_once()
    assert jobs(sessions)[0].status == "posted" and len(bot_posts(world)) == 1


def test_the_slot_key_prevents_a_second_post_after_restart(
    world, sandbox, gateway, sessions, clock
) -> None:
    make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN)).run_once()
    restarted = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN), owner="other")
    assert restarted.run_once() == 0
    assert len(jobs(sessions)) == 1 and len(bot_posts(world)) == 1
    with sessions.begin() as session, pytest.raises(Exception, match="(?i)unique"):
        job = jobs(sessions)[0]
        session.add(
            PostJob(
                account="bot",
                subreddit="learnpython",
                slot=job.slot,
                created_at=clock(),
                updated_at=clock(),
            )
        )
        session.flush()


def test_a_duplicate_found_by_reconciliation_is_deleted(world, sandbox, gateway, sessions, clock):
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN))
    sandbox.faults.add("/api/submit", status=502, after_write=True)
    stage.run_once()
    world.add_submission("learnpython", DEMO_BOT, TITLE, BODY)  # a second copy got through
    stage.sender.reconcile(stale_only=False)
    [job] = jobs(sessions)
    kept = [p for p in bot_posts(world) if not p.deleted]
    assert len(kept) == 1 and job.submission_fullname == kept[0].fullname


# ---------------------------------------------------------------------- Reddit's answers


def test_ratelimit_delays_until_the_time_reddit_named(world, sandbox, gateway, sessions, clock):
    sandbox.faults.add("/api/submit", api_error="RATELIMIT", ratelimit_seconds=540)
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN))
    stage.run_once()
    [job] = jobs(sessions)
    assert (job.status, job.reason, job.attempts) == ("approved", "ratelimit", 0)
    clock.advance(300)
    stage.run_once()
    assert bot_posts(world) == []
    clock.advance(300)
    stage.run_once()
    assert jobs(sessions)[0].status == "posted" and len(bot_posts(world)) == 1


def test_http_429_on_submit_delays_the_job(world, sandbox, gateway, sessions, clock):
    sandbox.faults.add("/api/submit", status=429, retry_after=120)
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN))
    stage.run_once()
    [job] = jobs(sessions)
    assert (job.status, job.reason, job.attempts) == ("approved", "ratelimit", 0)
    assert (job.not_before - clock()).total_seconds() == pytest.approx(120, abs=1)
    clock.advance(60)
    stage.run_once()
    assert bot_posts(world) == []  # not before Reddit's time
    clock.advance(61)
    stage.run_once()
    assert jobs(sessions)[0].status == "posted" and len(bot_posts(world)) == 1
    assert [w.outcome for w in submit_writes(sandbox)] == ["fault:429", "created"]


@pytest.mark.parametrize(
    ("refuse", "reason"),
    [
        (lambda sub: setattr(sub, "restricted", True), "subreddit_not_allowed"),
        (lambda sub: setattr(sub, "allow_selfs", False), "no_selfs"),
        (lambda sub: setattr(sub, "flair_required", True), "submit_validation_flair_required"),
        (lambda sub: sub.banned.add(DEMO_BOT.lower()), "forbidden"),
    ],
)
def test_refusals_are_terminal_skips(world, sandbox, gateway, sessions, clock, refuse, reason):
    refuse(world.subreddit("learnpython"))
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN))
    stage.run_once()
    [job] = jobs(sessions)
    assert (job.status, job.reason) == ("skipped", reason)
    clock.advance(600)
    stage.run_once()
    assert bot_posts(world) == [] and len(submit_writes(sandbox)) == 1


def test_title_too_long_is_a_terminal_skip_without_a_request(
    world, sandbox, gateway, sessions, clock
) -> None:
    long_title = OriginalPostSettings(enabled=True, every_hours=6, title_max_chars=300)
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN), posting=long_title)
    stage.parts[0].run_once()
    with sessions.begin() as session:
        job = session.scalars(select(PostJob)).one()
        job.status, job.title, job.body = "approved", "x" * 301, BODY
    stage.sender.run_once()
    assert (jobs(sessions)[0].status, jobs(sessions)[0].reason) == ("skipped", "title_too_long")
    assert submit_writes(sandbox) == []


def test_repeated_403_pauses_the_subreddit(world, sandbox, gateway, sessions, clock) -> None:
    world.ban(DEMO_BOT, "learnpython")
    hourly = OriginalPostSettings(enabled=True, every_hours=1, max_per_day=24)
    texts = [f"Title: Question number {i}\nBody: {BODY}" for i in range(4)]
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(*texts), posting=hourly)
    for _ in range(4):
        stage.run_once()
        clock.advance(3600)
    with sessions() as session:
        paused = session.get(SubredditPause, ("bot", "learnpython")).paused_until
    assert paused is not None and paused > clock()
    assert [j.reason for j in jobs(sessions)] == ["forbidden"] * 3 + [None]
    assert jobs(sessions)[3].status == "approved" and len(submit_writes(sandbox)) == 3


def test_403s_pause_original_posts_only_for_the_account_that_got_them(
    world, sandbox, gateway, sessions, clock
) -> None:
    """One account banned in r/learnpython stops posting there; a second account goes on."""
    world.ban(DEMO_BOT, "learnpython")
    world.add_user("second_bot", "second-password")
    second_gateway = PrawGateway(
        reddit_settings(sandbox, username="second_bot", password="second-password")
    )
    hourly = OriginalPostSettings(enabled=True, every_hours=1, max_per_day=24)
    topics = ["photos", "backups", "invoices", "playlists"]
    stages = {
        account: make_stage(
            account_gateway, sessions, clock, posting=hourly, account=account,
            generator=ScriptedGenerator(
                *[f"Title: How does {account} sort {t}?\nBody: {BODY}" for t in topics]
            ),
        )
        for account, account_gateway in (("bot", gateway), ("second", second_gateway))
    }  # fmt: skip
    for _ in range(4):
        for stage in stages.values():
            stage.run_once()
        clock.advance(3600)
    by_account = {a: [(j.status, j.reason) for j in jobs(sessions) if j.account == a]
                  for a in stages}  # fmt: skip
    assert by_account["bot"] == [("skipped", "forbidden")] * 3 + [("approved", None)]
    assert by_account["second"] == [("posted", None)] * 4
    assert len([p for p in world.submissions({"learnpython"}) if p.author == "second_bot"]) == 4
    with sessions() as session:
        assert session.get(SubredditPause, ("bot", "learnpython")).paused_until > clock()
        assert session.get(SubredditPause, ("second", "learnpython")) is None
    assert len(submit_writes(sandbox)) == 3 + 4


def test_a_post_between_403s_starts_the_count_again(world, sandbox, gateway, sessions, clock):
    hourly = OriginalPostSettings(enabled=True, every_hours=1, max_per_day=24)
    topics = ["photos", "backups", "invoices", "playlists", "recipes", "receipts"]
    texts = [f"Title: How do you sort your {t}?\nBody: I script my {t} by date." for t in topics]
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(*texts), posting=hourly)
    for hour in range(6):
        if hour != 2:  # the third post gets through, the others are refused
            sandbox.faults.add("/api/submit", status=403)
        stage.run_once()
        with sessions() as session:
            paused = session.get(SubredditPause, ("bot", "learnpython")).paused_until
        assert (paused is not None) == (hour == 5), (hour, [j.reason for j in jobs(sessions)])
        clock.advance(3600)
    assert [j.reason for j in jobs(sessions)] == ["forbidden"] * 2 + [None] + ["forbidden"] * 3


def test_an_unknown_outcome_leaves_the_job_in_posting(world, sandbox, gateway, sessions, clock):
    sandbox.faults.add("/api/submit", drop=True)
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN))
    stage.run_once()
    assert jobs(sessions)[0].status == "posting" and len(submit_writes(sandbox)) == 1
    with sessions() as session:
        assert session.scalars(select(Event.kind)).all() == ["submit_interrupted"]


# ---------------------------------------------------------------------- pure parts


def test_parse_post_reads_labelled_and_unlabelled_output() -> None:
    assert parse_post(CLEAN) == (TITLE, BODY)
    assert parse_post(f"**Title:** {TITLE}\n\n**Body:**\n{BODY}") == (TITLE, BODY)
    assert parse_post(f"{TITLE}\n{BODY}") == (TITLE, BODY)
    assert parse_post(f"{CLEAN}\nTitle: another one\nBody: more") == (TITLE, BODY)
    assert parse_post("  \n") is None


def test_title_problems() -> None:
    posting = OriginalPostSettings(title_max_chars=20, min_body_chars=5)
    assert title_problems("Fine title", "a body", posting) == []
    assert title_problems("x" * 21, "a body", posting) == ["title:length:21>20"]
    assert title_problems("ask u/spez", "body!", posting) == ["title:ping"]
    assert title_problems("WHY IS THIS BROKEN", "hm", posting) == [
        "title:shouting",
        "body:length:2<5",
    ]


def test_slots_every_n_hours_and_at_fixed_times() -> None:
    now = datetime(2026, 6, 1, 13, 59, tzinfo=UTC)
    assert latest_slot(EVERY_6H, now) == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    daily = OriginalPostSettings(enabled=True, times=["18:30", "09:00"])
    assert latest_slot(daily, now) == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    early = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert latest_slot(daily, early) == datetime(2026, 5, 31, 18, 30, tzinfo=UTC)
    assert latest_slot(OriginalPostSettings(), now) is None


def test_jitter_is_stable_per_slot_and_delays_the_post(world, gateway, sessions, clock) -> None:
    assert jitter("bot", "learnpython", "2026-06-01T12:00", 30) == jitter(
        "bot", "learnpython", "2026-06-01T12:00", 30
    )
    assert timedelta() <= jitter("bot", "x", "2026-06-01T12:00", 30) < timedelta(minutes=30)
    jittered = OriginalPostSettings(enabled=True, every_hours=6, jitter_minutes=120)
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN), posting=jittered)
    stage.run_once()
    [job] = jobs(sessions)
    slot = latest_slot(jittered, clock())
    assert job.not_before == slot + jitter("bot", "learnpython", job.slot, 120)
    assert job.status == ("queued" if job.not_before > clock() else "posted")


def test_max_per_day_caps_the_slots(world, gateway, sessions, clock) -> None:
    hourly = OriginalPostSettings(enabled=True, every_hours=1, max_per_day=2)
    topics = ["decorators", "generators", "typing", "asyncio", "packaging", "testing"]
    texts = [
        f"Title: How do you learn {t}?\nBody: Tell me how {t} finally clicked for you."
        for t in topics
    ]
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(*texts), posting=hourly)
    for _ in range(30):  # from 22:13 on one day to 04:13 two days later
        stage.run_once()
        clock.advance(3600)
    per_day: dict[str, int] = {}
    for job in jobs(sessions):
        per_day[job.slot[:10]] = per_day.get(job.slot[:10], 0) + 1
    assert list(per_day.values()) == [2, 2, 2]
    assert len(bot_posts(world)) == 6


def test_settings_need_one_schedule_and_valid_times() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        OriginalPostSettings(enabled=True)
    with pytest.raises(ValueError, match="exactly one"):
        OriginalPostSettings(enabled=True, every_hours=2, times=["09:00"])
    with pytest.raises(ValueError, match="HH:MM"):
        OriginalPostSettings(enabled=True, times=["9am"])
    with pytest.raises(ValueError, match="extra"):
        OriginalPostSettings(enabled=True, every_hours=2, colour="red")
    assert posting_for(config(), "learnpython") == OriginalPostSettings()


def test_a_post_created_after_another_instance_finished_the_job_is_deleted_not_lost(
    world, sandbox, gateway, sessions, clock
) -> None:
    """Two senders raced: the later post is recorded as a duplicate and deleted; recording
    never fails (no posted → posted)."""
    stage = make_stage(gateway, sessions, clock, ScriptedGenerator(CLEAN))
    stage.run_once()
    [job] = jobs(sessions)
    [kept] = bot_posts(world)
    extra = gateway.submit("learnpython", job.title, job.body)  # the other sender's, in flight
    stage.sender._record(job, extra, reconciled=False)
    assert [p.fullname for p in bot_posts(world) if not p.deleted] == [kept.fullname]
    with sessions() as session:
        events = session.scalars(select(Event).where(Event.kind == "duplicate_deleted")).all()
    assert [e.data["submission"] for e in events] == [extra.fullname]
    [job] = jobs(sessions)
    assert (job.status, job.submission_fullname) == ("posted", kept.fullname)


class FailingGenerator:
    """Writes the first request's post and fails the others with ``error`` (partly, when
    ``partial``), as a model that runs out of memory mid-batch does."""

    def __init__(self, error: Exception, partial: bool = False) -> None:
        self.error, self.partial = error, partial

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        if not self.partial:
            raise self.error
        made = [ScriptedGenerator._one(requests[0], CLEAN)]
        raise PartialGenerationError(made, {r.key: self.error for r in requests[1:]})


def queued_posts(sessions, clock, count: int) -> list[int]:
    with sessions.begin() as session:
        rows = [PostJob(account="bot", subreddit="learnpython", slot=f"2026-01-0{i + 1}T00:00",
                        verdict={}, created_at=clock(), updated_at=clock())
                for i in range(count)]  # fmt: skip
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


@pytest.mark.parametrize(
    ("error", "partial", "handled", "after"),
    [
        (RuntimeError("CUDA out of memory"), True, 1,
         [("drafted", None, 1), ("queued", "generation_error:RuntimeError", 1)]),
        (RuntimeError("CUDA out of memory"), False, 0,
         [("queued", "generation_error:RuntimeError", 1)] * 2),
    ],
)  # fmt: skip
def test_a_failed_generation_keeps_what_was_written_and_retries_the_rest(
    world, gateway, sessions, clock, error, partial, handled, after
) -> None:
    writer = make_stage(gateway, sessions, clock, FailingGenerator(error, partial)).parts[1]
    queued_posts(sessions, clock, 2)
    assert writer.run_once() == handled
    assert [(j.status, j.reason, j.generations) for j in jobs(sessions)] == after


def test_a_missing_model_is_not_the_post_jobs_fault(world, gateway, sessions, clock) -> None:
    writer = make_stage(gateway, sessions, clock, FailingGenerator(ConfigError("no model"))).parts[
        1
    ]
    queued_posts(sessions, clock, 2)
    with pytest.raises(ConfigError, match="no model"):
        writer.run_once()
    assert [(j.status, j.reason, j.generations) for j in jobs(sessions)] == [
        ("queued", None, 0)
    ] * 2
