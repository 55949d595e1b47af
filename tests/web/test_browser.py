"""End to end in a real headless browser (Debian's chromium + chromium-driver, through Selenium):
a comment from the sandbox Reddit goes through the real listen, select and moderate stages into
review; a person logs in, sees the hostile comment as plain text, edits the held reply and
approves it; the poster then posts it to the sandbox, over real PRAW, exactly once.

Screenshots go to $REDDITBOT_SCREENSHOTS when set (the operator's guide's are made so:
``REDDITBOT_SCREENSHOTS=docs/img pytest tests/web/test_browser.py``), else to a temporary folder.
In CI (``CI=true``) a missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from redditbot.config import Settings
from redditbot.domain import Candidate, Generation, GenerationRequest
from redditbot.moderation import Moderator
from redditbot.pipeline.generate import GenerateStage
from redditbot.pipeline.listen import Listener
from redditbot.pipeline.moderate import ModerateStage
from redditbot.pipeline.post import Poster, PosterLimits, PostPolicy
from redditbot.pipeline.select import Selector
from redditbot.reddit.gateway import PrawGateway
from redditbot.reddit.sandbox import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    ManualClock,
    SandboxServer,
    World,
)
from redditbot.store.models import ReplyJob
from redditbot.web.app import create_app
from redditbot.web.server import WebServer
from redditbot.web.settings import WebSettings
from tests.conftest import migrated_sessions
from tests.pipeline.conftest import StepClock, reddit_settings
from tests.promise import unavailable
from tests.web.conftest import PASSWORD, XSS

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--window-size=1100,900")  # fmt: skip
DRAFT = "Yes: Path('notes.txt').read_text() reads the whole file."
EDITED = "Yes: pathlib.Path('notes.txt').read_text() reads the whole file in one call."
FOOTER = "I am a bot."


class CannedGenerator:
    """Two candidates for every request (the model is beside the point here)."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        return [self._one(r) for r in requests]

    @staticmethod
    def _one(request: GenerationRequest) -> Generation:
        texts = ((DRAFT, -0.4), ("Try open('notes.txt').read(), it returns a string.", -0.9))
        candidates = tuple(Candidate(t, tokens_out=len(t.split()), mean_logprob=lp)
                           for t, lp in texts)  # fmt: skip
        return Generation(key=request.key, model_id="canned-model", prompt=f"PROMPT {request.key}",
                          params={"temperature": request.params.temperature}, candidates=candidates,
                          tokens_in=64, latency_s=0.1)  # fmt: skip


