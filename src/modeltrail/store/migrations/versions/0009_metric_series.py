"""metric series: packed points, per-series and per-run summaries

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import modeltrail.store.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _value() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return modeltrail.store.tables.MetricValue()


def _summary() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("min_value", _value(), nullable=True),
        sa.Column("max_value", _value(), nullable=True),
        sa.Column("latest_value", _value(), nullable=True),
        sa.Column("latest_step", sa.BigInteger(), nullable=True),
        sa.Column("latest_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("first_step", sa.BigInteger(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "metric_series",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("execution_id", sa.Uuid(), nullable=True),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("artifact_id", sa.Uuid(), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("nonfinite", sa.BigInteger(), nullable=False),
        sa.Column("ordered", sa.Boolean(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        *_summary(),
        sa.Column(
            "create_time", modeltrail.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "update_time", modeltrail.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_metric_series_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("fk_metric_series_execution_id_executions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_metric_series_artifact_id_artifacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_series")),
    )
    with op.batch_alter_table("metric_series") as batch_op:
        batch_op.create_index("ix_metric_series_run_key", ["run_id", "key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_metric_series_execution_id"), ["execution_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_metric_series_artifact_id"), ["artifact_id"], unique=False
        )
        batch_op.create_index(
            "uq_metric_series_run_key",
            ["run_id", "key"],
            unique=True,
            sqlite_where=sa.text("execution_id IS NULL"),
            postgresql_where=sa.text("execution_id IS NULL"),
        )
        batch_op.create_index(
            "uq_metric_series_execution_key",
            ["execution_id", "key"],
            unique=True,
            sqlite_where=sa.text("execution_id IS NOT NULL"),
            postgresql_where=sa.text("execution_id IS NOT NULL"),
        )
    op.create_table(
        "metric_chunks",
        sa.Column("series_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("step_min", sa.BigInteger(), nullable=False),
        sa.Column("step_max", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["metric_series.id"],
            name=op.f("fk_metric_chunks_series_id_metric_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("series_id", "seq", name=op.f("pk_metric_chunks")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Packed numbers do not compress: stored as they are, a read copies them out without
        # a decompression.
        op.execute("ALTER TABLE metric_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        "run_metrics",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        *_summary(),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_run_metrics_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_run_metrics")),
    )
    with op.batch_alter_table("run_metrics") as batch_op:
        batch_op.create_index("ix_run_metrics_key_latest", ["key", "latest_value"], unique=False)


def downgrade() -> None:
    op.drop_table("run_metrics")
    op.drop_table("metric_chunks")
    op.drop_table("metric_series")
