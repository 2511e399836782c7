"""batch receipts: the answers to batches sent with an Idempotency-Key

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import modeltrail.store.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_receipts",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("principal", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "answer",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "create_time", modeltrail.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_batch_receipts")),
    )
    with op.batch_alter_table("batch_receipts") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_batch_receipts_create_time"), ["create_time"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("batch_receipts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_receipts_create_time"))
    op.drop_table("batch_receipts")
