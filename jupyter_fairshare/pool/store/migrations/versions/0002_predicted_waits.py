"""Keep each job's predicted wait beside its actual one, to publish estimate accuracy.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("waits") as batch:
        batch.add_column(sa.Column("predicted_wait", sa.Float(), nullable=True))
        batch.add_column(sa.Column("predicted_uncertainty", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("waits") as batch:
        batch.drop_column("predicted_uncertainty")
        batch.drop_column("predicted_wait")