@pytest.fixture
def driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        unavailable(f"{missing} not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common import selenium_manager

    def no_download(*_args, **_kwargs):
        raise AssertionError("Selenium Manager must not run (it would download a browser)")

    monkeypatch.setattr(selenium_manager.SeleniumManager, "binary_paths", no_download)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    browser.set_page_load_timeout(30)
    yield browser
    browser.quit()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("REDDITBOT_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def world_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(world_clock: ManualClock) -> World:
    return World.seeded(clock=world_clock)


@pytest.fixture
def sandbox(world: World, prawcore_retry_sleeps) -> Iterator[SandboxServer]:
    with SandboxServer(world) as server:
        server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        yield server


@pytest.fixture
def sessions(sqlite_empty_url: str):
    yield from migrated_sessions(sqlite_empty_url)


def settings() -> Settings:
    return Settings(
        selection={
            "triggers": {"keywords": ["pathlib"], "mentions": False, "replies_to_bot": False}
        },  # fmt: skip
        subreddits=[{"name": "learnpython", "review": True}],
        moderation={"toxicity": {"classifier": "wordlist"}},
        quality={"enabled": False},
    )


def held_reply(world, sandbox, sessions, clock) -> tuple[str, int]:
    """A hostile comment on the sandbox, through listen/select/generate/moderate into review."""
    thread = world.submissions({"learnpython"})[0].fullname
    target = "t1_" + world.add_comment(thread, "mallory", f"Is pathlib shorter? {XSS}")
    config, gateway = settings(), PrawGateway(reddit_settings(sandbox))
    moderator = Moderator(config.moderation_for("learnpython"))
    common = {"account": "bot", "clock": clock}
    Listener(gateway, sessions, bot_username=DEMO_BOT, subreddits=["learnpython"],
             **common).run_once()  # fmt: skip
    Selector(sessions, config, bot_usernames=frozenset({DEMO_BOT}),
             moderator_for=lambda _: moderator, **common).run_once()  # fmt: skip
    GenerateStage(sessions, config, CannedGenerator(), owner="g", **common).run_once()
    ModerateStage(sessions, config, owner="m", moderator_for=lambda _: moderator,
                  **common).run_once()  # fmt: skip
    with sessions() as session:
        job = session.query(ReplyJob).filter_by(target_fullname=target).one()
        assert (job.status, job.reply_text) == ("pending_review", DRAFT)
        return target, job.id


def arrived(driver):
    """Waits for the browser (a loaded 2-core machine can take seconds to render a page)."""
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(driver, timeout=30)


@pytest.fixture
def pages(sessions, sandbox, world_clock) -> Iterator[str]:
    settings = WebSettings(password=PASSWORD, port=0)
    app = create_app(sessions, settings, reddit_url=sandbox.url, clock=StepClock(world_clock))
    server = WebServer(app, settings)
    server.start()
    yield server.url
    server.stop()


def test_edit_approve_in_the_browser_then_posted_exactly_once(
    driver, pages, world, sandbox, sessions, world_clock, screenshots
) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import (
        presence_of_element_located,
        url_to_be,
    )

    clock = StepClock(world_clock)
    target, job_id = held_reply(world, sandbox, sessions, clock)

    driver.get(f"{pages}/review")
    assert driver.current_url.startswith(f"{pages}/login")  # not logged in: the login page
    driver.find_element(By.ID, "name").send_keys("alice")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login").click()
    arrived(driver).until(url_to_be(f"{pages}/review"))  # a click does not wait for the page

    section = driver.find_element(By.ID, f"reply-{job_id}")
    comment = section.find_element(By.CSS_SELECTOR, ".comment.target .text")
    assert XSS in comment.text  # shown as text ...
    assert driver.find_elements(By.TAG_NAME, "img") == []  # ... never made an element
    assert driver.find_elements(By.TAG_NAME, "script") == []
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 (the access is the check)
    assert "Try open('notes.txt').read()" in section.text  # the other candidate
    driver.save_screenshot(str(screenshots / "review.png"))

    box = driver.find_element(By.ID, f"text-{job_id}")
    assert box.get_attribute("value") == DRAFT
    box.clear()
    box.send_keys(EDITED)
    driver.find_element(By.ID, f"approve-{job_id}").click()
    flash = arrived(driver).until(presence_of_element_located((By.ID, "flash")))
    assert f"job {job_id}: approved by web:alice" in flash.text

    poster = Poster(PrawGateway(reddit_settings(sandbox)), sessions, account="bot",
                    bot_username=DEMO_BOT, owner="p", clock=clock,
                    policy=lambda _sub: PostPolicy(footer=FOOTER),
                    limits=PosterLimits(lease=timedelta(minutes=5)))  # fmt: skip
    assert poster.run_once() == 1
    assert poster.run_once() == 0
    replies = [c for c in world.replies_to(target) if c.author == DEMO_BOT]
    assert [c.body for c in replies] == [f"{EDITED}\n\n---\n{FOOTER}"]
    writes = [w for w in sandbox.writes.records if w.path.startswith("/api/comment")]
    assert len(writes) == 1

    driver.get(f"{pages}/jobs/{job_id}")
    story = driver.find_element(By.TAG_NAME, "main").text
    assert "posted" in story and "by web:alice" in story and "canned-model" in story
    link = driver.find_element(By.LINK_TEXT, replies[0].fullname)
    assert link.get_attribute("href").startswith(f"{sandbox.url}/r/learnpython/comments/")
    assert driver.find_elements(By.TAG_NAME, "img") == []
    driver.save_screenshot(str(screenshots / "job.png"))

    driver.get(f"{pages}/history?q=pathlib")
    assert XSS in driver.find_element(By.CSS_SELECTOR, "table.history").text
    assert driver.find_elements(By.TAG_NAME, "img") == []
    driver.save_screenshot(str(screenshots / "history.png"))
