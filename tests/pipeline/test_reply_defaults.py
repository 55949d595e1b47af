"""The reply the daemon asks for by default: what the real-text measure chose (issue 15)."""

from __future__ import annotations

from redditbot.config import Settings
from redditbot.domain import ThreadContext
from redditbot.pipeline.drafting import reply_request

THREAD = ThreadContext(subreddit="funny", title="Ba Dum Tsss", target_author="a", target_body="hi")


def test_a_reply_is_chosen_from_four_candidates_by_default():
    # one candidate passed moderation 81 % of the time on real Reddit text, the best of four 100 %
    assert reply_request(Settings(), "k", THREAD).params.n == 4


def test_a_subreddits_length_budget_only_lowers_the_limit():
    settings = Settings()
    assert reply_request(settings, "k", THREAD, max_new_tokens=30).params.max_new_tokens == 30
    assert reply_request(settings, "k", THREAD, max_new_tokens=500).params.max_new_tokens == 96


def test_each_try_gets_new_candidate_seeds() -> None:
    """Candidate k of a try is seeded seed + k, so tries are n (the candidates) seeds apart."""
    assert [reply_request(Settings(), "k", THREAD, seed=5000, tries=t).params.seed
            for t in range(3)] == [5000, 5004, 5008]  # fmt: skip
    two = Settings(model={"candidates": 2})
    assert [reply_request(two, "k", THREAD, seed=7, tries=t).params.seed
            for t in range(3)] == [7, 9, 11]  # fmt: skip
    assert reply_request(Settings(), "k", THREAD).params.seed is None  # no seed: none is made up
