"""The generate and moderate stages with a recording fake generator (the model is beside the point
here: tests/generation runs the real one)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from redditbot.config import Settings
from redditbot.domain import Candidate, Comment, Generation, GenerationRequest, Submission
from redditbot.errors import ModelNotFoundError, PartialGenerationError, TransientError
from redditbot.moderation import Moderator
from redditbot.pipeline.generate import GenerateStage
from redditbot.pipeline.moderate import ModerateStage
from redditbot.store import queries
from redditbot.store.models import GenerationRow, ModerationVerdictRow, ReplyJob

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CLEAN = "Use pathlib: Path('notes.txt').read_text() returns the whole file as a string."
TOXIC = "Fuck off, this is a shit question and you are a shit person."


class ScriptedGenerator:
    """Answers each request with the next scripted list of (text, logprob) candidates."""

    def __init__(self, *scripts: list[tuple[str, float]], error: Exception | None = None) -> None:
        self.scripts, self.error = list(scripts), error
        self.requests: list[GenerationRequest] = []

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        self.requests += requests
        if self.error:
            raise self.error
        return [self._one(r, self.scripts.pop(0)) for r in requests]

    @staticmethod
    def _one(request: GenerationRequest, script: list[tuple[str, float]]) -> Generation:
        candidates = tuple(Candidate(text, tokens_out=len(text.split()), mean_logprob=lp)
                           for text, lp in script)  # fmt: skip
        return Generation(key=request.key, model_id="scripted", prompt=f"PROMPT {request.key}",
                          params={"temperature": request.params.temperature,
                                  "seed": request.params.seed},
                          candidates=candidates, tokens_in=42, latency_s=0.25)  # fmt: skip


def settings(review: bool = False) -> Settings:
    return Settings(
        moderation={"toxicity": {"classifier": "wordlist"}},
        subreddits=[{"name": "learnpython", "review": review, "persona": "You help with Python."}],
    )


@pytest.fixture
def job_id(sqlite_sessions) -> int:
    post = Submission(id="p1", subreddit="learnpython", author="op", title="Reading a file",
                      selftext="How do I read a whole text file?", created_utc=1.0)  # fmt: skip
    parent = Comment(id="c1", subreddit="learnpython", link_id="t3_p1", parent_id="t3_p1",
                     author="alice", body="Have you tried open()?", created_utc=2.0)  # fmt: skip
    target = Comment(
        id="c2",
        subreddit="learnpython",
        link_id="t3_p1",
        parent_id="t1_c1",
        author="op",
        body="Yes, but is there something shorter?",
        created_utc=3.0,
    )
    with sqlite_sessions.begin() as session:
        queries.upsert_items(session, [post, parent, target], account="bot",
                             bot_username="helper_bot", now=NOW)  # fmt: skip
        return queued_job(session, "t1_c2")


def queued_job(session, target: str) -> int:
    """A queued reply job for ``target`` in the thread the ``job_id`` fixture stores."""
    where = {"account": "bot", "subreddit": "learnpython", "link_fullname": "t3_p1"}
    job = ReplyJob(target_fullname=target, status="queued", created_at=NOW, updated_at=NOW, **where)
    session.add(job)
    session.flush()
    return job.id


def stages(sessions, generator, config: Settings, *, continuous: bool = False):
    moderator = Moderator(config.moderation_for("learnpython"))
    generate = GenerateStage(sessions, config, generator, account="bot", owner="me",
                             clock=lambda: NOW, continuous=continuous, poll=0.02)  # fmt: skip
    moderate = ModerateStage(sessions, config, account="bot", owner="me",
                             moderator_for=lambda _: moderator, clock=lambda: NOW)  # fmt: skip
    return generate, moderate


def job(sessions, job_id: int) -> ReplyJob:
    with sessions() as session:
        return session.get(ReplyJob, job_id)


@pytest.mark.parametrize("continuous", [False, True], ids=["fixed", "continuous"])
def test_a_clean_draft_is_approved_and_everything_is_recorded(
    sqlite_sessions, job_id, continuous
) -> None:
    generator = ScriptedGenerator([(CLEAN, -0.5)])
    generate, moderate = stages(sqlite_sessions, generator, settings(), continuous=continuous)
    assert generate.run_once() == 1
    [request] = generator.requests
    assert request.context.title == "Reading a file"
    assert [c.body for c in request.context.ancestors] == ["Have you tried open()?"]
    assert request.context.target_body == "Yes, but is there something shorter?"
    assert request.persona == "You help with Python."
    assert job(sqlite_sessions, job_id).status == "drafted"
    assert moderate.run_once() == 1
    done = job(sqlite_sessions, job_id)
    assert (done.status, done.reply_text) == ("approved", CLEAN)
    with sqlite_sessions() as session:
        generation = session.scalars(select(GenerationRow)).one()
        verdict = session.scalars(select(ModerationVerdictRow)).one()
    assert generation.prompt == f"PROMPT {job_id}" and generation.tokens_in == 42
    assert generation.latency_ms == 250.0 and generation.parameters["seed"] == job_id * 1000
    assert verdict.decision == "approve" and verdict.generation_id == generation.id


def test_a_draft_rejected_by_meaning_stores_its_category_and_score(sqlite_sessions, job_id):
    condescending = "Maybe take up knitting instead, reading files is clearly beyond you."
    generator = ScriptedGenerator([(condescending, -0.1)])
    generate, moderate = stages(sqlite_sessions, generator, settings())
    generate.run_once()
    moderate.run_once()
    assert job(sqlite_sessions, job_id).reason.startswith("regenerate:output:meaning:harassment:")
    with sqlite_sessions() as session:
        verdict = session.scalars(select(ModerationVerdictRow)).one()
    [check] = [c for c in verdict.checks if c["name"] == "meaning"]
    assert (check["category"], check["passed"]) == ("harassment", False)
    assert check["score"] >= 0.5 and verdict.reasons == [check["reason"]]


def test_a_rejected_draft_is_regenerated_with_a_new_seed(sqlite_sessions, job_id) -> None:
    generator = ScriptedGenerator([(TOXIC, -0.1)], [(CLEAN, -0.9)])
    generate, moderate = stages(sqlite_sessions, generator, settings())
    generate.run_once()
    moderate.run_once()
    first = job(sqlite_sessions, job_id)
    assert first.status == "queued" and first.reason.startswith("regenerate:output:")
    generate.run_once()
    moderate.run_once()
    assert job(sqlite_sessions, job_id).status == "approved"
    first_try, second_try = generator.requests
    n = first_try.params.n
    assert n > 1 and second_try.params.n == n
    # candidate k of a try is seeded seed + k: the second try's candidates are all new ones
    assert second_try.params.seed == first_try.params.seed + n == job_id * 1000 + n


def test_rejected_for_good_after_the_generation_budget(sqlite_sessions, job_id) -> None:
    generator = ScriptedGenerator(*([(TOXIC, -0.1)] for _ in range(3)))
    generate, moderate = stages(sqlite_sessions, generator, settings())
    for _ in range(3):
        generate.run_once()
        moderate.run_once()
    final = job(sqlite_sessions, job_id)
    assert final.status == "rejected" and final.reason.startswith("output:")
    assert generate.run_once() == 0


def test_the_passing_candidate_wins_over_a_more_confident_one(sqlite_sessions, job_id) -> None:
    generator = ScriptedGenerator([(TOXIC, -0.05), (CLEAN, -1.5)])
    generate, moderate = stages(sqlite_sessions, generator, settings())
    generate.run_once()
    moderate.run_once()
    assert job(sqlite_sessions, job_id).reply_text == CLEAN
    with sqlite_sessions() as session:
        decisions = sorted(session.scalars(select(ModerationVerdictRow.decision)))
    assert decisions == ["approve", "reject"]  # both candidates' verdicts are kept


def test_review_mode_holds_approved_replies(sqlite_sessions, job_id) -> None:
    generate, moderate = stages(sqlite_sessions, ScriptedGenerator([(CLEAN, -0.5)]),
                                settings(review=True))  # fmt: skip
    generate.run_once()
    moderate.run_once()
    assert job(sqlite_sessions, job_id).status == "pending_review"


def test_a_crashing_model_loses_no_job(sqlite_sessions, job_id) -> None:
    generator = ScriptedGenerator(error=RuntimeError("CUDA out of memory"))
    generate, _ = stages(sqlite_sessions, generator, settings())
    for expected in ("queued", "queued", "failed"):
        generate.run_once()
        assert job(sqlite_sessions, job_id).status == expected
    assert job(sqlite_sessions, job_id).reason == "generation_error:RuntimeError"


@pytest.mark.parametrize("continuous", [False, True], ids=["fixed", "continuous"])
def test_one_failed_request_keeps_the_other_drafts(sqlite_sessions, job_id, continuous) -> None:
    with sqlite_sessions.begin() as session:
        other_id = queued_job(session, "t1_c1")  # alice's comment, in the same thread

    class HalfFailing(ScriptedGenerator):
        def generate(self, requests):
            done = [self._one(r, [(CLEAN, -0.5)]) for r in requests if r.key == str(job_id)]
            raise PartialGenerationError(done, {str(other_id): TransientError("HTTP 503")})

    generate, _ = stages(sqlite_sessions, HalfFailing(), settings(), continuous=continuous)
    assert generate.run_once() == 1
    drafted, retried = job(sqlite_sessions, job_id), job(sqlite_sessions, other_id)
    assert drafted.status == "drafted"
    assert (retried.status, retried.attempts) == ("queued", 1)
    assert retried.reason == "generation_error:TransientError"
    with sqlite_sessions() as session:
        rows = session.scalars(select(GenerationRow)).all()
    assert [(row.job_id, row.output) for row in rows] == [(job_id, CLEAN)]


def test_a_missing_model_stops_the_stage_but_keeps_the_job(sqlite_sessions, job_id) -> None:
    generator = ScriptedGenerator(error=ModelNotFoundError("run `redditbot model pull`"))
    generate, _ = stages(sqlite_sessions, generator, settings())
    with pytest.raises(ModelNotFoundError):
        generate.run_once()
    kept = job(sqlite_sessions, job_id)
    assert (kept.status, kept.attempts) == ("queued", 0)


@pytest.mark.parametrize("continuous", [False, True], ids=["fixed", "continuous"])
def test_a_target_deleted_since_selection_is_skipped_not_drafted(
    sqlite_sessions, job_id, continuous
) -> None:
    with sqlite_sessions.begin() as session:
        from redditbot.store.models import CommentRow

        session.get(CommentRow, "t1_c2").deleted = True
    generator = ScriptedGenerator([(CLEAN, -0.5)])
    generate, _ = stages(sqlite_sessions, generator, settings(), continuous=continuous)
    assert generate.run_once() == 0
    assert generator.requests == []
    skipped = job(sqlite_sessions, job_id)
    assert (skipped.status, skipped.reason) == ("skipped", "target_deleted")


class KeywordEmbedder:
    """A fake embedder: one dimension per keyword, so relevance is shared keywords."""

    WORDS = ("file", "read", "pathlib", "shorter", "cat", "weather")

    def embed(self, texts):
        vectors = [[float(w in t.lower()) for w in self.WORDS] for t in texts]
        return [[x / (sum(y * y for y in v) ** 0.5 or 1.0) for x in v] for v in vectors]


def test_the_relevant_candidate_wins_and_every_score_is_stored(sqlite_sessions, job_id) -> None:
    offtopic = "The weather is lovely today, I think I will walk the cat."
    generator = ScriptedGenerator([(offtopic, -0.2), (CLEAN, -1.0)])
    generate, _ = stages(sqlite_sessions, generator, settings())
    moderate = ModerateStage(sqlite_sessions, settings(), account="bot", owner="me",
                             moderator_for=lambda _: Moderator(settings().moderation),
                             embedder=KeywordEmbedder(), clock=lambda: NOW)  # fmt: skip
    generate.run_once()
    moderate.run_once()
    assert job(sqlite_sessions, job_id).reply_text == CLEAN
    with sqlite_sessions() as session:
        stored = session.scalars(select(GenerationRow)).one().candidates
    assert [c["quality"]["chosen"] for c in stored] == [False, True]
    assert stored[1]["quality"]["relevance_thread"] > stored[0]["quality"]["relevance_thread"]


def test_requests_carry_few_shot_examples_from_other_stored_threads(sqlite_sessions, job_id):
    other = Submission(id="p2", subreddit="learnpython", author="op2", title="Sorting a dict",
                       created_utc=1.0)  # fmt: skip
    answer = Comment(id="c9", subreddit="learnpython", link_id="t3_p2", parent_id="t3_p2",
                     author="bob", body="sorted(d.items()) gives the pairs in order.",
                     created_utc=2.0, score=12)  # fmt: skip
    with sqlite_sessions.begin() as session:
        queries.upsert_items(session, [other, answer], account="bot",
                             bot_username="helper_bot", now=NOW)  # fmt: skip
    generator = ScriptedGenerator([(CLEAN, -1.0)])
    generate, _ = stages(sqlite_sessions, generator, settings())
    generate.run_once()
    (request,) = generator.requests
    # the job's own thread (t3_p1) is never an example; the other thread's reply is
    assert [(ctx.title, reply) for ctx, reply in request.few_shot] == [
        ("Sorting a dict", "sorted(d.items()) gives the pairs in order.")
    ]


def test_moderation_counts_the_disclosure_footer_against_reddits_limit(
    sqlite_sessions, job_id
) -> None:
    config = Settings(moderation={"toxicity": {"classifier": "wordlist"},
                                  "shape": {"max_chars": 10_000}},
                      subreddits=[{"name": "learnpython"}])  # fmt: skip
    long = " ".join(f"word{i}" for i in range(2000))[:9_990]  # fits alone, not with the footer
    generate, moderate = stages(sqlite_sessions, ScriptedGenerator([(long, -0.5)]), config)
    generate.run_once()
    moderate.run_once()
    with sqlite_sessions() as session:
        verdict = session.scalars(select(ModerationVerdictRow)).one()
    assert any(reason.startswith("length:reddit_limit:") for reason in verdict.reasons)


APOLOGY = "I'm sorry for any misunderstanding. I'd be happy to help you read the file."


def test_assistant_speak_is_never_posted_but_generated_again(sqlite_sessions, job_id) -> None:
    generator = ScriptedGenerator([(APOLOGY, -0.1)], [(APOLOGY, -0.2), (CLEAN, -1.5)])
    generate, moderate = stages(sqlite_sessions, generator, settings())
    generate.run_once()
    moderate.run_once()
    first = job(sqlite_sessions, job_id)
    assert (first.status, first.reason) == ("queued", "regenerate:output:assistant_speak")
    generate.run_once()
    moderate.run_once()
    done = job(sqlite_sessions, job_id)
    assert (done.status, done.reply_text) == ("approved", CLEAN)  # the clean one, though less sure


def test_assistant_speak_passes_when_the_hard_filter_is_off(sqlite_sessions, job_id) -> None:
    config = settings().model_copy(deep=True)
    config.quality.assistant_speak_filter = False
    generate, moderate = stages(sqlite_sessions, ScriptedGenerator([(APOLOGY, -0.1)]), config)
    generate.run_once()
    moderate.run_once()
    assert job(sqlite_sessions, job_id).status == "approved"


def test_the_reply_budget_comes_from_the_subreddits_stored_human_replies(
    sqlite_sessions, job_id
) -> None:
    with sqlite_sessions.begin() as session:  # ten people's replies of 70 characters
        comments = [
            Comment(id=f"h{i}", subreddit="learnpython", link_id="t3_p1", parent_id="t3_p1",
                    author=f"u{i}", body="x" * 70, created_utc=4.0 + i)
            for i in range(10)
        ]  # fmt: skip
        queries.upsert_items(session, comments, account="bot", bot_username="helper_bot", now=NOW)
    generator = ScriptedGenerator([(CLEAN, -0.5)])
    generate, _ = stages(sqlite_sessions, generator, settings())
    generate.run_once()
    assert generator.requests[0].params.max_new_tokens == 24  # 70 chars: the floor, not 96

    off = settings().model_copy(deep=True)
    off.quality.length_budget = False
    with sqlite_sessions.begin() as session:
        queued_job(session, "t1_h0")
    generator = ScriptedGenerator([(CLEAN, -0.5)])
    stages(sqlite_sessions, generator, off)[0].run_once()
    assert generator.requests[0].params.max_new_tokens == off.model.max_new_tokens


def test_mentions_and_replies_to_the_bot_are_drafted_before_ambient_jobs(
    sqlite_sessions, job_id
) -> None:
    with sqlite_sessions.begin() as session:  # queued after the ambient job ``job_id``
        session.get(ReplyJob, job_id).trigger = "question"
        for target, trigger in (("t1_c1", "mention"), ("t3_p1", "reply_to_bot")):
            session.get(ReplyJob, queued_job(session, target)).trigger = trigger
    generator = ScriptedGenerator(*[[(CLEAN, -0.5)]] * 2)
    generate, _ = stages(sqlite_sessions, generator, settings())
    generate.batch = 2
    generate.run_once()
    with sqlite_sessions() as session:
        triggers = [session.get(ReplyJob, int(r.key)).trigger for r in generator.requests]
    assert triggers == ["mention", "reply_to_bot"]
