"""The poster against the sandbox: exactly one reply per target, whatever Reddit does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from redditbot.domain import Status
from redditbot.pipeline.post import Poster, PosterLimits, PostPolicy
from redditbot.reddit.gateway import PrawGateway
from redditbot.reddit.sandbox import DEMO_BOT
from redditbot.store.models import Event, PostedReply, ReplyJob, SubredditPause
from tests.pipeline.conftest import expire_leases, reddit_settings

DEFAULT_POLICY = PostPolicy()
SECOND_BOT = "second_bot"
REPLY = "Try pathlib: Path('notes.txt').read_text() does it in one line."


def make_poster(gateway, sessions, clock, policy=DEFAULT_POLICY, owner="instance-1",
                in_flight=PosterLimits.in_flight, account="bot",
                username=DEMO_BOT) -> Poster:  # fmt: skip
    return Poster(gateway, sessions, account=account, bot_username=username, owner=owner,
                  policy=lambda _sub: policy, clock=clock,
                  limits=PosterLimits(lease=timedelta(minutes=5), in_flight=in_flight))  # fmt: skip


def approved_job(
    sessions, clock, target: str, subreddit: str = "learnpython", account: str = "bot"
) -> int:
    with sessions.begin() as session:
        job = ReplyJob(account=account, target_fullname=target, subreddit=subreddit,
                       link_fullname=target, status="approved", reply_text=REPLY,
                       created_at=clock(), updated_at=clock())  # fmt: skip
        session.add(job)
        session.flush()
        return job.id


def job_row(sessions, job_id: int) -> ReplyJob:
    with sessions() as session:
        return session.get(ReplyJob, job_id)


def bot_replies(world, target: str) -> list:
    return [c for c in world.replies_to(target) if c.author == DEMO_BOT and not c.deleted]


def comment_writes(sandbox) -> list:
    return [w for w in sandbox.writes.records if w.path.startswith("/api/comment")]


@pytest.fixture
def target(world) -> str:
    return world.comments({"learnpython"})[0].fullname


def test_posts_an_approved_reply_once(world, sandbox, gateway, sessions, clock, target) -> None:
    job_id = approved_job(sessions, clock, target)
    poster = make_poster(gateway, sessions, clock)
    assert poster.run_once() == 1
    assert poster.run_once() == 0  # nothing left: never twice
    [reply] = bot_replies(world, target)
    assert reply.body == REPLY
    assert len(comment_writes(sandbox)) == 1
    job = job_row(sessions, job_id)
    assert job.status == "posted" and job.attempts == 1
    with sessions() as session:
        history = session.execute(text("SELECT * FROM reply_history")).mappings().one()
    assert history["reply_fullname"] == reply.fullname and history["status"] == "posted"


def test_footer_says_the_account_is_a_bot(world, gateway, sessions, clock, target) -> None:
    approved_job(sessions, clock, target)
    make_poster(gateway, sessions, clock, PostPolicy(footer="I am a bot.")).run_once()
    [reply] = bot_replies(world, target)
    assert reply.body == f"{REPLY}\n\n---\nI am a bot."


def test_dry_run_makes_no_write_request(world, sandbox, gateway, sessions, clock, target) -> None:
    job_id = approved_job(sessions, clock, target)
    make_poster(gateway, sessions, clock, PostPolicy(dry_run=True)).run_once()
    assert sandbox.writes.records == []
    assert bot_replies(world, target) == []
    job = job_row(sessions, job_id)
    assert (job.status, job.reason) == ("skipped", "dry_run")
    with sessions() as session:
        recorded = session.scalars(select(PostedReply)).one()
    assert recorded.dry_run and recorded.body == REPLY and recorded.comment_fullname is None


def test_never_replies_to_its_own_comment(world, sandbox, gateway, sessions, clock) -> None:
    from redditbot.pipeline.listen import Listener

    thread = world.submissions({"learnpython"})[0].fullname
    own = "t1_" + world.add_comment(thread, DEMO_BOT, "an earlier reply of mine")
    Listener(gateway, sessions, account="bot", bot_username=DEMO_BOT, subreddits=["learnpython"],
             clock=clock).run_once()  # fmt: skip
    job_id = approved_job(sessions, clock, own)
    sandbox.writes.clear()
    make_poster(gateway, sessions, clock).run_once()
    assert comment_writes(sandbox) == []
    assert job_row(sessions, job_id).reason == "own_comment"


def test_ratelimit_delays_until_the_time_reddit_named(
    world, sandbox, gateway, sessions, clock, target
) -> None:
    job_id = approved_job(sessions, clock, target)
    sandbox.faults.add("/api/comment", api_error="RATELIMIT", ratelimit_seconds=540)
    poster = make_poster(gateway, sessions, clock)
    poster.run_once()
    job = job_row(sessions, job_id)
    assert (job.status, job.reason, job.attempts) == ("approved", "ratelimit", 0)
    assert (job.not_before - clock()).total_seconds() == pytest.approx(540, abs=60)
    clock.advance(300)
    poster.run_once()
    assert bot_replies(world, target) == []  # not yet
    clock.advance(300)
    poster.run_once()
    assert len(bot_replies(world, target)) == 1
    assert job_row(sessions, job_id).status == "posted"


@pytest.mark.parametrize(
    ("make_unavailable", "reason"),
    [("lock", "thread_locked"), ("delete", "deleted_comment"), ("archive", "too_old")],
)
def test_refusals_are_terminal_skips(
    world, gateway, sessions, clock, target, make_unavailable, reason
) -> None:
    getattr(world, make_unavailable)(target if make_unavailable != "archive" else
                                     world.get(target).link_id)  # fmt: skip
    job_id = approved_job(sessions, clock, target)
    make_poster(gateway, sessions, clock).run_once()
    job = job_row(sessions, job_id)
    assert (job.status, job.reason) == ("skipped", reason)
    assert bot_replies(world, target) == []


def refused_three_times(world, gateway, sessions, clock) -> tuple[Poster, list[str]]:
    """The bot banned in r/gardening, three replies there refused (403); the poster and four
    target comments there (the fourth not tried yet)."""
    world.ban(DEMO_BOT, "gardening")
    targets = [c.fullname for c in world.comments({"gardening"})[:4]]
    refused = [approved_job(sessions, clock, t, subreddit="gardening") for t in targets[:3]]
    poster = make_poster(gateway, sessions, clock)
    poster.run_once()
    assert [job_row(sessions, j).reason for j in refused] == ["forbidden"] * 3
    return poster, targets


def test_repeated_403_pauses_the_subreddit(world, sandbox, gateway, sessions, clock) -> None:
    poster, targets = refused_three_times(world, gateway, sessions, clock)
    with sessions() as session:
        pause = session.get(SubredditPause, ("bot", "gardening"))
        assert pause.paused_until is not None and "403" in pause.pause_reason
        event = session.scalars(select(Event).where(Event.kind == "subreddit_paused")).one()
        assert event.account == "bot" and "u/bot" in event.message
    held = approved_job(sessions, clock, targets[3], subreddit="gardening")
    sandbox.writes.clear()
    poster.run_once()
    assert comment_writes(sandbox) == [] and job_row(sessions, held).status == "approved"


def test_a_post_between_403s_starts_the_count_again(world, sandbox, gateway, sessions, clock):
    """Three 403s pause a subreddit only when they come in a row."""
    targets = [c.fullname for c in world.comments({"learnpython"})[:6]]
    poster = make_poster(gateway, sessions, clock)
    reasons = []
    for index, target in enumerate(targets):
        if index != 2:  # the third reply gets through, the others are refused
            sandbox.faults.add("/api/comment", status=403)
        job_id = approved_job(sessions, clock, target)
        poster.run_once()
        reasons.append(job_row(sessions, job_id).reason)
        with sessions() as session:
            paused = session.get(SubredditPause, ("bot", "learnpython")).paused_until
        assert (paused is not None) == (index == 5), (index, reasons)
    assert reasons == ["forbidden", "forbidden", None, "forbidden", "forbidden", "forbidden"]


@pytest.fixture
def second_poster(world, sandbox, sessions, clock) -> Poster:
    """A second bot account (its own Reddit user, its own sender), as ``[[accounts]]`` run."""
    world.add_user(SECOND_BOT, "second-password")
    gateway = PrawGateway(reddit_settings(sandbox, username=SECOND_BOT, password="second-password"))
    return make_poster(gateway, sessions, clock, account="second", username=SECOND_BOT)


def pauses(sessions, subreddit: str) -> dict[str, tuple[int, bool]]:
    """Each account's (403s in a row, paused) in ``subreddit``."""
    query = select(SubredditPause).where(SubredditPause.subreddit == subreddit)
    with sessions() as session:
        return {p.account: (p.forbidden_count, p.paused_until is not None)
                for p in session.scalars(query)}  # fmt: skip


