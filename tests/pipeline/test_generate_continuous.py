"""The generate stage fed continuously: jobs claimed while others generate, each draft stored as
soon as it is done, the store still the queue (same claims, leases and state transitions).

The fake generators here block on events, so what is in flight when is decided by the test, not
by thread timing; the last test runs the real default model through the stage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from redditbot.config import Settings
from redditbot.domain import Candidate, Comment, Generation, GenerationRequest, Submission
from redditbot.errors import ModelNotFoundError
from redditbot.pipeline.generate import GenerateStage
from redditbot.store import queries
from redditbot.store.models import GenerationRow, ReplyJob
from tests.promise import unavailable

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WAIT = 30  # seconds any event may take before the test gives up (never reached when it passes)


def store_thread(sessions, comments: int, subreddit: str = "learnpython") -> list[str]:
    """A post with ``comments`` questions under it; their fullnames."""
    post = Submission(id=f"p{subreddit}", subreddit=subreddit, author="op", title="Reading files",
                      selftext="How do I read a whole text file?", created_utc=1.0)  # fmt: skip
    items = [
        Comment(id=f"c{subreddit}{i}", subreddit=subreddit, link_id=f"t3_p{subreddit}",
                parent_id=f"t3_p{subreddit}", author=f"user{i}", created_utc=2.0 + i,
                body=f"Question {i}: is there something shorter than open() and read()?")
        for i in range(comments)
    ]  # fmt: skip
    with sessions.begin() as session:
        queries.upsert_items(session, [post, *items], account="bot", bot_username="helper_bot",
                             now=NOW)  # fmt: skip
    return [f"t1_{c.id}" for c in items]


def queue(sessions, target: str, trigger: str = "question", subreddit: str = "learnpython") -> int:
    with sessions.begin() as session:
        job = ReplyJob(account="bot", subreddit=subreddit, link_fullname=f"t3_p{subreddit}",
                       target_fullname=target, trigger=trigger, status="queued", created_at=NOW,
                       updated_at=NOW)  # fmt: skip
        session.add(job)
        session.flush()
        return job.id


def jobs(sessions) -> dict[int, ReplyJob]:
    with sessions() as session:
        return {job.id: job for job in session.scalars(select(ReplyJob))}


def generations(sessions) -> list[GenerationRow]:
    with sessions() as session:
        return list(session.scalars(select(GenerationRow).order_by(GenerationRow.id)))


def stage(sessions, generator, config: Settings | None = None, **options) -> GenerateStage:
    # one candidate per job: the row budgets below count a job as one row
    config = config or Settings(model={"candidates": 1}, subreddits=[{"name": "learnpython"}])
    return GenerateStage(sessions, config, generator, account="bot", owner="me",
                         clock=lambda: NOW, continuous=True, poll=0.02, **options)  # fmt: skip


def draft(request: GenerationRequest, text: str = "Use pathlib.") -> Generation:
    return Generation(key=request.key, model_id="fake", prompt=f"PROMPT {request.key}",
                      params={}, candidates=(Candidate(text, tokens_out=3),), tokens_in=9,
                      latency_s=0.1)  # fmt: skip


class GatedGenerator:
    """Each call waits until its job's gate is open (jobs without a gate answer at once), and
    records who was generating at the same time."""

    def __init__(self) -> None:
        self.gates: dict[str, threading.Event] = {}
        self.started: dict[str, threading.Event] = {}
        self.calls: list[list[str]] = []
        self.inside: set[str] = set()
        self.most_inside = 0
        self.lock = threading.Lock()

    def gate(self, job_id: int) -> threading.Event:
        return self.gates.setdefault(str(job_id), threading.Event())

    def has_started(self, job_id: int) -> threading.Event:
        return self.started.setdefault(str(job_id), threading.Event())

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        keys = [r.key for r in requests]
        with self.lock:
            self.calls.append(keys)
            self.inside |= set(keys)
            self.most_inside = max(self.most_inside, len(self.inside))
        for key in keys:
            self.has_started(int(key)).set()
        try:
            for key in keys:
                gate = self.gates.get(key)
                if gate is not None and not gate.wait(WAIT):
                    raise TimeoutError(f"job {key}'s gate never opened")
            return [draft(r) for r in requests]
        finally:
            with self.lock:
                self.inside -= set(keys)


def run_in_background(generate: GenerateStage) -> tuple[threading.Thread, list]:
    result: list = []
    runner = threading.Thread(target=lambda: result.append(generate.run_once()))
    runner.start()
    return runner, result


def test_a_job_queued_while_others_generate_is_drafted_before_they_finish(sessions) -> None:
    targets = store_thread(sessions, 4)
    ambient = [queue(sessions, t) for t in targets[:3]]
    generator = GatedGenerator()
    for job_id in ambient:  # the batch goes on until the test lets it end
        generator.gate(job_id)
    generate = stage(sessions, generator)
    runner, result = run_in_background(generate)
    assert all(generator.has_started(job_id).wait(WAIT) for job_id in ambient)

    mention = queue(sessions, targets[3], trigger="mention")  # arrives mid-batch
    generator.has_started(mention).wait(WAIT)
    deadline = time.monotonic() + WAIT
    while jobs(sessions)[mention].status != "drafted" and time.monotonic() < deadline:
        time.sleep(0.02)
    states = jobs(sessions)
    assert states[mention].status == "drafted"  # stored while the others are still generating
    assert [states[j].status for j in ambient] == ["generating"] * 3
    assert all(states[j].lease_owner == "me" for j in ambient)  # still ours, still leased

    for job_id in ambient:
        generator.gate(job_id).set()
    runner.join(WAIT)
    assert result == [4]
    states = jobs(sessions)
    assert all(states[j].status == "drafted" and states[j].lease_owner is None for j in states)
    assert [row.job_id for row in generations(sessions)][0] == mention
    assert sorted(row.job_id for row in generations(sessions)) == sorted([*ambient, mention])
    assert sorted(map(len, generator.calls)) == [1, 1, 1, 1]  # each job is its own call


def test_no_more_rows_are_in_flight_than_the_budget(sessions) -> None:
    targets = store_thread(sessions, 5)
    ids = [queue(sessions, t) for t in targets]
    generator = GatedGenerator()
    for job_id in ids:
        generator.gate(job_id)
    generate = stage(sessions, generator, rows=2)
    runner, result = run_in_background(generate)
    assert generator.has_started(ids[0]).wait(WAIT) and generator.has_started(ids[1]).wait(WAIT)
    time.sleep(0.2)  # ten looks at the queue: none may claim a third job
    assert generator.most_inside == 2 and not generator.has_started(ids[2]).is_set()
    assert [jobs(sessions)[j].status for j in ids].count("generating") == 2
    generator.gate(ids[0]).set()  # one place frees up: the next job takes it
    assert generator.has_started(ids[2]).wait(WAIT)
    for job_id in ids:
        generator.gate(job_id).set()
    runner.join(WAIT)
    assert result == [5] and generator.most_inside == 2
    assert {job.status for job in jobs(sessions).values()} == {"drafted"}


def test_one_place_takes_conversations_first_in_claim_order(sessions) -> None:
    targets = store_thread(sessions, 3)
    ambient = queue(sessions, targets[0])
    mention = queue(sessions, targets[1], trigger="mention")
    reply = queue(sessions, targets[2], trigger="reply_to_bot")
    generator = GatedGenerator()
    assert stage(sessions, generator, rows=1).run_once() == 3
    assert generator.calls == [[str(mention)], [str(reply)], [str(ambient)]]


class Failing(GatedGenerator):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def generate(self, requests):
        super().generate(requests)
        raise self.error


def test_a_failed_job_is_retried_at_the_next_run_not_in_the_same_one(sessions) -> None:
    [target] = store_thread(sessions, 1)
    job_id = queue(sessions, target)
    generator = Failing(RuntimeError("CUDA out of memory"))
    generate = stage(sessions, generator)
    for attempts, status in ((1, "queued"), (2, "queued"), (3, "failed")):
        assert generate.run_once() == 0
        job = jobs(sessions)[job_id]
        assert (job.attempts, job.status) == (attempts, status)
    assert len(generator.calls) == 3 and job.reason == "generation_error:RuntimeError"


def test_a_missing_model_stops_the_run_and_hands_every_job_back(sessions) -> None:
    targets = store_thread(sessions, 3)
    ids = [queue(sessions, t) for t in targets]
    generator = Failing(ModelNotFoundError("run `redditbot model pull`"))
    with pytest.raises(ModelNotFoundError):
        stage(sessions, generator, rows=2).run_once()
    assert len(generator.calls) == 2  # the first two; the run claimed nothing after the error
    states = jobs(sessions)
    assert [(states[j].status, states[j].attempts, states[j].lease_owner) for j in ids] == [
        ("queued", 0, None)
    ] * 3


def test_drain_claims_nothing_more_and_waits_for_what_is_in_flight(sessions) -> None:
    targets = store_thread(sessions, 2)
    first = queue(sessions, targets[0])
    generator = GatedGenerator()
    generator.gate(first)
    generate = stage(sessions, generator)
    runner, result = run_in_background(generate)
    assert generator.has_started(first).wait(WAIT)
    assert not generate.drain(timeout=0.05)  # still generating
    later = queue(sessions, targets[1])
    time.sleep(0.2)
    generator.gate(first).set()
    assert generate.drain(timeout=WAIT)
    runner.join(WAIT)
    assert result == [1]
    states = jobs(sessions)
    assert states[first].status == "drafted"
    assert (states[later].status, states[later].lease_owner) == ("queued", None)
    assert generate.run_once() == 0 and len(generator.calls) == 1


def test_a_lingering_run_claims_a_job_that_arrives_while_it_is_idle(sessions) -> None:
    targets = store_thread(sessions, 2)
    generator = GatedGenerator()
    generate = stage(sessions, generator)
    assert generate.run_once() == 0  # a one-off run (linger 0) ends at once when idle
    generate.linger = WAIT
    runner, result = run_in_background(generate)
    time.sleep(0.2)  # idle, looking at the queue
    late = queue(sessions, targets[0], trigger="mention")
    assert generator.has_started(late).wait(WAIT)  # claimed by the run already going
    deadline = time.monotonic() + WAIT
    while jobs(sessions)[late].status != "drafted" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert jobs(sessions)[late].status == "drafted" and runner.is_alive()
    assert generate.drain(timeout=WAIT)  # drain ends the lingering at once
    runner.join(5)
    assert not runner.is_alive() and result == [1]


def test_a_woken_run_looks_at_the_queue_at_once_idle_or_generating(sessions) -> None:
    """With a poll of half a minute, a run in progress claims a job as soon as it is woken
    (the scheduler wakes it when the selector queued work), and drain ends it at once."""
    targets = store_thread(sessions, 2)
    generator = GatedGenerator()
    generate = stage(sessions, generator, rows=2)
    generate.poll = generate.linger = WAIT
    runner, result = run_in_background(generate)
    time.sleep(0.2)  # idle: its next look at the queue is half a minute away
    first = queue(sessions, targets[0])
    generator.gate(first)  # stays in flight until the test opens it
    generate.wake()
    assert generator.has_started(first).wait(5)
    second = queue(sessions, targets[1])
    generate.wake()  # while the first is generating
    assert generator.has_started(second).wait(5)
    generator.gate(first).set()
    deadline = time.monotonic() + WAIT
    while jobs(sessions)[first].status != "drafted" and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    assert generate.drain(timeout=WAIT)
    runner.join(5)
    assert not runner.is_alive() and result == [2] and time.monotonic() - started < 5


def test_a_run_drained_while_a_job_is_in_flight_ends_when_that_job_does(sessions) -> None:
    """drain() while a job generates: the run finishes the job, then ends at once, not after
    its half-minute of lingering."""
    [target] = store_thread(sessions, 1)
    generator = GatedGenerator()
    generate = stage(sessions, generator)
    generate.poll = generate.linger = WAIT
    job = queue(sessions, target)
    generator.gate(job)
    runner, result = run_in_background(generate)
    assert generator.has_started(job).wait(5)
    assert generate.drain(timeout=0) is False  # still in flight
    generator.gate(job).set()
    runner.join(5)
    assert not runner.is_alive() and result == [1]
    assert jobs(sessions)[job].status == "drafted"


# --------------------------------------------------------------------------- the real model


@pytest.fixture
def default_model():
    """The real default model on one CPU thread (torch's setting is restored afterwards)."""
    import torch

    from redditbot.generation import transformers_backend as hf
    from redditbot.generation.model_store import default_model_dir, is_converted, locate_model
    from redditbot.generation.settings import ModelSettings

    settings = ModelSettings(device="cpu", threads=1)
    if not is_converted(default_model_dir(settings)):
        unavailable("the default model is not pulled (`redditbot model pull`)")
    threads = torch.get_num_threads()
    yield hf.load_model(locate_model("default", settings), settings)
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_a_mention_joins_a_running_batch_of_the_real_model_and_is_drafted_first(
    sqlite_sessions, default_model
) -> None:
    from redditbot.generation import transformers_backend as hf

    config = Settings(
        model={"device": "cpu", "batch_size": 8, "prompt_format": "chat", "temperature": 0.0,
               "max_new_tokens": 24, "candidates": 1},  # five jobs fit in the batch at once
        quality={"enabled": False},
        subreddits=[{"name": "learnpython"},
                    {"name": "askbot", "model": {"max_new_tokens": 3}}],  # the mention: short
    )  # fmt: skip
    sessions = sqlite_sessions
    ambient = [queue(sessions, t) for t in store_thread(sessions, 4)]
    [mention_target] = store_thread(sessions, 1, subreddit="askbot")
    mention: list[int] = []
    joined = threading.Event()

    def on_step(rows: int) -> None:  # called by whichever job drives the decoder, mid-batch
        if generator.decoder.steps != 2 or mention:
            return
        mention.append(queue(sessions, mention_target, trigger="mention", subreddit="askbot"))
        deadline = time.monotonic() + WAIT  # the next step waits for the stage to claim it
        while time.monotonic() < deadline and not joined.is_set():
            with generator.decoder._waiting_lock:
                if generator.decoder.waiting:
                    joined.set()
            time.sleep(0.01)

    generator = hf.TransformersGenerator(default_model, config.model, on_step=on_step)
    generate = GenerateStage(sessions, config, generator, account="bot", owner="me",
                             clock=lambda: NOW, continuous=True, poll=0.05)  # fmt: skip
    handled, deadline = 0, time.monotonic() + 600
    while handled < 5 and time.monotonic() < deadline:  # as the scheduler would run it
        handled += generate.run_once()
    assert joined.is_set(), "the mention was not claimed while the batch decoded"
    rows = generations(sessions)
    assert sorted(row.job_id for row in rows) == sorted([*ambient, *mention])
    assert rows[0].job_id == mention[0]  # its draft was stored before any of the batch's
    # the premise: the batch's rows were still decoding when the mention's 3 tokens were done
    assert all(row.tokens_out > 8 for row in rows[1:]), [row.tokens_out for row in rows]
    assert rows[0].tokens_out <= 3 and rows[0].output.strip()
    states = jobs(sessions)
    assert all(job.status == "drafted" and job.lease_owner is None for job in states.values())
