"""mlflow states: lifecycle stages and statuses that MLflow's API keeps

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import modeltrail.store.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlflow_states",
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("delete_time", modeltrail.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("artifact_location", sa.Text(), nullable=True),
        sa.Column("update_time", modeltrail.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("entity_id", name=op.f("pk_mlflow_states")),
    )


def downgrade() -> None:
    op.drop_table("mlflow_states")
