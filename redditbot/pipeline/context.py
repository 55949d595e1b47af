"""Rebuild what a stage needs about a target from the store: the thread, the chain, the author."""

from __future__ import annotations

from sqlalchemy.orm import Session

from redditbot.domain import ContextComment, Target, ThreadContext
from redditbot.store.models import CommentRow, SubmissionRow

MAX_ANCESTORS = 8


def load_target(session: Session, fullname: str) -> Target | None:
    """The stored item as the input gate sees it, or None when it is not stored."""
    if fullname.startswith("t1_"):
        row = session.get(CommentRow, fullname)
        if row is None:
            return None
        thread = session.get(SubmissionRow, row.link_fullname)
        return Target(
            fullname=fullname,
            subreddit=row.subreddit,
            author=row.author,
            body=row.body,
            depth=row.depth,
            distinguished=row.distinguished,
            locked=row.locked,
            archived=row.archived or bool(thread and thread.archived),
            removed=row.removed,
            deleted=row.deleted,
            over_18=bool(thread and thread.over_18),
            link_id=row.link_fullname,
        )
    post = session.get(SubmissionRow, fullname)
    if post is None:
        return None
    return Target(
        fullname=fullname,
        subreddit=post.subreddit,
        author=post.author,
        body=f"{post.title}\n\n{post.selftext}".strip(),
        distinguished=post.distinguished,
        locked=post.locked,
        archived=post.archived,
        removed=post.removed,
        deleted=post.deleted,
        over_18=post.over_18,
        link_id=fullname,
    )


def thread_context(session: Session, fullname: str, subreddit: str) -> ThreadContext:
    """Title, self-text and the chain of comments above the target, oldest first."""
    chain: list[CommentRow] = []
    row = session.get(CommentRow, fullname) if fullname.startswith("t1_") else None
    link = row.link_fullname if row else fullname
    parent = row.parent_fullname if row else None
    while parent and parent.startswith("t1_") and len(chain) < MAX_ANCESTORS:
        ancestor = session.get(CommentRow, parent)
        if ancestor is None:
            break  # not stored: the prompt makes do with what is known
        chain.append(ancestor)
        parent = ancestor.parent_fullname
    post = session.get(SubmissionRow, link)
    return ThreadContext(
        subreddit=post.subreddit if post else subreddit,
        title=post.title if post else "",
        selftext=post.selftext if post else "",
        submission_author=post.author if post else None,
        ancestors=tuple(ContextComment(c.author, c.body) for c in reversed(chain)),
        target_author=row.author if row else None,
        target_body=row.body if row else None,
    )
