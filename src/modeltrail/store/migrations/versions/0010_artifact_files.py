"""artifact files: each artifact's paths mapped to content by sha256; multipart uploads

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import modeltrail.store.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifact_files",
        sa.Column("artifact_id", sa.Uuid(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column(
            "create_time", modeltrail.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_artifact_files_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artifact_id", "path", name=op.f("pk_artifact_files")),
    )
    with op.batch_alter_table("artifact_files") as batch_op:
        batch_op.create_index(batch_op.f("ix_artifact_files_sha256"), ["sha256"], unique=False)
    op.create_table(
        "file_uploads",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("artifact_id", sa.Uuid(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("handle", sa.Text(), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column(
            "create_time", modeltrail.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_file_uploads_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_uploads")),
    )
    with op.batch_alter_table("file_uploads") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_file_uploads_artifact_id"), ["artifact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_file_uploads_create_time"), ["create_time"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("file_uploads") as batch_op:
        batch_op.drop_index(batch_op.f("ix_file_uploads_create_time"))
        batch_op.drop_index(batch_op.f("ix_file_uploads_artifact_id"))
    op.drop_table("file_uploads")
    with op.batch_alter_table("artifact_files") as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifact_files_sha256"))
    op.drop_table("artifact_files")
