"""`redditbot sandbox`, the README's main job, driven through the CLI (model: the fake server)."""

from __future__ import annotations

import io

from redditbot import cli
from redditbot.config import Settings
from redditbot.demo import PERSONAS, demo_settings


def test_the_demo_posts_replies_and_prints_the_history(tmp_path, fake_openai, monkeypatch):
    config = tmp_path / "bot.toml"
    config.write_text(f"""
[model]
backend = "openai"
base_url = "{fake_openai.url}"
name = "fake-model"
[moderation.toxicity]
classifier = "wordlist"
""")
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--config", str(config), "sandbox", "--duration", "60", "--replies", "2",
                     "--db", str(tmp_path / "demo.db")], out=out, err=err)  # fmt: skip
    text = out.getvalue()
    assert code == 0, text + err.getvalue()
    assert "Reply history" in text and "| posted " in text
    posted = int(text.strip().splitlines()[-1].split()[0])
    assert posted >= 2
    assert f"the sandbox saw {posted} comment requests" in text  # one request per reply


def test_demo_keeps_configured_subreddits_only_when_the_sandbox_has_them() -> None:
    mine = Settings(subreddits=[{"name": "learnpython", "persona": "mine"}, {"name": "nowhere"}])
    kept = demo_settings(mine, "http://x", "sqlite://", {"learnpython", "cooking"})
    assert [(s.name, s.persona) for s in kept.subreddits] == [("learnpython", "mine")]
    foreign = Settings(subreddits=[{"name": "nowhere"}])
    fallback = demo_settings(foreign, "http://x", "sqlite://", {n.lower() for n in PERSONAS})
    assert [s.name for s in fallback.subreddits] == list(PERSONAS)
    assert fallback.reddit.oauth_url == "http://x" and not fallback.dry_run
