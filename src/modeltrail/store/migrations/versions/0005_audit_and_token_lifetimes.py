"""audit trail (who created and last changed each entity) and token lifetimes

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import modeltrail.store.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

AUDITED = (
    "experiments",
    "executables",
    "pipelines",
    "runs",
    "executions",
    "artifacts",
    "kinds",
)
AUDIT_COLUMNS = ("created_by_id", "created_by_name", "updated_by_id", "updated_by_name")


def upgrade() -> None:
    # Columns only, all nullable: rows written before this revision (or with access control
    # off) have no writer on record. SQLite adds a nullable column without rewriting the table.
    for table in AUDITED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("created_by_id", sa.Uuid(), nullable=True))
            batch.add_column(sa.Column("created_by_name", sa.String(length=256), nullable=True))
            batch.add_column(sa.Column("updated_by_id", sa.Uuid(), nullable=True))
            batch.add_column(sa.Column("updated_by_name", sa.String(length=256), nullable=True))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column(
                "expire_time", modeltrail.store.tables.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(sa.Column("previous_hash", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column(
                "previous_expire_time",
                modeltrail.store.tables.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch.create_unique_constraint(op.f("uq_api_tokens_previous_hash"), ["previous_hash"])


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(op.f("uq_api_tokens_previous_hash"), type_="unique")
        batch.drop_column("previous_expire_time")
        batch.drop_column("previous_hash")
        batch.drop_column("expire_time")
    for table in AUDITED:
        with op.batch_alter_table(table) as batch:
            for column in reversed(AUDIT_COLUMNS):
                batch.drop_column(column)
