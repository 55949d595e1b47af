"""Disclosure by default: what the bot posts says a bot wrote it, and is stored as posted."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from redditbot.app import Bot
from redditbot.cli import main
from redditbot.config import Settings, load_settings
from redditbot.disclosure import DEFAULT_FOOTER, REDDIT_COMMENT_LIMIT, disclosed
from redditbot.domain import Draft, ThreadContext
from redditbot.errors import ConfigError
from redditbot.moderation import Moderator
from redditbot.moderation.output_gate import ReplyState
from redditbot.reddit.sandbox import DEMO_BOT
from redditbot.store.models import PostedReply, ReplyJob

from .conftest import reddit_settings

REPLY = "Try pathlib: Path('notes.txt').read_text() does it in one line."


def bot(sandbox, db_url: str, **settings) -> Bot:
    values = {"reddit": reddit_settings(sandbox).model_dump(), "database": {"url": db_url},
              "quality": {"enabled": False}, "subreddits": [{"name": "learnpython"}]}  # fmt: skip
    settings = Settings.model_validate(values | settings)
    return Bot(settings, gateway=None, generator=object(), own_lock=False)


def approve(sessions, clock, target: str) -> None:
    with sessions.begin() as session:
        session.add(ReplyJob(account=DEMO_BOT, target_fullname=target, subreddit="learnpython",
                             link_fullname=target, status="approved", reply_text=REPLY,
                             created_at=clock(), updated_at=clock()))  # fmt: skip


def post_with(the_bot: Bot, sessions, clock, world) -> tuple[str, PostedReply]:
    target = world.comments({"learnpython"})[0].fullname
    approve(sessions, clock, target)
    the_bot.stages = {}
    poster = the_bot.build_stages()["post"]
    poster.clock = clock
    assert poster.run_once() == 1
    [comment] = [c for c in world.replies_to(target) if c.author == DEMO_BOT]
    with sessions() as session:
        return comment.body, session.scalars(select(PostedReply)).one()


def test_a_reply_says_a_bot_wrote_it_by_default_and_is_stored_as_posted(
    world, sandbox, db_url, sessions, clock
) -> None:
    body, stored = post_with(bot(sandbox, db_url), sessions, clock, world)
    assert body == f"{REPLY}\n\n---\n{DEFAULT_FOOTER}"
    assert stored.body == body  # the history shows what Reddit got


def test_a_subreddit_rewords_the_footer(world, sandbox, db_url, sessions, clock) -> None:
    subs = [{"name": "learnpython", "footer": "^(beep: a bot answered.)"}]
    body, _ = post_with(bot(sandbox, db_url, subreddits=subs), sessions, clock, world)
    assert body.endswith("\n---\n^(beep: a bot answered.)")


def test_only_an_explicit_disclose_false_turns_it_off_and_is_warned_about(
    world, sandbox, db_url, sessions, clock, caplog
) -> None:
    subs = [{"name": "learnpython", "disclose": False}]
    the_bot = bot(sandbox, db_url, subreddits=subs)
    with caplog.at_level(logging.WARNING, logger="redditbot.app"):
        the_bot.prepare()
    assert any("disclose = false" in r.message and "r/learnpython" in r.message
               for r in caplog.records)  # fmt: skip
    body, stored = post_with(the_bot, sessions, clock, world)
    assert body == REPLY == stored.body
    the_bot.stop(grace=0)


def test_footer_is_appended_once_even_when_a_job_is_sent_again() -> None:
    once = disclosed("hello", DEFAULT_FOOTER)
    assert disclosed(once, DEFAULT_FOOTER) == once and disclosed("hello", "") == "hello"


def test_disclose_true_needs_a_footer() -> None:
    with pytest.raises(ValueError, match="say that the account is a bot"):
        Settings(footer="  ")
    assert Settings(disclose=False, footer="").footer_for("anything") == ""


def test_config_check_warns_about_disclose_false(tmp_path: Path, capsys) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('dry_run = true\n[[subreddits]]\nname = "test"\ndisclose = false\n')
    assert main(["--config", str(config), "config", "check", "--offline"]) == 0
    err = capsys.readouterr().err
    assert "warning: disclose = false" in err and "r/test" in err
    config.write_text('dry_run = true\n[[subreddits]]\nname = "test"\n')
    assert main(["--config", str(config), "config", "check", "--offline"]) == 0
    assert "disclose" not in capsys.readouterr().err


def test_the_longest_reply_plus_footer_must_fit_reddits_limit(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        '[[subreddits]]\nname = "test"\nmoderation = { shape = { max_chars = 9990 } }\n'
    )
    with pytest.raises(ConfigError, match=r"r/test: moderation.shape.max_chars \(9990\)"):
        load_settings(config)
    config.write_text("disclose = false\n[moderation.shape]\nmax_chars = 10000\n")
    assert load_settings(config).moderation.shape.max_chars == 10000


def test_moderation_counts_the_footer_against_reddits_limit() -> None:
    settings = Settings(moderation={"shape": {"max_chars": REDDIT_COMMENT_LIMIT},
                                    "toxicity": {"classifier": "wordlist"}})  # fmt: skip
    moderator = Moderator(settings.moderation)
    text = " ".join(f"word{i}" for i in range(2000))[: REDDIT_COMMENT_LIMIT - 10]
    draft = Draft(text, "test", ThreadContext("test", "a title"))
    bare = moderator.check_reply(draft, ReplyState())
    footed = moderator.check_reply(draft, ReplyState(footer=DEFAULT_FOOTER))
    assert not any(r.startswith("length:reddit_limit") for r in bare.reasons)
    assert any(r.startswith("length:reddit_limit") for r in footed.reasons)


def test_a_post_body_plus_footer_must_fit_reddits_selfpost_limit() -> None:
    from redditbot.pipeline.submit import title_problems
    from redditbot.posting_settings import OriginalPostSettings

    posting, body = OriginalPostSettings(), "x" * 39_990
    assert not any(p.startswith("body:reddit_limit") for p in title_problems("t", body, posting))
    assert "body:reddit_limit:40042>40000" in title_problems("t", body, posting, DEFAULT_FOOTER)
