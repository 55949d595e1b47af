"""original posts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 21:41:44.093792
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

POST_HISTORY = """
CREATE VIEW post_history AS
SELECT
    j.id AS job_id,
    j.account,
    j.subreddit,
    j.slot,
    j.title,
    j.body,
    j.flair_id,
    j.flair_text,
    j.status,
    j.reason,
    j.attempts,
    j.generations,
    j.model,
    j.created_at,
    j.updated_at,
    j.posted_at,
    j.submission_fullname,
    j.permalink,
    j.dry_run,
    j.reconciled
FROM post_jobs j
"""


def upgrade() -> None:
    op.create_table(
        "post_jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("subreddit", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("flair_id", sa.String(length=64), nullable=True),
        sa.Column("flair_text", sa.String(length=64), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("generations", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.Column("submission_fullname", sa.String(length=32), nullable=True),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("reconciled", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_jobs")),
        sa.UniqueConstraint("account", "subreddit", "slot", name="uq_post_jobs_account_slot"),
        sa.UniqueConstraint("submission_fullname", name=op.f("uq_post_jobs_submission_fullname")),
    )
    with op.batch_alter_table("post_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_post_jobs_status_not_before", ["status", "not_before"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_post_jobs_subreddit"), ["subreddit"], unique=False)

    op.execute(POST_HISTORY)


def downgrade() -> None:
    op.execute("DROP VIEW post_history")
    with op.batch_alter_table("post_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_jobs_subreddit"))
        batch_op.drop_index("ix_post_jobs_status_not_before")

    op.drop_table("post_jobs")
