"""upload claims: the completion of a multipart upload is claimed by one request at a time

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import modeltrail.store.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("file_uploads") as batch_op:
        batch_op.add_column(
            sa.Column(
                "claim_time", modeltrail.store.tables.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("file_uploads") as batch_op:
        batch_op.drop_column("claim_time")
