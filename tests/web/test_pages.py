"""Every page and action of the web pages through Starlette's test client, on SQLite and
PostgreSQL: login, CSRF, escaping, headers, review decisions, history filters, a job's story."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from redditbot.store.models import Event, ModerationVerdictRow, PostJob, ReplyJob
from tests.web.conftest import DRAFT, OTHER, PASSWORD, XSS, csrf_of, log_in

PAGES = ("/review", "/history", "/jobs/1")
WRITES = ("/review/replies/{held}/approve", "/review/replies/{held}/reject",
          "/review/posts/{post}/approve", "/review/posts/{post}/reject")  # fmt: skip


def reply(sessions, job_id: int) -> ReplyJob:
    with sessions() as session:
        return session.get(ReplyJob, job_id)


def post(sessions, job_id: int) -> PostJob:
    with sessions() as session:
        return session.get(PostJob, job_id)


# --------------------------------------------------------------------------- login


def test_every_page_sends_a_visitor_to_the_login(client) -> None:
    for page in PAGES:
        answer = client.get(page)
        assert answer.status_code == 303, page
        assert answer.headers["location"] == f"/login?next={page}"


def test_no_write_without_a_login_even_with_a_csrf_token(client, sessions, store) -> None:
    token = csrf_of(client.get("/login").text)  # a visitor's session has a token too
    for path in WRITES:
        answer = client.post(path.format(**store), data={"csrf": token, "text": "pwned"})
        assert answer.status_code == 403, path
    assert reply(sessions, store["held"]).status == "pending_review"
    assert post(sessions, store["post"]).status == "pending_review"


def test_a_wrong_password_is_refused(client) -> None:
    answer = log_in(client, password=PASSWORD + "x")
    assert answer.status_code == 401 and "Wrong password" in answer.text
    assert PASSWORD not in answer.text
    assert client.get("/review").status_code == 303  # still out


def test_a_name_is_required_and_recorded_later(client) -> None:
    assert log_in(client, name="").status_code == 401
    assert log_in(client, name="<b>x</b>").status_code == 401
    assert log_in(client, name="alice").headers["location"] == "/review"


def test_login_without_the_csrf_token_is_refused(client) -> None:
    client.get("/login")
    answer = client.post("/login", data={"name": "alice", "password": PASSWORD})
    assert answer.status_code == 403 and "CSRF" in answer.text
    assert client.get("/review").status_code == 303


def test_login_never_redirects_off_the_site(client) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        token = csrf_of(client.get("/login").text)
        answer = client.post("/login", data={"csrf": token, "name": "alice",
                                             "password": PASSWORD, "next": target})  # fmt: skip
        assert answer.headers["location"] == "/review", target


def test_logging_in_makes_a_new_session_and_logout_needs_csrf(client) -> None:
    before = csrf_of(client.get("/login").text)
    log_in(client)
    token = csrf_of(client.get("/review").text)
    assert token != before  # no session fixation: the pre-login token is gone
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/review").status_code == 200
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    assert client.get("/review").status_code == 303


# --------------------------------------------------------------------------- headers, escaping


def test_security_headers_on_every_answer(operator, store) -> None:
    client, _ = operator
    for path in ("/login", "/review", "/history", f"/jobs/{store['held']}", "/static/style.css",
                 "/jobs/99999"):  # fmt: skip
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp, path
        assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_the_session_cookie_is_httponly_and_strict(client) -> None:
    cookie = log_in(client).headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert PASSWORD not in cookie


def test_text_from_reddit_is_escaped_everywhere(operator, store) -> None:
    client, _ = operator
    for path in ("/review", f"/jobs/{store['held']}", "/history?q=shorter"):
        html = client.get(path).text
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, path
        assert XSS not in html and "<img" not in html, path
    assert "<script" not in client.get("/review").text


# --------------------------------------------------------------------------- review


def test_the_queue_shows_thread_candidates_scores_and_verdicts(operator, store) -> None:
    client, _ = operator
    html = client.get("/review").text
    assert f'id="reply-{store["held"]}"' in html and f'id="post-{store["post"]}"' in html
    assert "Reading a file" in html and "How do I read a whole text file?" in html
    assert "Path(&#39;notes.txt&#39;).read_text()" in html  # the draft, in the textarea
    assert "open(&#39;notes.txt&#39;).read() also works" in html  # the other candidate
    assert "0.734" in html and "0.512" in html and "0.61" in html  # scores
    assert "rule:no-crypto-shilling" in html and "toxicity" in html  # verdicts and checks
    assert "Weekly thread" in html
    assert f'id="reply-{store["posted"]}"' not in html  # only held jobs


def test_edit_and_approve_records_who_what_and_when(operator, sessions, store) -> None:
    client, token = operator
    edit = "Path('notes.txt').read_text()\r\nreads it all."
    answer = client.post(f"/review/replies/{store['held']}/approve",
                         data={"csrf": token, "text": edit})  # fmt: skip
    assert answer.status_code == 303
    job = reply(sessions, store["held"])
    assert (job.status, job.reason) == ("approved", "reviewer_edited")
    assert job.reply_text == "Path('notes.txt').read_text()\nreads it all."
    with sessions() as session:
        verdict = session.scalars(select(ModerationVerdictRow).where(
            ModerationVerdictRow.gate == "review")).one()  # fmt: skip
        event = session.scalars(select(Event).where(Event.kind == "review")).one()
    assert verdict.checks == [{"name": "reviewer", "reason": "web:alice"}]
    assert event.data["edits"]["reply_text"]["before"] == DRAFT
    assert f"job {store['held']}: approved by web:alice" in client.get("/review").text


def test_approve_without_an_edit(operator, sessions, store) -> None:
    client, token = operator
    client.post(f"/review/replies/{store['held']}/approve", data={"csrf": token, "text": DRAFT})
    assert reply(sessions, store["held"]).reason == "reviewer_approved"


def test_every_form_is_refused_without_its_csrf_token(operator, sessions, store) -> None:
    client, token = operator
    for path in WRITES:
        for data in ({}, {"csrf": ""}, {"csrf": token[:-1] + "x"}):
            answer = client.post(path.format(**store), data=data | {"text": "pwned"})
            assert answer.status_code == 403, (path, data)
    assert reply(sessions, store["held"]).status == "pending_review"
    assert post(sessions, store["post"]).status == "pending_review"


def test_every_form_on_the_pages_carries_the_token(operator, store) -> None:
    client, token = operator
    for path in ("/review", "/history", f"/jobs/{store['held']}"):
        html = client.get(path).text
        posts = html.count('method="post"')
        assert posts and html.count(f'name="csrf" value="{token}"') == posts, path


def test_reject_with_a_reason(operator, sessions, store) -> None:
    client, token = operator
    client.post(f"/review/replies/{store['held']}/reject",
                data={"csrf": token, "reason": "  answers the wrong question "})  # fmt: skip
    job = reply(sessions, store["held"])
    assert (job.status, job.reason, job.reply_text) == (
        "rejected", "reviewer:answers the wrong question", DRAFT)  # fmt: skip


def test_a_second_decision_is_refused_and_said_so(operator, sessions, store) -> None:
    client, token = operator
    path = f"/review/replies/{store['held']}"
    client.post(f"{path}/approve", data={"csrf": token, "text": DRAFT})
    client.post(f"{path}/reject", data={"csrf": token, "reason": "late"})
    assert reply(sessions, store["held"]).status == "approved"
    assert "is approved, not pending_review" in client.get("/review").text


def test_an_empty_approved_text_is_refused(operator, sessions, store) -> None:
    client, token = operator
    client.post(f"/review/replies/{store['held']}/approve", data={"csrf": token, "text": "  "})
    assert reply(sessions, store["held"]).status == "pending_review"
    assert "cannot be empty" in client.get("/review").text


def test_a_held_post_is_edited_and_approved_or_rejected(operator, sessions, store) -> None:
    client, token = operator
    client.post(
        f"/review/posts/{store['post']}/approve",
        data={"csrf": token, "title": "Weekly help thread", "body": "Ask anything."},
    )
    job = post(sessions, store["post"])
    assert (job.status, job.title, job.body) == ("approved", "Weekly help thread", "Ask anything.")
    client.post(f"/review/posts/{store['post']}/reject", data={"csrf": token, "reason": "x"})
    assert post(sessions, store["post"]).status == "approved"  # already decided


# --------------------------------------------------------------------------- history, story


def job_ids(html: str) -> set[int]:
    import re

    return {int(n) for n in re.findall(r'<a href="/jobs/(\d+)">', html)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"held", "posted", "rejected", "other_sub"}),
        ("?subreddit=Cooking", {"other_sub"}),
        ("?status=posted", {"posted", "other_sub"}),
        ("?status=posted&subreddit=learnpython", {"posted"}),
        ("?since=24h", {"held", "posted", "other_sub"}),
        ("?until=2026-05-30", {"rejected"}),
        ("?q=RUDE", {"rejected"}),
        ("?q=100%25", {"posted"}),  # a literal %, not a wildcard
        ("?q=d_a", set()),  # a literal _: not "posted answer"
        ("?q=mallory", {"held"}),  # the target's author
    ],
)
def test_history_filters(operator, store, query, expected) -> None:
    client, _ = operator
    answer = client.get(f"/history{query}")
    assert answer.status_code == 200
    assert job_ids(answer.text) == {store[name] for name in expected}


def test_history_says_what_is_wrong_with_a_filter(operator) -> None:
    client, _ = operator
    for query, message in (("since=yesterday", "since &#39;yesterday&#39;"),
                           ("status=done", "not a job state"), ("limit=x", "limit")):  # fmt: skip
        answer = client.get(f"/history?{query}")
        assert answer.status_code == 400 and message in answer.text, query


def test_history_links_the_posted_reply(operator, store) -> None:
    client, _ = operator
    html = client.get("/history?status=posted&subreddit=learnpython").text
    assert 'href="https://www.reddit.com/r/learnpython/comments/p1/_/zz9/"' in html


def test_a_jobs_story_tells_everything(operator, store) -> None:
    client, token = operator
    client.post(f"/review/replies/{store['held']}/approve", data={"csrf": token, "text": "Edited"})
    html = client.get(f"/jobs/{store['held']}").text
    for must in ("queued · trigger question", "SmolLM2-135M-Instruct", "temperature=0.8",
                 "SYSTEM You help with Python.", "tokens 120 in / 30 out", "850 ms",
                 "open(&#39;notes.txt&#39;).read() also works", "rule:no-crypto-shilling",
                 "Input gate", "reviewer_edited", "by web:alice", "Nothing posted",
                 "approved with an edit by web:alice"):  # fmt: skip
        assert must in html, must
    assert OTHER.split()[0] not in client.get(f"/jobs/{store['posted']}").text
    posted = client.get(f"/jobs/{store['posted']}").text
    assert 'href="https://www.reddit.com/r/learnpython/comments/p1/_/zz9/"' in posted
    assert client.get("/jobs/99999").status_code == 404
