"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 20:59:12.280640
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

REPLY_HISTORY = """
CREATE VIEW reply_history AS
SELECT
    j.id AS job_id,
    j.account,
    j.subreddit,
    j.target_fullname,
    CASE WHEN c.fullname IS NOT NULL THEN c.permalink ELSE s.permalink END AS target_permalink,
    CASE WHEN c.fullname IS NOT NULL THEN c.author ELSE s.author END AS target_author,
    substr(CASE WHEN c.fullname IS NOT NULL THEN c.body ELSE s.title END, 1, 200)
        AS target_excerpt,
    t.title AS thread_title,
    j.trigger,
    COALESCE(p.body, j.reply_text, (
        SELECT g.output FROM generations g WHERE g.job_id = j.id ORDER BY g.id DESC LIMIT 1
    )) AS reply_text,
    j.status,
    j.reason,
    j.attempts,
    (SELECT g.model FROM generations g WHERE g.job_id = j.id ORDER BY g.id DESC LIMIT 1) AS model,
    j.created_at,
    j.updated_at,
    p.posted_at,
    p.comment_fullname AS reply_fullname,
    p.permalink AS reply_permalink,
    p.dry_run
FROM reply_jobs j
LEFT JOIN comments c ON c.fullname = j.target_fullname
LEFT JOIN submissions s ON s.fullname = j.target_fullname
LEFT JOIN submissions t ON t.fullname = j.link_fullname
LEFT JOIN posted_replies p ON p.job_id = j.id
"""


def upgrade() -> None:

    op.create_table(
        "comments",
        sa.Column("fullname", sa.String(length=32), nullable=False),
        sa.Column("subreddit", sa.String(length=64), nullable=False),
        sa.Column("link_fullname", sa.String(length=32), nullable=False),
        sa.Column("parent_fullname", sa.String(length=32), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("permalink", sa.Text(), nullable=False),
        sa.Column("created_utc", sa.Float(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("stickied", sa.Boolean(), nullable=False),
        sa.Column("distinguished", sa.String(length=32), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("bot_account", sa.String(length=64), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fullname", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_author"), ["author"], unique=False)
        batch_op.create_index(
            "ix_comments_link_created", ["link_fullname", "created_utc"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_comments_parent_fullname"), ["parent_fullname"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_comments_subreddit"), ["subreddit"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("subreddit", sa.String(length=64), nullable=True),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("fullname", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_kind"), ["kind"], unique=False)

    op.create_table(
        "inbox_items",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("fullname", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("account", "fullname", name=op.f("pk_inbox_items")),
    )
    op.create_table(
        "opt_outs",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("source_fullname", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_opt_outs")),
    )
    op.create_table(
        "poll_cursors",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("feed", sa.String(length=255), nullable=False),
        sa.Column("last_fullname", sa.String(length=32), nullable=True),
        sa.Column("last_created_utc", sa.Float(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "feed", name=op.f("pk_poll_cursors")),
    )
    op.create_table(
        "reply_jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("target_fullname", sa.String(length=32), nullable=False),
        sa.Column("subreddit", sa.String(length=64), nullable=False),
        sa.Column("link_fullname", sa.String(length=32), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_jobs")),
        sa.UniqueConstraint("account", "target_fullname", name="uq_reply_jobs_account_target"),
    )
    with op.batch_alter_table("reply_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reply_jobs_status_not_before", ["status", "not_before"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reply_jobs_subreddit"), ["subreddit"], unique=False)

    op.create_table(
        "submissions",
        sa.Column("fullname", sa.String(length=32), nullable=False),
        sa.Column("subreddit", sa.String(length=64), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("selftext", sa.Text(), nullable=False),
        sa.Column("permalink", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("created_utc", sa.Float(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("num_comments", sa.Integer(), nullable=False),
        sa.Column("is_self", sa.Boolean(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("over_18", sa.Boolean(), nullable=False),
        sa.Column("stickied", sa.Boolean(), nullable=False),
        sa.Column("distinguished", sa.String(length=32), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("bot_account", sa.String(length=64), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fullname", name=op.f("pk_submissions")),
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submissions_author"), ["author"], unique=False)
        batch_op.create_index(batch_op.f("ix_submissions_subreddit"), ["subreddit"], unique=False)

    op.create_table(
        "subreddits",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forbidden_count", sa.Integer(), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_subreddits")),
    )
    op.create_table(
        "generations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["reply_jobs.id"],
            name=op.f("fk_generations_job_id_reply_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generations")),
    )
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_generations_job_id"), ["job_id"], unique=False)

    op.create_table(
        "posted_replies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("target_fullname", sa.String(length=32), nullable=False),
        sa.Column("comment_fullname", sa.String(length=32), nullable=True),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("reconciled", sa.Boolean(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delete_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["reply_jobs.id"], name=op.f("fk_posted_replies_job_id_reply_jobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posted_replies")),
        sa.UniqueConstraint("comment_fullname", name=op.f("uq_posted_replies_comment_fullname")),
        sa.UniqueConstraint("job_id", name=op.f("uq_posted_replies_job_id")),
    )
    op.create_table(
        "moderation_verdicts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "generation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("gate", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_moderation_verdicts_generation_id_generations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["reply_jobs.id"],
            name=op.f("fk_moderation_verdicts_job_id_reply_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_verdicts")),
    )
    with op.batch_alter_table("moderation_verdicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_moderation_verdicts_job_id"), ["job_id"], unique=False)
    op.execute(REPLY_HISTORY)


def downgrade() -> None:
    op.execute("DROP VIEW reply_history")

    with op.batch_alter_table("moderation_verdicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderation_verdicts_job_id"))

    op.drop_table("moderation_verdicts")
    op.drop_table("posted_replies")
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generations_job_id"))

    op.drop_table("generations")
    op.drop_table("subreddits")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_subreddit"))
        batch_op.drop_index(batch_op.f("ix_submissions_author"))

    op.drop_table("submissions")
    with op.batch_alter_table("reply_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reply_jobs_subreddit"))
        batch_op.drop_index("ix_reply_jobs_status_not_before")

    op.drop_table("reply_jobs")
    op.drop_table("poll_cursors")
    op.drop_table("opt_outs")
    op.drop_table("inbox_items")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_kind"))
        batch_op.drop_index(batch_op.f("ix_events_at"))

    op.drop_table("events")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_subreddit"))
        batch_op.drop_index(batch_op.f("ix_comments_parent_fullname"))
        batch_op.drop_index("ix_comments_link_created")
        batch_op.drop_index(batch_op.f("ix_comments_author"))

    op.drop_table("comments")
