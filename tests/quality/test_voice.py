"""Assistant-speak: found, penalised in reranking, and kept from being chosen by the hard filter."""

from __future__ import annotations

import pytest

from redditbot.domain import Decision
from redditbot.quality import QualitySettings, QualityWeights, rerank_candidates
from redditbot.quality.voice import assistant_phrases, length_budget
from tests.quality.conftest import BREAD, Judged
from tests.quality.test_rerank import ON_TOPIC, verdict

ASSISTANT_SPEAK = [
    "I'm sorry for any misunderstanding. I'd be more than happy to clarify.",  # from make demo
    "Here's a summary of the original message. dear user",
    "I'd be happy to help you with your bread!",
    "As an AI, I cannot taste bread.",
    "Great question! Yeast is a living thing.",
    "Great questions, one has to be cautious about what you say.",  # make demo, after #15
    "Old yeast dies. I hope this helps!",
]
REDDIT = [
    "lol same, mine did that too",
    "pretty sure it's in the app settings somewhere",
    "Ahh so it's not just me who forgets the salt",
    "Sorry to hear that, old yeast is usually the culprit.",  # sympathy, not an apology
    "Proof it in warm water first. No foam, no bread.",
]


@pytest.mark.parametrize("text", ASSISTANT_SPEAK)
def test_assistant_speak_is_found(text):
    assert assistant_phrases(text)


@pytest.mark.parametrize("text", REDDIT)
def test_what_redditors_write_is_not_assistant_speak(text):
    assert assistant_phrases(text) == []


def scored_only_by_relevance(**extra) -> QualitySettings:
    weights = QualityWeights(target=1, thread=0, fluency=0, length=0, **extra)
    return QualitySettings(weights=weights, **{"assistant_speak_filter": False})


def test_the_penalty_lowers_the_score_of_assistant_speak(fake_embedder):
    apologetic = "I'm sorry for any confusion: " + ON_TOPIC
    candidates = [Judged(t, verdict(Decision.APPROVE), -1.0) for t in (apologetic, ON_TOPIC)]

    plain = rerank_candidates(
        BREAD, candidates, settings=scored_only_by_relevance(assistant_speak=0.0),
        embedder=fake_embedder,
    )  # fmt: skip
    penalised = rerank_candidates(
        BREAD, candidates, settings=scored_only_by_relevance(assistant_speak=0.5),
        embedder=fake_embedder,
    )  # fmt: skip

    assert penalised.scores[0].assistant_speak == ("I'm sorry",)
    assert penalised.scores[0].score == pytest.approx(plain.scores[0].score - 0.5, abs=1e-3)
    assert penalised.scores[1].score == plain.scores[1].score
    assert penalised.best_index == 1


def test_hard_filter_never_chooses_assistant_speak_over_a_clean_reply(fake_embedder):
    # The assistant-speak copies the comment (more relevant) and no penalty weight is set:
    # only the filter keeps it out.
    copying = "I'd be happy to help! " + BREAD.target_body
    candidates = [
        Judged(copying, verdict(Decision.APPROVE), -0.1),
        Judged("Buy new yeast.", verdict(Decision.APPROVE), -3.0),
    ]
    weights = QualityWeights(target=1, thread=0, fluency=0, length=0, assistant_speak=0)

    off = rerank_candidates(
        BREAD, candidates, settings=QualitySettings(weights=weights, assistant_speak_filter=False),
        embedder=fake_embedder,
    )  # fmt: skip
    on = rerank_candidates(
        BREAD, candidates, settings=QualitySettings(weights=weights), embedder=fake_embedder
    )

    assert off.best_index == 0 and not off.filtered
    assert on.best_index == 1 and not on.filtered


def test_hard_filter_flags_a_choice_where_every_candidate_is_assistant_speak(fake_embedder):
    candidates = [Judged(text, verdict(Decision.APPROVE), -1.0) for text in ASSISTANT_SPEAK[:2]]

    result = rerank_candidates(
        BREAD, candidates, settings=QualitySettings(), embedder=fake_embedder
    )
    unfiltered = rerank_candidates(
        BREAD, candidates, settings=QualitySettings(assistant_speak_filter=False),
        embedder=fake_embedder,
    )  # fmt: skip

    assert result.filtered
    assert not unfiltered.filtered


def test_operators_add_their_own_phrases(fake_embedder):
    candidates = [Judged("Beep boop, new yeast.", verdict(Decision.APPROVE), -1.0)]
    settings = QualitySettings(assistant_speak_phrases=[r"\bbeep boop\b"])

    result = rerank_candidates(BREAD, candidates, settings=settings, embedder=fake_embedder)

    assert result.filtered and result.scores[0].assistant_speak == ("Beep boop",)


def test_a_bad_phrase_pattern_is_a_clear_settings_error():
    with pytest.raises(ValueError, match="assistant_speak_phrases"):
        QualitySettings(assistant_speak_phrases=["(unclosed"])


def test_length_budget_follows_the_subreddits_human_replies():
    short = [40, 52, 60, 68, 75, 80, 90, 120, 150, 300]
    long = [n * 10 for n in short]

    assert length_budget(short[:4]) is None  # too few to say anything
    assert length_budget(short) == 86  # the 90th percentile, 300 chars, at 3.5 chars a token
    assert length_budget(long) > length_budget(short)
    assert length_budget([5] * 10) == 24  # never below the floor
