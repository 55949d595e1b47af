"""A job's state machine (docs/architecture.md): queries.move is the one place a status
changes, and it refuses every move the diagram does not have, for replies and posts alike."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from redditbot.domain import Status
from redditbot.store import queries
from redditbot.store.models import PostJob, ReplyJob

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
S = Status
# The diagram of docs/architecture.md, written out: (from, to) besides "any live state →
# skipped | failed".
DIAGRAM = {
    (S.QUEUED, S.GENERATING),
    (S.GENERATING, S.DRAFTED),
    (S.GENERATING, S.QUEUED),  # a crashed generation goes back to the queue
    (S.DRAFTED, S.APPROVED),
    (S.DRAFTED, S.PENDING_REVIEW),
    (S.DRAFTED, S.REJECTED),
    (S.DRAFTED, S.QUEUED),  # moderation asks for another generation
    (S.PENDING_REVIEW, S.APPROVED),
    (S.PENDING_REVIEW, S.REJECTED),
    (S.APPROVED, S.POSTING),
    (S.POSTING, S.POSTED),
    (S.POSTING, S.APPROVED),  # RATELIMIT, or reconciliation found nothing sent
}
TERMINAL = {S.POSTED, S.REJECTED, S.SKIPPED, S.FAILED}


def allowed(source: Status, target: Status) -> bool:
    if source in TERMINAL:
        return False
    return target in (S.SKIPPED, S.FAILED) or (source, target) in DIAGRAM


def job(model: type, status: Status):
    return model(
        id=1,
        account="bot",
        subreddit="learnpython",
        status=status,
        lease_owner="me",
        lease_expires_at=NOW,
    )


@pytest.mark.parametrize("model", [ReplyJob, PostJob])
@pytest.mark.parametrize(("source", "target"), list(itertools.product(Status, Status)))
def test_every_move_of_the_diagram_and_no_other(model, source: Status, target: Status) -> None:
    row = job(model, source)
    if allowed(source, target):
        queries.move(row, target, now=NOW, reason="why")
        assert (row.status, row.updated_at, row.reason) == (target, NOW, "why")
        assert row.lease_owner is None and row.lease_expires_at is None  # the lease ends
    else:
        with pytest.raises(queries.IllegalTransition, match=f"{source} → {target}"):
            queries.move(row, target, now=NOW)
        assert row.status == source and row.lease_owner == "me"  # nothing changed


def test_a_move_can_keep_its_lease() -> None:
    row = job(ReplyJob, S.APPROVED)
    queries.move(row, S.POSTING, now=NOW, keep_lease=True)
    assert row.lease_owner == "me"