def test_403s_pause_only_the_account_that_got_them(
    world, sandbox, gateway, sessions, clock, second_poster
) -> None:
    """One account banned in r/gardening stops posting there; the other account goes on."""
    poster, targets = refused_three_times(world, gateway, sessions, clock)
    held = approved_job(sessions, clock, targets[3], subreddit="gardening")
    other = approved_job(sessions, clock, targets[3], subreddit="gardening", account="second")
    sandbox.writes.clear()
    assert poster.run_once() == 0  # the banned account claims nothing in r/gardening
    assert second_poster.run_once() == 1
    assert job_row(sessions, held).status == "approved"
    assert job_row(sessions, other).status == "posted"
    assert [c.author for c in world.replies_to(targets[3])] == [SECOND_BOT]
    assert pauses(sessions, "gardening") == {"bot": (0, True)}
    assert len(comment_writes(sandbox)) == 1


def test_a_success_starts_only_its_own_accounts_count_again(
    world, sandbox, gateway, sessions, clock, second_poster
) -> None:
    """403s in a row are counted per account: a reply of one account getting through does not
    forgive the other's 403s."""
    targets = [c.fullname for c in world.comments({"learnpython"})[:4]]
    posters = {"bot": make_poster(gateway, sessions, clock), "second": second_poster}

    def attempt(account: str, target: str, refused: bool = True) -> str | None:
        if refused:
            sandbox.faults.add("/api/comment", status=403)
        job_id = approved_job(sessions, clock, target, account=account)
        posters[account].run_once()
        return job_row(sessions, job_id).reason

    for target in targets[:2]:
        assert (attempt("bot", target), attempt("second", target)) == ("forbidden", "forbidden")
    assert attempt("bot", targets[2], refused=False) is None  # posted
    assert pauses(sessions, "learnpython") == {"bot": (0, False), "second": (2, False)}
    assert attempt("second", targets[2]) == "forbidden"  # second's third in a row
    assert attempt("bot", targets[3]) == "forbidden"  # bot's first since its success
    assert pauses(sessions, "learnpython") == {"bot": (1, False), "second": (0, True)}


