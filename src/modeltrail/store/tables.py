"""The relational schema: one table per entity, one per structural relation.

Structural metadata (which execution read or wrote which artifact, which execution follows
which, which event started a run, which artifact a metric measures) is kept in edge tables so
that lineage is a recursive query. Kind attributes, annotations and configurations are JSON
documents (JSONB on PostgreSQL): the relational-plus-document hybrid of thesis 6.4.3.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from modeltrail.domain.entities import ENTITIES

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        # SQLite keeps the UTC time as ISO text without a zone: parsed with the zone in one C
        # call, a tenth of the generic parse-then-replace (large lineage answers read
        # tens of thousands of timestamps).
        slow = super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            try:
                return parse(value + "+00:00")
            except ValueError:  # text in another form: the generic path
                return slow(value) if slow else value  # type: ignore[return-value]

        return process


Document = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Audited:
    """Who created a row and who changed it last: the API token's id and name, as the token
    was named at the time (NULL when no token was involved: access control off, the embedded
    store, rows written before this was kept). Set by ``store.audit`` at flush."""

    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_by_name: Mapped[str | None] = mapped_column(String(256))
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_by_name: Mapped[str | None] = mapped_column(String(256))


class Entity(Audited):
    """Columns every entity has: identity, the thesis's administrative metadata, a revision."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(256), index=True)
    version: Mapped[str] = mapped_column(String(256))
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    annotations: Mapped[dict[str, str]] = mapped_column(Document, default=dict)
    # Incremented on every update; served as the ETag that If-Match checks.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # UPDATE ... WHERE revision = <read>: a concurrent writer that read the same revision
        # updates nothing (StaleDataError) instead of overwriting, so no change is lost.
        table = cls.__table__  # type: ignore[attr-defined]
        return {"version_id_col": table.c.revision, "version_id_generator": False}


class ExperimentRow(Entity, Base):
    __tablename__ = "experiments"


class ExecutableRow(Entity, Base):
    __tablename__ = "executables"
    uri: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)


class PipelineRow(Entity, Base):
    __tablename__ = "pipelines"
    uri: Mapped[str | None] = mapped_column(Text)


class PipelineExecutableRow(Base):
    __tablename__ = "pipeline_executables"
    pipeline_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    executable_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("executables.id"), index=True)


class KindRow(Audited, Base):
    __tablename__ = "kinds"
    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    schema_: Mapped[dict[str, Any]] = mapped_column("schema", Document)
    open: Mapped[bool] = mapped_column(Boolean, default=False)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArtifactRow(Entity, Base):
    __tablename__ = "artifacts"
    kind: Mapped[str] = mapped_column(String(256))
    kind_version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)

    __table_args__ = (
        Index("ix_artifacts_kind_create_time", "kind", "create_time", "id"),
        Index("ix_artifacts_uri", "uri"),
        # Lineage walks over equal artifacts go fingerprint -> ids -> fingerprint; both
        # directions answered from an index alone.
        Index("ix_artifacts_fingerprint_id", "fingerprint", "id"),
        Index("ix_artifacts_id_fingerprint", "id", "fingerprint"),
    )


class RunRow(Entity, Base):
    __tablename__ = "runs"
    experiment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experiments.id"), index=True)
    uri: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    configuration: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    pipeline_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pipelines.id"), index=True)
    # The trigger: the artifact (recommended: of kind event) that started the run.
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("artifacts.id"), index=True)


class ExecutionRow(Entity, Base):
    __tablename__ = "executions"
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id"), index=True)
    executable_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("executables.id"), index=True)
    kind: Mapped[str] = mapped_column(String(256), index=True)
    uri: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    configuration: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    # Set when this execution did not compute but reused another's outputs (FR6).
    reused_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("executions.id"))


class ExecutionInputRow(Base):
    __tablename__ = "execution_inputs"
    execution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    artifact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("artifacts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (Index("ix_execution_inputs_artifact", "artifact_id", "execution_id"),)


class ExecutionOutputRow(Base):
    __tablename__ = "execution_outputs"
    execution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    artifact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("artifacts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (Index("ix_execution_outputs_artifact", "artifact_id", "execution_id"),)


class ArtifactExperimentRow(Base):
    """The experiment an artifact was made in without a run (MLflow's logged model, made with
    an experiment and no run): what it belongs to for a token's grants while no execution has
    written it (``store.scope``)."""

    __tablename__ = "artifact_experiments"
    artifact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    experiment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )


class ExecutionSuccessorRow(Base):
    __tablename__ = "execution_successors"
    execution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    successor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("executions.id"), primary_key=True)
    __table_args__ = (Index("ix_execution_successors_successor", "successor_id"),)


