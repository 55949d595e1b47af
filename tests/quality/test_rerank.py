"""The reranker: moderation first, then relevance, fluency and length; every score returned."""

from __future__ import annotations

import json
import math

import pytest

from redditbot.domain import CheckResult, Decision, Verdict
from redditbot.quality import QualitySettings, QualityWeights, rerank_candidates
from redditbot.quality.rerank import fluency_of, length_fit, target_text, thread_text
from tests.quality.conftest import BREAD, Judged, judge

ON_TOPIC = (
    "A year-old packet of yeast kept warm is probably dead. Proof it first: warm water, a pinch "
    "of sugar, ten minutes. No foam means new yeast."
)
OFF_TOPIC = (
    "For a first marathon, taper for two weeks and keep your easy runs easy; race day is not "
    "the day to try new shoes."
)


def verdict(decision: Decision) -> Verdict:
    return Verdict(decision, (CheckResult("rules", decision is Decision.APPROVE),))


@pytest.mark.slow  # loads the real embedding model (once per run)
def test_passing_candidate_beats_a_more_relevant_rejected_one(real_embedder, moderator):
    leaky = ON_TOPIC + " Email me at baker.help@example.com and I will send my recipe."
    candidates = [
        judge(moderator, BREAD, leaky, -0.5),
        judge(moderator, BREAD, "Bread can be tricky, keep trying and it will work out.", -1.5),
    ]
    assert candidates[0].verdict.decision is Decision.REJECT  # personal data
    assert candidates[1].verdict.decision is Decision.APPROVE

    result = rerank_candidates(
        BREAD, candidates, settings=QualitySettings(), embedder=real_embedder
    )

    rejected, passing = result.scores
    assert rejected.relevance_target > passing.relevance_target  # more relevant, still loses
    assert rejected.score > passing.score
    assert result.best_index == 1
    assert (rejected.chosen, passing.chosen) == (False, True)
    assert (rejected.decision, passing.decision) == ("reject", "approve")


@pytest.mark.slow
def test_on_topic_reply_is_chosen_over_off_topic_one(real_embedder, moderator):
    candidates = [judge(moderator, BREAD, t, -1.0) for t in (OFF_TOPIC, ON_TOPIC)]

    result = rerank_candidates(
        BREAD, candidates, settings=QualitySettings(), embedder=real_embedder
    )

    off, on = result.scores
    assert on.relevance_target > off.relevance_target + 0.2
    assert on.relevance_thread > off.relevance_thread
    assert result.best_index == 1


def test_review_beats_reject_and_approve_beats_review(fake_embedder):
    candidates = [
        Judged(ON_TOPIC, verdict(Decision.REJECT), -0.1),
        Judged(ON_TOPIC + " yeast", verdict(Decision.REVIEW), -0.2),
        Judged("ok", verdict(Decision.APPROVE), -3.0),
    ]
    settings = QualitySettings()

    assert (
        rerank_candidates(BREAD, candidates, settings=settings, embedder=fake_embedder).best_index
        == 2
    )
    assert (
        rerank_candidates(
            BREAD, candidates[:2], settings=settings, embedder=fake_embedder
        ).best_index
        == 1
    )


def test_score_is_the_weighted_sum_of_its_parts(fake_embedder):
    weights = QualityWeights(target=0.5, thread=0.1, fluency=0.3, length=0.1)
    settings = QualitySettings(weights=weights, target_chars=100)
    candidate = Judged(ON_TOPIC, verdict(Decision.APPROVE), -1.2)

    (score,) = rerank_candidates(
        BREAD, [candidate], settings=settings, embedder=fake_embedder
    ).scores

    expected = (
        0.5 * score.relevance_target + 0.1 * score.relevance_thread
        + 0.3 * math.exp(-1.2) + 0.1 * (100 / len(ON_TOPIC))
    )  # fmt: skip
    assert score.fluency == pytest.approx(math.exp(-1.2), abs=1e-4)
    assert score.length_fit == pytest.approx(100 / len(ON_TOPIC), abs=1e-4)
    assert score.score == pytest.approx(expected, abs=1e-3)
    assert score.chars == len(ON_TOPIC)
    assert fake_embedder.calls == [[target_text(BREAD), thread_text(BREAD), ON_TOPIC]]