@pytest.mark.parametrize("fault", [{"drop": True}, {"status": 503}, {"status": 522}])
def test_lost_response_after_the_write_never_duplicates(
    world, sandbox, gateway, sessions, clock, target, fault
) -> None:
    """The comment is created but the answer is lost: reconcile, never send blindly again."""
    job_id = approved_job(sessions, clock, target)
    sandbox.faults.add("/api/comment", after_write=True, **fault)
    poster = make_poster(gateway, sessions, clock)
    poster.run_once()
    assert job_row(sessions, job_id).status == "posting"
    assert len(bot_replies(world, target)) == 1  # created once: prawcore did not retry the POST
    expire_leases(sessions)  # the lease runs out; reconciliation finds the comment
    poster.run_once()
    job = job_row(sessions, job_id)
    assert job.status == "posted"
    assert len(bot_replies(world, target)) == 1
    with sessions() as session:
        assert session.scalars(select(PostedReply)).one().reconciled


def test_an_interrupted_post_is_reconciled_after_the_in_flight_window_not_a_whole_lease(
    world, sandbox, gateway, sessions, clock, target
) -> None:
    """The sender's request is over once it failed: only a Reddit still working on it can
    create the comment now, for at most ``in_flight``; the rest of the lease protects nothing."""
    job_id = approved_job(sessions, clock, target)
    sandbox.faults.add("/api/comment", after_write=True, drop=True)
    make_poster(gateway, sessions, clock, in_flight=timedelta(hours=1)).run_once()
    make_poster(gateway, sessions, clock, in_flight=timedelta(hours=1)).run_once()
    assert job_row(sessions, job_id).status == "posting"  # inside the window: left alone
    make_poster(gateway, sessions, clock, in_flight=timedelta(0)).run_once()
    assert job_row(sessions, job_id).status == "posted"  # the 5-minute lease was not waited out
    assert len(bot_replies(world, target)) == 1