class ArtifactReferenceRow(Base):
    """An attribute of one artifact that names another (metrics -> measured artifact)."""

    __tablename__ = "artifact_references"
    artifact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    attribute: Mapped[str] = mapped_column(String(256), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("artifacts.id"), index=True)


class FlagRow(Base):
    """An artifact marked as bad (FR5): everything downstream of it is affected."""

    __tablename__ = "flags"
    artifact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(Text)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationRow(Base):
    """A webhook notification and its delivery (the ``notifications`` plugin).

    ``key`` makes each notification once only (a run's end, a streak of failures, a flagged
    dataset under a deployment), however often the condition is seen again.
    """

    __tablename__ = "notifications"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(Document)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ApiTokenRow(Base):
    """An API token: only its SHA-256 is kept, the token itself is shown once at creation."""

    __tablename__ = "api_tokens"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(256))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so that a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    # Global role (reader, writer, deployer, admin) or NULL for a token scoped to experiments only.
    role: Mapped[str | None] = mapped_column(String(16))
    # {experiment id: role} grants on single experiments.
    experiments: Mapped[dict[str, str]] = mapped_column(Document, default=dict)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoke_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After this the token is refused as expired (NULL: it never expires).
    expire_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A rotation's old secret, accepted until ``previous_expire_time`` (its grace period).
    previous_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    previous_expire_time: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BatchReceiptRow(Base):
    """The answer to a batch sent with an ``Idempotency-Key``, kept for a day so that the same
    batch sent again (its answer was lost, a spooled copy is replayed) is answered, not redone.
    ``request_hash`` tells a retry from another batch that reuses the key."""

    __tablename__ = "batch_receipts"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Who sent it ("" without access control): another token's key is not its answer.
    principal: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    answer: Mapped[dict[str, Any]] = mapped_column(Document)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# ---------------------------------------------------------------- the model registry


class RegisteredModelRow(Audited, Base):
    """A registered model: a name unique in the store, and the counter that numbers its
    versions (a number is never given twice, even after its version was deleted)."""

    __tablename__ = "registered_models"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[dict[str, str]] = mapped_column(Document, default=dict)
    last_version: Mapped[int] = mapped_column(Integer, default=0)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelVersionRow(Audited, Base):
    """Version ``version`` of a registered model: one artifact, and so its lineage."""

    __tablename__ = "model_versions"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    model_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    artifact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("artifacts.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[dict[str, str]] = mapped_column(Document, default=dict)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
    )


class ModelAliasRow(Base):
    """Where an alias of a model points now. A protected alias keeps its row (and its
    protection) while it points at nothing."""

    __tablename__ = "model_aliases"
    model_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(256), primary_key=True)
    version: Mapped[int | None] = mapped_column(Integer)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    update_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_by_name: Mapped[str | None] = mapped_column(String(256))
    reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_model_aliases_model_id_version", "model_id", "version"),)


class ModelAliasEventRow(Base):
    """One change of an alias, kept for good: where it pointed before and after, who changed
    it, when and why. What an alias pointed at at any time is the last event before it."""

    __tablename__ = "model_alias_events"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    model_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE")
    )
    alias: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(16))
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int | None] = mapped_column(Integer)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    # The change's number within its model: changes of one model are made one at a time
    # (its row is locked), so this orders them even when two share a clock reading.
    seq: Mapped[int] = mapped_column(Integer)
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_name: Mapped[str | None] = mapped_column(String(256))
    reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("model_id", "seq", name="uq_model_alias_events_model_id_seq"),
        Index("ix_model_alias_events_model_alias_seq", "model_id", "alias", "seq"),
        Index("ix_model_alias_events_alias_time", "alias", "time"),
    )


class MlflowStateRow(Base):
    """What MLflow's API keeps of an experiment or a run beyond modeltrail's entity: its
    lifecycle stage (MLflow deletes softly and restores), the run status MLflow tells apart
    (KILLED and SCHEDULED beside modeltrail's three) and an experiment's artifact location.
    A row exists only once MLflow's API changed one of them; without it an entity is active."""

    __tablename__ = "mlflow_states"
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    delete_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str | None] = mapped_column(String(16))
    artifact_location: Mapped[str | None] = mapped_column(Text)
    update_time: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MetricValue(TypeDecorator[float]):
    """A metric's value: NaN is kept as NULL on both databases (SQLite cannot hold NaN, and
    PostgreSQL sorts it above every number), so that a list sorts and filters alike on either;
    the infinities are kept as they are."""

    impl = Double()
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Any) -> float | None:
        return None if value is None or value != value else value


