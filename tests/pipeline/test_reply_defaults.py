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
