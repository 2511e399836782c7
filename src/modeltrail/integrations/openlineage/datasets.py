"""OpenLineage in: input and output datasets become artifacts, their facets the attributes.

A dataset is filed under the kind another modeltrail server sent with it when this store can
keep it there, else as a ``dataset``; the artifacts of an event are created or merged all at
once; a dataset a run both read and wrote gets a version of its own for the write.

A model's registered versions and their aliases (``modeltrail_model``'s
``registeredVersions``) are the sender's registry at the event's time, which run events and
``DatasetEvent``s both carry: the list of the latest ``eventTime`` is kept whole, whichever
order the events arrive in (its time in the annotation ``openlineage.registeredAt``); merged
key by key with another, a version deleted or an alias removed would stay for good, and an
older list arriving late would win as often as not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from modeltrail.domain import kinds
from modeltrail.domain import models as m
from modeltrail.domain.documents import refused_at, time_or_none
from modeltrail.domain.fingerprint import canonical_json
from modeltrail.integrations.openlineage.merging import (
    as_object,
    clean_facets,
    derived_id,
    entity_name,
    fitted_uri,
    merge,
)
from modeltrail.services.metadata import Transaction
from modeltrail.store import lineage as store
from modeltrail.store.bulk import BulkWriter, Created
from modeltrail.store.kinds import read_latest_kind
from modeltrail.store.tables import ArtifactRow


def _sent_kind(facets: dict[str, Any]) -> str:
    """The kind another modeltrail server gave the dataset, else ``dataset``."""
    for facet in ("modeltrail_artifact", "modeltrail_model"):
        kind = as_object(facets.get(facet)).get("kind")
        if isinstance(kind, str) and kind:
            return kind
    return "dataset"


def _kind_here(tx: Transaction, kind: str, attributes: dict[str, Any]) -> str:
    """``kind`` when this store can file the dataset under it: the kind is registered and the
    attributes fit its schema (and set none of its references, which name artifacts of the
    sender), or it is new and this store takes new kinds; else ``dataset``, so that an event is
    never refused for the kind it carries."""
    if kind == "dataset":
        return kind
    row = read_latest_kind(tx.session, kind)
    if row is None:
        return "dataset" if tx.meta.strict_kinds else kind
    if kinds.attributes_errors(kind, row.version, row.schema_, attributes):
        return "dataset"
    if any(attributes.get(p) is not None for p in kinds.reference_properties(row.schema_)):
        return "dataset"
    return kind


def _dataset_model(
    dataset: dict[str, Any], extra_facets: dict[str, Any] | None, written_by: str | None
) -> m.ArtifactCreate:
    namespace, name = dataset.get("namespace") or "default", dataset["name"]
    facets = clean_facets({**(dataset.get("facets") or {}), **(extra_facets or {})})
    version_facet = facets.get("version") or {}
    version = (
        str(version_facet.get("datasetVersion") or "") if isinstance(version_facet, dict) else ""
    )
    if written_by:
        # The job read and wrote the same dataset: what it wrote is a new version of it.
        version = f"written by run {written_by}"
    scheme = namespace.split("://", 1)[0] if "://" in namespace else namespace
    sep = "" if namespace.endswith("/") or name.startswith("/") else "/"
    return m.ArtifactCreate(
        id=derived_id("dataset", namespace, name, version),
        name=entity_name(name),
        version=entity_name(version or "1"),
        kind=_sent_kind(facets),
        uri=fitted_uri(f"{namespace}{sep}{name}"),
        attributes={"type": scheme, "namespace": namespace, "name": name, **facets},
        annotations={"openlineage.namespace": namespace},
    )


REGISTERED_AT = "openlineage.registeredAt"
_MISSING = object()


def _instant(text: Any) -> datetime | None:
    """An event time as a UTC instant (None where it is none), so that times written with
    other offsets or digits compare as the instants they are."""
    try:
        at = time_or_none(text)
    except (ValueError, TypeError):
        return None
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _without_versions(model: m.ArtifactCreate) -> tuple[m.ArtifactCreate, Any]:
    """``model`` without the registered versions its ``modeltrail_model`` facet sends, and
    those versions (``_MISSING`` where it sends none)."""
    facet = model.attributes.get("modeltrail_model")
    if not isinstance(facet, dict) or "registeredVersions" not in facet:
        return model, _MISSING
    rest = {k: v for k, v in facet.items() if k != "registeredVersions"}
    attributes = {**model.attributes, "modeltrail_model": rest}
    return model.model_copy(update={"attributes": attributes}), facet["registeredVersions"]


def registered_versions(tx: Transaction, artifact: uuid.UUID, at: str, versions: Any) -> None:
    """The versions a model is registered as, as the event of the latest time says; of two
    events of one time, the same list whichever came first."""
    stored = tx.read("artifact", artifact)
    assert stored is not None
    sent = _instant(at)
    kept_at = stored.annotations.get(REGISTERED_AT)
    if kept_at is not None:
        kept = _instant(kept_at)
        current = as_object(stored.attributes.get("modeltrail_model")).get("registeredVersions")
        if sent is None or (kept is not None and kept > sent):
            return
        if kept == sent and canonical_json(current) >= canonical_json(versions):
            return
    model = {**as_object(stored.attributes.get("modeltrail_model")), "registeredVersions": versions}
    tx.update(
        "artifact",
        artifact,
        m.ArtifactUpdate(
            attributes={**stored.attributes, "modeltrail_model": model},
            annotations={**stored.annotations, REGISTERED_AT: at},
        ),
    )


def ensure_datasets(
    tx: Transaction,
    datasets: list[tuple[dict[str, Any], dict[str, Any] | None]],
    *,
    written_by: str | None = None,
    pointer: str = "",
    at: str | None = None,
) -> list[uuid.UUID]:
    """The artifacts of ``datasets`` (each with its input or output facets), created or with
    their attributes merged. ``at``: the event's time, by which a model's registered
    versions are kept whole (without it they merge as any facet does).

    Done for all of them at once (one query for the stored ones, one insert for the new): an
    event may list thousands of datasets, and a query and a flush for each would make the
    event's time grow with round trips to the database."""
    models: dict[uuid.UUID, m.ArtifactCreate] = {}
    registrations: dict[uuid.UUID, Any] = {}
    ids = []
    for i, (dataset, extra_facets) in enumerate(datasets):
        with refused_at(f"{pointer}/{i}" if pointer else ""):
            model = _dataset_model(dataset, extra_facets, written_by)
        aid = model.id
        assert aid is not None  # a dataset's id is derived from its name
        ids.append(aid)
        if at is not None:
            model, versions = _without_versions(model)
            if versions is not _MISSING:
                earlier_versions = registrations.get(aid, versions)
                registrations[aid] = max(earlier_versions, versions, key=canonical_json)
        earlier = models.get(aid)
        if earlier is not None:  # listed twice: one artifact with the facets of both
            merged = merge(earlier.attributes, model.attributes)
            model = model.model_copy(update={"attributes": merged})
        models[aid] = model
    stored = dict(
        store.columns_among(tx.session, ArtifactRow, "id", ("id", "attributes"), list(models))
    )
    for aid, model in models.items():
        current = stored.get(aid.hex)
        if current is not None:
            merged = merge(current, model.attributes)
            if merged != current:
                with refused_at(pointer):
                    tx.update("artifact", aid, m.ArtifactUpdate(attributes=merged))
    new = [model for aid, model in models.items() if aid.hex not in stored]
    for i, model in enumerate(new):
        if model.kind != "dataset":
            new[i] = model.model_copy(update={"kind": _kind_here(tx, model.kind, model.attributes)})
    _create_artifacts(tx, new)
    for aid, versions in registrations.items():
        assert at is not None
        registered_versions(tx, aid, at, versions)
    return ids