class MetricSeriesRow(Base):
    """One series: the points of one key logged by a run itself (``execution_id`` NULL) or by
    one of its steps, with its summary kept as points arrive. The points are in
    ``metric_chunks``."""

    __tablename__ = "metric_series"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    execution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(250))
    # The artifact the metric measures (a model), when the client said.
    artifact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("artifacts.id", ondelete="SET NULL"), index=True
    )
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    # Values that are NaN or infinite: reads take the careful path only when there are some.
    nonfinite: Mapped[int] = mapped_column(BigInteger, default=0)
    # Every point was logged at a step no lower than the ones before: reads need not sort.
    ordered: Mapped[bool] = mapped_column(Boolean, default=True)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    min_value: Mapped[float | None] = mapped_column(MetricValue)
    max_value: Mapped[float | None] = mapped_column(MetricValue)
    latest_value: Mapped[float | None] = mapped_column(MetricValue)
    latest_step: Mapped[int | None] = mapped_column(BigInteger)
    latest_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    first_step: Mapped[int | None] = mapped_column(BigInteger)
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_metric_series_run_key", "run_id", "key"),
        # One series per key for the run itself, and one per key for each of its steps.
        Index(
            "uq_metric_series_run_key",
            "run_id",
            "key",
            unique=True,
            sqlite_where=execution_id.is_(None),
            postgresql_where=execution_id.is_(None),
        ),
        Index(
            "uq_metric_series_execution_key",
            "execution_id",
            "key",
            unique=True,
            sqlite_where=execution_id.isnot(None),
            postgresql_where=execution_id.isnot(None),
        ),
    )


class MetricChunkRow(Base):
    """Up to ``store.series.CHUNK`` points of one series, in the order they were logged, packed
    as three little-endian arrays: steps (int64), timestamps (int64), values (float64)."""

    __tablename__ = "metric_chunks"
    series_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("metric_series.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    step_min: Mapped[int] = mapped_column(BigInteger)
    step_max: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RunMetricRow(Base):
    """A run's key over all its series (its own and its steps'): the latest, least and
    greatest value, what the runs grid sorts and filters on without reading points. The
    latest is the point of the greatest step (then timestamp, then the last logged)."""

    __tablename__ = "run_metrics"
    run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    min_value: Mapped[float | None] = mapped_column(MetricValue)
    max_value: Mapped[float | None] = mapped_column(MetricValue)
    latest_value: Mapped[float | None] = mapped_column(MetricValue)
    latest_step: Mapped[int | None] = mapped_column(BigInteger)
    latest_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    first_step: Mapped[int | None] = mapped_column(BigInteger)
    last_step: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        # The grid sorts one key's runs by a value.
        Index("ix_run_metrics_key_latest", "key", "latest_value"),
    )


class ArtifactFileRow(Base):
    """A file of an artifact: its path within the artifact and the content it holds (by
    sha256; the bytes are in the file store, once per sha256)."""

    __tablename__ = "artifact_files"
    artifact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FileUploadRow(Base):
    """A multipart upload under way: its parts are in the file store until it is completed
    (then it becomes an ``ArtifactFileRow``) or aborted."""

    __tablename__ = "file_uploads"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    artifact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    # What the file store knows the upload by (an S3 multipart upload's id).
    handle: Mapped[str] = mapped_column(Text)
    direct: Mapped[bool] = mapped_column(Boolean, default=False)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # When a request claimed the upload to complete or abort it (None: nobody has): the
    # claim is taken by one conditional UPDATE, so that only one request ever goes on.
    claim_time: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SearchEntryRow(Base):
    """What free-text search finds of one entity: its name, uri, description and annotation
    values, kept by triggers on the entity tables (migration 0011), so that every write path
    (single writes, batches, imports, restores) keeps it in step. The full-text index over it
    is an FTS5 table on SQLite and the ``document`` tsvector column (GIN) on PostgreSQL, both
    outside this mapping: only the database writes them."""

    __tablename__ = "search_entries"
    # SQLite's rowid (an INTEGER PRIMARY KEY survives VACUUM), which the FTS5 table refers to.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    # The id as 32 hexadecimal digits, for matching an id by its beginning.
    ident: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(256))
    uri: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    # The annotation (tag) values, separated by spaces.
    annotations: Mapped[str | None] = mapped_column(Text)


def entity_rows() -> dict[str, type[Base]]:
    """The row class of each entity of the registry (``domain.entities``), by entity name."""
    by_table = {
        cls.__tablename__: cls for cls in (mapper.class_ for mapper in Base.registry.mappers)
    }
    return {name: by_table[e.table] for name, e in ENTITIES.items()}
