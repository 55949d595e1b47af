"""subreddit pauses per account

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00.000000

A 403 is most often about one account (banned in that subreddit), so the count of 403s in a row
and the pause move from the ``subreddits`` row to one row per (account, subreddit) in
``subreddit_pauses``; another account is no longer stopped by the banned one's 403s.

Upgrade: the old row does not say whose 403s they were, so a subreddit's pause (and its count
of 403s so far) is carried to every account the store knows in that subreddit: each account
with a reply job or a post job there, or named by a ``subreddit_paused`` event there. Erring
that way costs an innocent account at most what the old pause already cost it; erring the
other way would let the banned account post again at once. A subreddit no account is known in
has nobody to carry its pause to, and nothing of it is kept. Then the three columns are dropped
from ``subreddits`` (plain ``ALTER TABLE … DROP COLUMN``, as 0004 does: no view reads them).

Downgrade: the columns come back on ``subreddits`` (``forbidden_count`` with a server default,
which SQLite needs to add a NOT NULL column), each holding the subreddit's longest pause and
highest count over its accounts (the old schema paused every account alike), and
``subreddit_pauses`` is dropped.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KNOWN_ACCOUNTS = """
SELECT account, subreddit FROM reply_jobs
UNION SELECT account, subreddit FROM post_jobs
UNION SELECT account, subreddit FROM events
    WHERE kind = 'subreddit_paused' AND account IS NOT NULL AND subreddit IS NOT NULL
"""

CARRY_UP = f"""
INSERT INTO subreddit_pauses (account, subreddit, forbidden_count, paused_until, pause_reason)
SELECT known.account, s.name, s.forbidden_count, s.paused_until, s.pause_reason
FROM subreddits s
JOIN ({KNOWN_ACCOUNTS}) known ON known.subreddit = s.name
WHERE s.forbidden_count > 0 OR s.paused_until IS NOT NULL
"""

MISSING_SUBREDDITS = """
INSERT INTO subreddits (name, first_seen_at)
SELECT DISTINCT p.subreddit, CURRENT_TIMESTAMP
FROM subreddit_pauses p
WHERE p.subreddit NOT IN (SELECT name FROM subreddits)
"""

CARRY_DOWN = """
UPDATE subreddits SET
    forbidden_count = COALESCE(
        (SELECT MAX(p.forbidden_count) FROM subreddit_pauses p WHERE p.subreddit = subreddits.name),
        0
    ),
    paused_until = (
        SELECT MAX(p.paused_until) FROM subreddit_pauses p WHERE p.subreddit = subreddits.name
    ),
    pause_reason = (
        SELECT p.pause_reason FROM subreddit_pauses p
        WHERE p.subreddit = subreddits.name AND p.paused_until IS NOT NULL
        ORDER BY p.paused_until DESC LIMIT 1
    )
"""

COLUMNS = ("forbidden_count", "paused_until", "pause_reason")


def upgrade() -> None:
    op.create_table(
        "subreddit_pauses",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("subreddit", sa.String(length=64), nullable=False),
        sa.Column("forbidden_count", sa.Integer(), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("account", "subreddit", name=op.f("pk_subreddit_pauses")),
    )
    op.execute(CARRY_UP)
    for column in reversed(COLUMNS):
        op.drop_column("subreddits", column)


def downgrade() -> None:
    op.add_column(
        "subreddits",
        sa.Column("forbidden_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column("subreddits", sa.Column("paused_until", sa.DateTime(timezone=True)))
    op.add_column("subreddits", sa.Column("pause_reason", sa.Text()))
    op.execute(MISSING_SUBREDDITS)
    op.execute(CARRY_DOWN)
    op.drop_table("subreddit_pauses")
