"""purge: when each stored item was last checked against Reddit, and when its text was purged

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("comments", "submissions")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite >= 3.35): a batch copy of the table would break
    # the views that read it (reply_history).
    for table in TABLES:
        op.drop_column(table, "purged_at")
        op.drop_column(table, "checked_at")