def _create_artifacts(tx: Transaction, models: list[m.ArtifactCreate]) -> None:
    """Create new artifacts with one insert, through the path batches take."""
    # A plugin enriches a create into a create of the same entity.
    models = [cast(m.ArtifactCreate, tx.meta.enrich("artifact", "create", a)) for a in models]
    writer = BulkWriter(tx.session, [("create", "artifact", model) for model in models])
    tell = tx.meta.hooks.listens("stored")
    for model in models:
        created, _ = writer.create("artifact", model, lambda d: (tx.create("artifact", d), True))
        if tell and isinstance(created, Created):  # the ordinary path told the hooks itself
            tx.written.append(("artifact", "create", created.entity()))
    writer.flush()


def ensure_dataset(
    tx: Transaction,
    dataset: dict[str, Any],
    *,
    extra_facets: dict[str, Any] | None = None,
    written_by: str | None = None,
    pointer: str = "",
    at: str | None = None,
) -> uuid.UUID:
    found = ensure_datasets(
        tx, [(dataset, extra_facets)], written_by=written_by, pointer=pointer, at=at
    )
    return found[0]


def written_version(tx: Transaction, artifact: uuid.UUID, run_id: str) -> uuid.UUID:
    """The version of a dataset that this run wrote, when it also read the dataset."""
    stored = tx.read("artifact", artifact)
    assert stored is not None
    attrs = stored.attributes
    if str(stored.version).startswith("written by run "):
        return artifact
    facets = {k: v for k, v in attrs.items() if k not in {"type", "namespace", "name"}}
    return ensure_dataset(
        tx,
        {
            "namespace": attrs.get("namespace"),
            "name": attrs.get("name", stored.name),
            "facets": facets,
        },
        written_by=run_id,
        pointer="/outputs",
    )
