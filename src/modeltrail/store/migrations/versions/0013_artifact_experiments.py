"""artifact experiments: the experiment an artifact was made in without a run

MLflow's ``create_logged_model`` with an experiment and no run makes a model that no
execution touches, of no experiment for a token's grants. The experiment it was made in is
kept here. The logged models made before are given theirs, from the experiment their MLflow
state names (``attributes.mlflow.experimentId``; ``"0"`` is MLflow's default experiment).

Revision ID: 0013
Revises: 0012
"""

import uuid

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

DEFAULT_EXPERIMENT = uuid.UUID(int=0)


def upgrade() -> None:
    op.create_table(
        "artifact_experiments",
        sa.Column("artifact_id", sa.Uuid(), nullable=False),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_artifact_experiments_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_artifact_experiments_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artifact_id", name=op.f("pk_artifact_experiments")),
    )
    with op.batch_alter_table("artifact_experiments") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_artifact_experiments_experiment_id"), ["experiment_id"], unique=False
        )
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    artifacts = sa.table(
        "artifacts",
        sa.column("id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("attributes", sa.JSON()),
    )
    experiments = sa.table("experiments", sa.column("id", sa.Uuid()))
    made = sa.table(
        "artifact_experiments",
        sa.column("artifact_id", sa.Uuid()),
        sa.column("experiment_id", sa.Uuid()),
    )
    known = set(bind.execute(sa.select(experiments.c.id)).scalars())
    rows = []
    for artifact, attributes in bind.execute(
        sa.select(artifacts.c.id, artifacts.c.attributes).where(artifacts.c.kind == "model")
    ):
        if isinstance(attributes, str | bytes):
            attributes = orjson.loads(attributes)
        mlflow = (attributes or {}).get("mlflow")
        if not isinstance(mlflow, dict) or "experimentId" not in mlflow:
            continue
        shown = str(mlflow["experimentId"])
        try:
            experiment = DEFAULT_EXPERIMENT if shown == "0" else uuid.UUID(shown)
        except ValueError:
            continue
        if experiment in known:
            rows.append({"artifact_id": artifact, "experiment_id": experiment})
    if rows:
        op.bulk_insert(made, rows)


def downgrade() -> None:
    with op.batch_alter_table("artifact_experiments") as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifact_experiments_experiment_id"))
    op.drop_table("artifact_experiments")
