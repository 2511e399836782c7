"""lineage indexes: fingerprint <-> id lookups answered from an index alone

Revision ID: 0002_lineage_indexes
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.create_index("ix_artifacts_fingerprint_id", ["fingerprint", "id"], unique=False)
        batch_op.create_index("ix_artifacts_id_fingerprint", ["id", "fingerprint"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_index("ix_artifacts_id_fingerprint")
        batch_op.drop_index("ix_artifacts_fingerprint_id")