def test_length_weight_alone_picks_the_length_closest_to_the_subreddit_target(fake_embedder):
    settings = QualitySettings(
        weights=QualityWeights(target=0, thread=0, fluency=0, length=1),
        target_chars=500,
        subreddit_target_chars={"r/cooking": 40},
    )
    texts = ["Yes.", "Probably dead yeast; proof it in warm water.", ON_TOPIC * 3]
    candidates = [Judged(t, verdict(Decision.APPROVE), -1.0) for t in texts]

    result = rerank_candidates(BREAD, candidates, settings=settings, embedder=fake_embedder)

    assert result.best_index == 1


def test_disabled_keeps_the_most_fluent_passing_candidate_without_embeddings(fake_embedder):
    candidates = [
        Judged(ON_TOPIC, verdict(Decision.APPROVE), -2.0),
        Judged(OFF_TOPIC, verdict(Decision.APPROVE), -0.7),
        Judged("no", verdict(Decision.REJECT), -0.1),
    ]

    result = rerank_candidates(
        BREAD, candidates, settings=QualitySettings(enabled=False), embedder=fake_embedder
    )

    assert result.best_index == 1
    assert fake_embedder.calls == []
    assert result.scores[1].relevance_target is None
    assert result.scores[1].score == pytest.approx(math.exp(-0.7), abs=1e-4)


def test_every_score_is_returned_ready_to_store_with_its_candidate(fake_embedder):
    stored = [
        {"text": ON_TOPIC, "tokens_out": 40, "mean_logprob": -1.1, "finish_reason": "stop"},
        {"text": OFF_TOPIC, "tokens_out": 30, "mean_logprob": None, "finish_reason": "length"},
    ]
    candidates = [Judged(c["text"], verdict(Decision.APPROVE), c["mean_logprob"]) for c in stored]

    result = rerank_candidates(
        BREAD, candidates, settings=QualitySettings(), embedder=fake_embedder
    )
    merged = json.loads(json.dumps(result.stored_candidates(stored)))

    assert [c["text"] for c in merged] == [ON_TOPIC, OFF_TOPIC]
    assert [c["quality"]["chosen"] for c in merged] == [True, False]
    assert merged[1]["quality"]["fluency"] == 0.0  # no log-probability from the backend
    assert set(merged[0]["quality"]) == {
        "decision", "score", "relevance_target", "relevance_thread", "fluency", "length_fit",
        "chars", "chosen", "assistant_speak",
    }  # fmt: skip
    assert "quality" not in stored[0]  # the stage gets new dicts: SQLAlchemy sees the change


def test_fluency_and_length_fit_bounds():
    assert fluency_of(None) == 0.0
    assert fluency_of(0.0) == 1.0
    assert fluency_of(-math.log(2)) == pytest.approx(0.5)
    assert length_fit("", 100) == 0.0
    assert length_fit("x" * 50, 100) == 0.5
    assert length_fit("x" * 200, 100) == 0.5
    assert length_fit("x" * 100, 100) == 1.0


def test_no_candidates_is_a_bug(fake_embedder):
    with pytest.raises(ValueError, match="at least one"):
        rerank_candidates(BREAD, [], settings=QualitySettings(), embedder=fake_embedder)


def test_copying_the_comment_does_not_beat_answering_it(fake_embedder):
    """Above the cap, more similarity is an echo, not relevance (seen in the benchmark)."""
    echo = Judged(BREAD.target_body, verdict(Decision.APPROVE), -0.5)
    answer = Judged(ON_TOPIC, verdict(Decision.APPROVE), -0.4)  # a little more fluent
    weights = QualityWeights(target=1.0, thread=0.0, fluency=0.01, length=0.0)
    uncapped = QualitySettings(relevance_cap=1.0, weights=weights)
    first = rerank_candidates(BREAD, [echo, answer], settings=uncapped, embedder=fake_embedder)
    assert first.best_index == 0  # without the cap, the copy wins on relevance
    answer_relevance = first.scores[1].relevance_target
    assert 0 < answer_relevance < first.scores[0].relevance_target
    capped = uncapped.model_copy(update={"relevance_cap": answer_relevance})
    second = rerank_candidates(BREAD, [echo, answer], settings=capped, embedder=fake_embedder)
    assert second.best_index == 1
    assert second.scores[0].relevance_target == first.scores[0].relevance_target  # stored raw
