"""selection decisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 21:09:55.638449
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "selection_decisions",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("fullname", sa.String(length=32), nullable=False),
        sa.Column("subreddit", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "fullname", name=op.f("pk_selection_decisions")),
    )


def downgrade() -> None:
    op.drop_table("selection_decisions")