def test_failed_write_is_sent_again_after_reconciliation(
    world, sandbox, gateway, sessions, clock, target
) -> None:
    job_id = approved_job(sessions, clock, target)
    sandbox.faults.add("/api/comment", status=503)  # refused before the write
    poster = make_poster(gateway, sessions, clock)
    poster.run_once()
    assert bot_replies(world, target) == []
    expire_leases(sessions)
    poster.run_once()  # reconciles (nothing there) → approved → posted in the same run
    assert len(bot_replies(world, target)) == 1
    job = job_row(sessions, job_id)
    assert job.status == "posted" and job.attempts == 2


def test_crash_before_the_request_is_reconciled_at_startup(
    world, gateway, sessions, clock, target
) -> None:
    job_id = approved_job(sessions, clock, target)
    with sessions.begin() as session:  # the state a crash right after committing `posting` leaves
        job = session.get(ReplyJob, job_id)
        job.status, job.attempts = "posting", 1
        job.lease_owner, job.lease_expires_at = "dead-instance", clock() + timedelta(minutes=5)
    poster = make_poster(gateway, sessions, clock)
    poster.reconcile(stale_only=False)
    assert job_row(sessions, job_id).status == "approved"
    poster.run_once()
    assert len(bot_replies(world, target)) == 1


def test_crash_after_the_request_records_without_posting_again(
    world, sandbox, gateway, sessions, clock, target
) -> None:
    job_id = approved_job(sessions, clock, target)
    world.add_comment(target, DEMO_BOT, REPLY)  # posted, then the process died
    with sessions.begin() as session:
        session.get(ReplyJob, job_id).status = "posting"
    sandbox.writes.clear()
    make_poster(gateway, sessions, clock).reconcile(stale_only=False)
    assert comment_writes(sandbox) == []
    assert job_row(sessions, job_id).status == "posted"


def test_duplicates_found_while_reconciling_are_deleted(
    world, gateway, sessions, clock, target
) -> None:
    job_id = approved_job(sessions, clock, target)
    first = world.add_comment(target, DEMO_BOT, REPLY)
    world.add_comment(target, DEMO_BOT, REPLY)
    with sessions.begin() as session:
        session.get(ReplyJob, job_id).status = "posting"
    make_poster(gateway, sessions, clock).reconcile(stale_only=False)
    [kept] = bot_replies(world, target)
    assert kept.id == first
    with sessions() as session:
        assert session.scalars(select(Event).where(Event.kind == "duplicate_deleted")).one()


def test_another_instance_cannot_take_a_leased_job(world, gateway, sessions, clock, target):
    job_id = approved_job(sessions, clock, target)
    with sessions.begin() as session:
        from redditbot.store import queries

        claimed = queries.claim_jobs(session, account="bot", status=Status.APPROVED, owner="a",
                                     now=clock(), lease=timedelta(minutes=5), limit=10)  # fmt: skip
        assert [j.id for j in claimed] == [job_id]
    assert make_poster(gateway, sessions, clock, owner="b").run_once() == 0
    assert bot_replies(world, target) == []


def in_posting(sessions, job_id: int, attempts: int) -> None:
    """The state a crash (or a lost answer) leaves: `posting`, committed, lease gone."""
    with sessions.begin() as session:
        job = session.get(ReplyJob, job_id)
        job.status, job.attempts = "posting", attempts


def test_reconciliation_finds_a_reply_beyond_the_recent_listing(
    world, sandbox, gateway, sessions, clock, target
) -> None:
    """The reply is older than the account's 100 newest comments: found under the parent."""
    job_id = approved_job(sessions, clock, target)
    posted = "t1_" + world.add_comment(target, DEMO_BOT, REPLY)
    thread = world.submissions({"cooking"})[0].fullname
    for i in range(100):  # the account kept answering elsewhere
        world.add_comment(thread, DEMO_BOT, f"another answer {i}")
    assert posted not in [c.fullname for c in gateway.own_recent_comments()]
    in_posting(sessions, job_id, attempts=1)
    sandbox.writes.clear()
    make_poster(gateway, sessions, clock).reconcile(stale_only=False)
    assert comment_writes(sandbox) == []
    assert job_row(sessions, job_id).status == "posted"
    with sessions() as session:
        recorded = session.scalars(select(PostedReply)).one()
    assert (recorded.comment_fullname, recorded.reconciled) == (posted, True)


@pytest.mark.parametrize(
    ("attempts", "status", "reason"),
    [(4, "approved", "reconciled_not_posted"), (5, "failed", "post_attempts_exhausted")],
)
def test_reconciliation_gives_up_after_max_attempts(
    world, sandbox, gateway, sessions, clock, target, attempts, status, reason
) -> None:
    job_id = approved_job(sessions, clock, target)
    in_posting(sessions, job_id, attempts=attempts)  # PosterLimits.max_attempts is 5
    poster = make_poster(gateway, sessions, clock)
    poster.reconcile(stale_only=False)
    job = job_row(sessions, job_id)
    assert (job.status, job.reason) == (status, reason)
    poster.run_once()
    assert len(bot_replies(world, target)) == (1 if status == "approved" else 0)


def test_http_429_on_the_comment_delays_the_job(
    world, sandbox, gateway, sessions, clock, target
) -> None:
    """A 429 (not RATELIMIT): nothing was posted, so wait Reddit's retry-after and send again."""
    job_id = approved_job(sessions, clock, target)
    sandbox.faults.add("/api/comment", status=429, retry_after=120)
    poster = make_poster(gateway, sessions, clock)
    poster.run_once()
    job = job_row(sessions, job_id)
    assert (job.status, job.reason, job.attempts) == ("approved", "ratelimit", 0)
    assert (job.not_before - clock()).total_seconds() == pytest.approx(120, abs=1)
    clock.advance(60)
    poster.run_once()
    assert bot_replies(world, target) == []  # not before Reddit's time
    clock.advance(61)
    poster.run_once()
    assert len(bot_replies(world, target)) == 1 and job_row(sessions, job_id).status == "posted"
    assert [w.outcome for w in comment_writes(sandbox)] == ["fault:429", "created"]


def test_a_reply_created_after_another_instance_finished_the_job_is_deleted_not_lost(
    world, gateway, sessions, clock, target
) -> None:
    """Two senders raced (a lease judged on a wrong clock): the second comment Reddit created is
    recorded as a duplicate and deleted; recording never fails (no posted → posted)."""
    job_id = approved_job(sessions, clock, target)
    first, late = (
        make_poster(gateway, sessions, clock),
        make_poster(gateway, sessions, clock, owner="b"),
    )
    job = job_row(sessions, job_id)
    kept = gateway.reply(target, REPLY)
    first._record(job, kept, REPLY, reconciled=False)  # the other instance finished it
    extra = gateway.reply(target, REPLY)  # ours was in flight meanwhile
    late._record(job, extra, REPLY, reconciled=False)
    assert [c.fullname for c in bot_replies(world, target)] == [kept.fullname]
    with sessions() as session:
        assert session.scalars(select(PostedReply.comment_fullname)).all() == [kept.fullname]
        events = session.scalars(select(Event).where(Event.kind == "duplicate_deleted")).all()
    assert [e.data["comment"] for e in events] == [extra.fullname]
    assert "already posted by another instance" in events[0].message
    assert job_row(sessions, job_id).status == "posted"


def test_a_reply_created_after_another_instance_sent_the_job_back_is_recorded(
    world, gateway, sessions, clock, target
) -> None:
    """The other instance found no comment yet and sent the job back to approved: ours exists,
    so it is recorded and the job is not sent again."""
    job_id = approved_job(sessions, clock, target)
    poster = make_poster(gateway, sessions, clock)
    created = gateway.reply(target, REPLY)
    poster._record(job_row(sessions, job_id), created, REPLY, reconciled=False)
    assert job_row(sessions, job_id).status == "posted"
    assert make_poster(gateway, sessions, clock, owner="b").run_once() == 0
    assert [c.fullname for c in bot_replies(world, target)] == [created.fullname]
