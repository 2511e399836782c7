"""OpenLineage in: RunEvents, JobEvents and DatasetEvents become modeltrail metadata.

The mapping (docs/integrations.md):

- job namespace -> experiment; the root job (the DAG, or the job itself) -> pipeline;
  every job -> executable;
- the root run (the ``parent`` facet's ``root``, else its parent, else the run itself) -> run;
  every OpenLineage run -> an execution of that run;
- START/RUNNING/OTHER -> RUNNING, COMPLETE -> SUCCESS, FAIL/ABORT -> FAILED, with start and
  end times; inputs/outputs -> ``dataset`` artifacts whose attributes are the facets;
  ``errorMessage`` -> annotations; ``nominalTime`` -> a ``schedule`` trigger event.

What another modeltrail server sends (its ``openlineage`` plugin, ``events``) comes back as it
was there: a run's own events (``jobType`` integration ``MODELTRAIL``, no ``parent``) are the
run alone, not an execution of it, and its job is not an executable; a dataset's
``modeltrail_artifact`` (or ``modeltrail_model``) facet gives its kind, when this store has
the kind, or takes new ones, and the attributes fit it.

Events arrive late, twice and out of order. Every identity is a uuid5 of OpenLineage names and
run ids, and every field is merged with a rule that does not depend on arrival order: times
take the earliest start and the terminal event's time, a terminal status is never replaced by
a later START, a later terminal event wins over an earlier one, and facets merge key by key.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, cast

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from sqlalchemy.exc import IntegrityError

from modeltrail.domain import kinds, limits
from modeltrail.domain import models as m
from modeltrail.domain.documents import (
    as_text,
    fitted,
    nul_errors,
    number_errors,
    refused_at,
    time_or_none,
)
from modeltrail.domain.errors import Conflict, CycleDetected, InvalidInput, Unavailable
from modeltrail.domain.fingerprint import canonical_json
from modeltrail.services import access
from modeltrail.services.metadata import Metadata, Transaction
from modeltrail.store import lineage as store
from modeltrail.store.bulk import BulkWriter, Created
from modeltrail.store.kinds import read_latest_kind
from modeltrail.store.tables import ArtifactRow, RunRow

log = logging.getLogger("modeltrail.openlineage")

SPEC_PATH = Path(__file__).parent / "specs" / "OpenLineage-2-0-2.json"
# uuid5 namespace of every id this module derives from OpenLineage names.
ID_NAMESPACE = uuid.UUID("5d1c4f0e-7a57-4f0b-9a43-6f70656e6c69")

STATUS = {
    "START": m.Status.RUNNING,
    "RUNNING": m.Status.RUNNING,
    "OTHER": m.Status.RUNNING,
    "COMPLETE": m.Status.SUCCESS,
    "FAIL": m.Status.FAILED,
    "ABORT": m.Status.FAILED,
}
# Facets that become relations or annotations rather than configuration.
SPECIAL_RUN_FACETS = {"parent", "nominalTime", "errorMessage", "modeltrail_trigger"}

TERMINAL = {m.Status.SUCCESS, m.Status.FAILED}
# The ``jobType`` integration of the events another modeltrail server sends (``events``).
MODELTRAIL = "MODELTRAIL"


def derived_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(ID_NAMESPACE, "\x1f".join(parts))


# ---------------------------------------------------------------- validation


@cache
def _validators() -> dict[str, Draft202012Validator]:
    spec = json.loads(SPEC_PATH.read_text())
    spec.pop("oneOf", None)
    checker = FormatChecker(formats=["uuid"])
    return {
        name: Draft202012Validator({**spec, "$ref": f"#/$defs/{name}"}, format_checker=checker)
        for name in ("RunEvent", "JobEvent", "DatasetEvent")
    }


def event_type(event: Any, pointer: str = "") -> str:
    """Which of the three events this is, told by its shape (as the spec's ``oneOf`` does)."""
    if not isinstance(event, dict):
        raise InvalidInput(
            "an OpenLineage event must be a JSON object",
            errors=[{"pointer": pointer or "/", "detail": "not an object"}],
        )
    if "run" in event:
        return "RunEvent"
    if "dataset" in event:
        return "DatasetEvent"
    if "job" in event:
        return "JobEvent"
    raise InvalidInput(
        "not an OpenLineage event: a RunEvent has 'run' and 'job', a JobEvent 'job', "
        "a DatasetEvent 'dataset'",
        errors=[{"pointer": pointer or "/", "detail": "needs 'run', 'job' or 'dataset'"}],
    )


def _leaf(error: ValidationError) -> ValidationError:
    while error.context:
        error = best_match(error.context) or error.context[0]
    return error


def validation_errors(event: Any, pointer: str = "") -> list[dict[str, str]]:
    kind = event_type(event, pointer)
    too_many = _too_many_datasets(event, pointer)
    if too_many:
        return too_many  # before the schema is checked: that alone takes long for such lists
    out = []
    for error in sorted(
        _validators()[kind].iter_errors(event), key=lambda e: list(e.absolute_path)
    ):
        leaf = _leaf(error)
        parts = list(leaf.absolute_path)
        if leaf.validator == "required" and isinstance(leaf.instance, dict):
            # One error per missing property, each saying which one ("'x' is a required ...").
            required: list[str] = leaf.validator_value  # type: ignore[assignment]
            missing = [p for p in required if p not in leaf.instance]
            parts += [next((p for p in missing if leaf.message.startswith(repr(p))), missing[0])]
        path = "".join(f"/{p}" for p in parts)
        out.append({"pointer": pointer + path or "/", "detail": f"{leaf.message} ({kind})"})
    if out:
        return out  # the checks below rely on the shape the schema gives
    return storage_errors(event, pointer)


def _too_many_datasets(event: dict[str, Any], pointer: str) -> list[dict[str, str]]:
    # An execution holds at most MAX_LIST input and MAX_LIST output artifacts.
    return [
        {
            "pointer": f"{pointer}/{side}",
            "detail": f"at most {limits.MAX_LIST} {side} are accepted in one event, "
            f"not {len(event[side])}",
        }
        for side in ("inputs", "outputs")
        if isinstance(event.get(side), list) and len(event[side]) > limits.MAX_LIST
    ]


def _named_parts(event: dict[str, Any]) -> list[tuple[str, Any]]:
    """Pointers to the jobs and datasets of an event, with what each is."""
    parts: list[tuple[str, Any]] = [("/job", event.get("job")), ("/dataset", event.get("dataset"))]
    parent = ((event.get("run") or {}).get("facets") or {}).get("parent")
    if isinstance(parent, dict):
        parts += [
            ("/run/facets/parent/job", parent.get("job")),
            ("/run/facets/parent/root/job", (parent.get("root") or {}).get("job")),
        ]
    for side in ("inputs", "outputs"):
        parts += [(f"/{side}/{i}", d) for i, d in enumerate(event.get(side) or [])]
    return [(where, part) for where, part in parts if isinstance(part, dict)]


def _parent_errors(event: dict[str, Any], pointer: str) -> list[dict[str, str]]:
    """The parent facet (the schema of the event leaves facets open) names a job and a run:
    what the run is filed under."""
    parent = ((event.get("run") or {}).get("facets") or {}).get("parent")
    if parent is None:
        return []
    where = f"{pointer}/run/facets/parent"
    if not isinstance(parent, dict):
        return [{"pointer": where, "detail": "must be an object"}]
    errors = []
    for at, part in ((where, parent), (f"{where}/root", parent.get("root"))):
        if part is None and at != where:
            continue
        if not isinstance(part, dict):
            errors.append({"pointer": at, "detail": "must be an object"})
            continue
        for name, fields in (("job", ("namespace", "name")), ("run", ("runId",))):
            value = part.get(name)
            if not isinstance(value, dict):
                errors.append({"pointer": f"{at}/{name}", "detail": "must be an object"})
                continue
            errors += [
                {"pointer": f"{at}/{name}/{field}", "detail": "must be a string"}
                for field in fields
                if not isinstance(value.get(field), str)
            ]
    return errors


def storage_errors(event: dict[str, Any], pointer: str = "") -> list[dict[str, str]]:
    """What the schema allows but no store can keep: NUL characters, numbers beyond 64 bits
    or not finite, times outside the years 1 to 9999 in UTC, names too long to keep in full
    (MAX_TEXT characters), and a parent facet without the job and run it names."""
    errors = nul_errors(event, pointer) + number_errors(event, pointer)
    errors += _parent_errors(event, pointer)
    if "eventTime" in event:
        try:
            time_or_none(event["eventTime"])
        except ValueError as exc:
            errors.append({"pointer": f"{pointer}/eventTime", "detail": str(exc)})
    for where, part in _named_parts(event):
        for field in ("namespace", "name"):
            value = part.get(field)
            if isinstance(value, str) and len(value) > limits.MAX_TEXT:
                errors.append(
                    {
                        "pointer": f"{pointer}{where}/{field}",
                        "detail": f"at most {limits.MAX_TEXT} characters are kept, "
                        f"not {len(value)}",
                    }
                )
    return errors


def validate_event(event: Any) -> str:
    """Raise InvalidInput naming every field that breaks the OpenLineage schema or that no
    store can keep."""
    errors = validation_errors(event)
    if errors:
        raise InvalidInput(
            f"the event is invalid in {len(errors)} place(s): "
            + "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors[:3]),
            errors=errors,
        )
    return event_type(event)


# ---------------------------------------------------------------- merging


def merge(a: Any, b: Any) -> Any:
    """Merge two facet values so that the order of arrival does not matter: objects key by
    key, otherwise equal values stay and different values resolve to the same one whichever
    came first."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {
            k: merge(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k))
            for k in sorted(a.keys() | b.keys())
        }
    if a == b:
        return a
    return a if canonical_json(a) >= canonical_json(b) else b


def _clean(facets: dict[str, Any] | None, skip: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in {"_producer", "_schemaURL"}}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return {k: strip(v) for k, v in (facets or {}).items() if k not in skip}


def _name(value: str) -> str:
    """``value`` as an entity name: names longer than MAX_NAME are shortened, visibly; the
    full name is kept where it fits (the ``openlineage.job`` annotation, dataset attributes)."""
    return fitted(value, limits.MAX_NAME) or "-"


def _uri(value: str) -> str | None:
    # A URI cut short would name another place: one too long is left out.
    return value if len(value) <= limits.MAX_URI else None


def _job_annotation(name: str) -> dict[str, str]:
    """The full job name, for an entity whose name had to be shortened."""
    return {"openlineage.job": name} if len(name) > limits.MAX_NAME else {}


def _pick(current: str, new: str, default: str) -> str:
    if current == default:
        return new
    if new == default:
        return current
    return max(current, new)


# ---------------------------------------------------------------- the writers


def _ensure_experiment(tx: Transaction, namespace: str) -> uuid.UUID:
    eid = derived_id("experiment", namespace)
    if tx.read("experiment", eid) is None:
        tx.create(
            "experiment",
            m.ExperimentCreate(
                id=eid,
                name=_name(namespace),
                annotations={"openlineage.namespace": namespace},
            ),
        )
    return eid


def _ensure_executable(
    tx: Transaction, namespace: str, name: str, facets: dict[str, Any]
) -> uuid.UUID:
    xid = derived_id("executable", namespace, name)
    facets = _clean(facets)
    annotations = {"openlineage.namespace": namespace, "openlineage.job": name}
    for facet, value in sorted(facets.items()):
        if facet == "documentation":
            continue
        if facet == "sql" and isinstance(value, dict) and "query" in value:
            annotations["openlineage.sql"] = as_text(value["query"])
        else:
            annotations[fitted(f"openlineage.{facet}", limits.MAX_NAME)] = as_text(value)
    description = (facets.get("documentation") or {}).get("description")
    current = tx.read("executable", xid)
    if current is None:
        tx.create(
            "executable",
            m.ExecutableCreate(
                id=xid,
                name=_name(name),
                uri=_uri(f"openlineage://{namespace}/{name}"),
                description=as_text(description) if description else None,
                annotations=annotations,
            ),
        )
        return xid
    merged = merge(current.annotations, annotations)
    new_description = (
        merge(current.description, description) if description else current.description
    )
    if merged != current.annotations or new_description != current.description:
        tx.update(
            "executable", xid, m.ExecutableUpdate(annotations=merged, description=new_description)
        )
    return xid


def _ensure_pipeline(
    tx: Transaction, namespace: str, name: str, executable: uuid.UUID | None
) -> uuid.UUID:
    pid = derived_id("pipeline", namespace, name)
    current = tx.read("pipeline", pid)
    if current is None:
        tx.create(
            "pipeline",
            m.PipelineCreate(
                id=pid,
                name=_name(name),
                uri=_uri(f"openlineage://{namespace}/{name}"),
                executables=[executable] if executable else [],
                annotations={"openlineage.namespace": namespace, **_job_annotation(name)},
            ),
        )
        return pid
    if executable is not None and executable not in current.executables:
        # Sorted so that the list does not depend on which task reported first.
        executables = sorted({*current.executables, executable}, key=str)
        tx.update("pipeline", pid, m.PipelineUpdate(executables=executables))
    return pid


def _sent_kind(facets: dict[str, Any]) -> str:
    """The kind another modeltrail server gave the dataset, else ``dataset``."""
    for facet in ("modeltrail_artifact", "modeltrail_model"):
        kind = _object(facets.get(facet)).get("kind")
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
    facets = _clean({**(dataset.get("facets") or {}), **(extra_facets or {})})
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
        name=_name(name),
        version=_name(version or "1"),
        kind=_sent_kind(facets),
        uri=_uri(f"{namespace}{sep}{name}"),
        attributes={"type": scheme, "namespace": namespace, "name": name, **facets},
        annotations={"openlineage.namespace": namespace},
    )


def _datasets(
    tx: Transaction,
    datasets: list[tuple[dict[str, Any], dict[str, Any] | None]],
    *,
    written_by: str | None = None,
    pointer: str = "",
) -> list[uuid.UUID]:
    """The artifacts of ``datasets`` (each with its input or output facets), created or with
    their attributes merged.

    Done for all of them at once (one query for the stored ones, one insert for the new): an
    event may list thousands of datasets, and a query and a flush for each would make the
    event's time grow with round trips to the database."""
    models: dict[uuid.UUID, m.ArtifactCreate] = {}
    ids = []
    for i, (dataset, extra_facets) in enumerate(datasets):
        with refused_at(f"{pointer}/{i}" if pointer else ""):
            model = _dataset_model(dataset, extra_facets, written_by)
        aid = model.id
        assert aid is not None  # a dataset's id is derived from its name
        ids.append(aid)
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


def _dataset(
    tx: Transaction,
    dataset: dict[str, Any],
    *,
    extra_facets: dict[str, Any] | None = None,
    written_by: str | None = None,
    pointer: str = "",
) -> uuid.UUID:
    return _datasets(tx, [(dataset, extra_facets)], written_by=written_by, pointer=pointer)[0]


def _written_version(tx: Transaction, artifact: uuid.UUID, run_id: str) -> uuid.UUID:
    """The version of a dataset that this run wrote, when it also read the dataset."""
    stored = tx.read("artifact", artifact)
    assert stored is not None
    attrs = stored.attributes
    if str(stored.version).startswith("written by run "):
        return artifact
    facets = {k: v for k, v in attrs.items() if k not in {"type", "namespace", "name"}}
    return _dataset(
        tx,
        {
            "namespace": attrs.get("namespace"),
            "name": attrs.get("name", stored.name),
            "facets": facets,
        },
        written_by=run_id,
        pointer="/outputs",
    )


AIRFLOW_RUN_TYPES = {
    "manual": "manual",
    "scheduled": "schedule",
    "backfill": "backfill",
    "dataset_triggered": "data change",
    "asset_triggered": "data change",
}


def trigger_details(facets: dict[str, Any]) -> dict[str, Any] | None:
    """What started the run, from ``nominalTime`` (a schedule), Airflow's run facets and
    modeltrail's own ``modeltrail_trigger``."""
    details: dict[str, Any] = {}
    nominal = facets.get("nominalTime")
    if isinstance(nominal, dict) and nominal.get("nominalStartTime"):
        details.update(cause="schedule", nominalStartTime=nominal["nominalStartTime"])
        if nominal.get("nominalEndTime"):
            details["nominalEndTime"] = nominal["nominalEndTime"]
    airflow = _object(facets.get("airflow"))
    dag_run = _object(airflow.get("dagRun"))
    run_args = _object(facets.get("airflow_runArgs"))
    run_type = dag_run.get("run_type")
    if run_type in AIRFLOW_RUN_TYPES:
        details.update(cause=AIRFLOW_RUN_TYPES[run_type], airflowRunType=run_type)
    elif dag_run.get("external_trigger") is True or run_args.get("externalTrigger") is True:
        details.update(cause="manual", externalTrigger=True)
    # What another modeltrail server sent (its openlineage plugin): the trigger as it knew it.
    own = _object(facets.get("modeltrail_trigger"))
    if own:
        details.update(_object(own.get("attributes")))
        cause = own.get("cause")
        if not isinstance(cause, str) or not cause:
            cause = details.get("cause") if isinstance(details.get("cause"), str) else None
        details["cause"] = cause or (own["kind"] if isinstance(own.get("kind"), str) else "trigger")
    return details or None


def _trigger(tx: Transaction, root_run: str, details: dict[str, Any]) -> uuid.UUID:
    tid = derived_id("trigger", root_run)
    current = tx.read("artifact", tid)
    if current is None:
        tx.create(
            "artifact",
            m.ArtifactCreate(
                id=tid,
                name=_name(f"{details['cause']}: run {root_run}"),
                kind="event",
                attributes=details,
                annotations={"openlineage.runId": root_run},
            ),
        )
        return tid
    merged = merge(current.attributes, details)
    if merged != current.attributes:
        tx.update(
            "artifact",
            tid,
            m.ArtifactUpdate(attributes=merged, name=_name(f"{merged['cause']}: run {root_run}")),
        )
    return tid


def _status_change(
    current_status: str, current_end: datetime | None, status: m.Status, at: datetime | None
) -> bool:
    """Whether an event with ``status`` at ``at`` should replace the stored status: a terminal
    status is never undone by a late START, and among terminal events the later one wins (on
    a tie, FAILED)."""
    if status not in TERMINAL:
        return False
    if current_status not in TERMINAL:
        return True
    if at is None or current_end is None:
        return current_status != status and status == m.Status.FAILED
    return at > current_end or (
        at == current_end and status == m.Status.FAILED and current_status != status
    )


def _error_annotations(facets: dict[str, Any], event_type_name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    error = facets.get("errorMessage")
    if isinstance(error, dict):
        if error.get("message"):
            out["openlineage.errorMessage"] = as_text(error["message"])
        if error.get("programmingLanguage"):
            out["openlineage.programmingLanguage"] = as_text(error["programmingLanguage"])
        if error.get("stackTrace"):
            out["openlineage.stackTrace"] = as_text(error["stackTrace"])
    if event_type_name == "ABORT":
        out["openlineage.aborted"] = "true"
    return out


def _object(value: Any) -> dict[str, Any]:
    """A facet's JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _apply_run(tx: Transaction, event: dict[str, Any], *, separate_outputs: bool) -> dict[str, Any]:
    at = time_or_none(event.get("eventTime"))
    kind = event.get("eventType") or "OTHER"
    status = STATUS.get(kind, m.Status.RUNNING)
    job, run = event["job"], event["run"]
    namespace, job_name, run_id = job["namespace"], job["name"], str(run["runId"]).lower()
    facets = run.get("facets") or {}
    parent: dict[str, Any] | None = (
        facets.get("parent") if isinstance(facets.get("parent"), dict) else None
    )
    root = (parent or {}).get("root") or parent
    if (
        root
        and (root.get("run") or {}).get("runId")
        and str(root["run"]["runId"]).lower() != run_id
    ):
        root_ns, root_name = root["job"]["namespace"], root["job"]["name"]
        root_run = str(root["run"]["runId"]).lower()
        root_job = "/run/facets/parent" + ("/root" if (parent or {}).get("root") else "") + "/job"
    else:
        root_ns, root_name, root_run = namespace, job_name, run_id
        root_job = "/job"
    is_root = root_run == run_id
    # Another modeltrail server's events: its run's job is the run's pipeline (or experiment),
    # not a job of a step, and the run's own events are the run alone.
    from_modeltrail = _object(_object(job.get("facets")).get("jobType")).get("integration") == (
        MODELTRAIL
    )
    run_only = (
        from_modeltrail
        and is_root
        and parent is None
        and not event.get("inputs")
        and not event.get("outputs")
    )

    with refused_at(f"{root_job}/namespace"):
        experiment = _ensure_experiment(tx, root_ns)
    with refused_at("/job"):
        job_facets = job.get("facets") or {}
        executable = None if run_only else _ensure_executable(tx, namespace, job_name, job_facets)
    with refused_at(root_job):
        if is_root:
            root_executable = executable
        else:
            root_executable = (
                None if from_modeltrail else _ensure_executable(tx, root_ns, root_name, {})
            )
        pipeline = _ensure_pipeline(tx, root_ns, root_name, root_executable)
        if not is_root:
            _ensure_pipeline(tx, root_ns, root_name, executable)

    inputs = _datasets(
        tx, [(d, d.get("inputFacets")) for d in event.get("inputs") or []], pointer="/inputs"
    )
    outputs = _datasets(
        tx, [(d, d.get("outputFacets")) for d in event.get("outputs") or []], pointer="/outputs"
    )
    if separate_outputs:
        outputs = [_written_version(tx, a, run_id) for a in outputs]
    details = trigger_details(facets)
    with refused_at("/run/facets"):
        trigger = _trigger(tx, root_run, details) if details else None

    config = _clean(facets, SPECIAL_RUN_FACETS)
    errors = _error_annotations(facets, kind)
    run_pk = derived_id("run", root_run)
    # Where the fields of the run and the execution come from in the event.
    sources = {
        "configuration": "/run/facets",
        "annotations": "/run/facets/errorMessage",
        "createTime": "/eventTime",
        "startTime": "/eventTime",
        "endTime": "/eventTime",
        "kind": "/job/facets/jobType",
        "inputArtifacts": "/inputs",
        "outputArtifacts": "/outputs",
    }
    with refused_at(root_job, sources):
        _write_run(
            tx,
            run_pk,
            experiment=experiment,
            pipeline=pipeline,
            name=root_name,
            root_run=root_run,
            root_ns=root_ns,
            at=at,
            trigger=trigger,
            own=(status, kind, config, errors) if is_root else None,
        )
    if executable is None:
        return {
            "eventType": kind,
            "run": str(run_pk),
            "inputs": [str(i) for i in inputs],
            "outputs": [str(o) for o in outputs],
        }
    exec_pk = derived_id("execution", run_id)
    with refused_at("/job", sources):
        _write_execution(
            tx,
            exec_pk,
            run=run_pk,
            executable=executable,
            job_name=job_name,
            run_id=run_id,
            namespace=namespace,
            job_facets=job.get("facets") or {},
            status=status,
            kind=kind,
            at=at,
            config=config,
            errors=errors,
            inputs=inputs,
            outputs=outputs,
        )
    return {
        "eventType": kind,
        "run": str(run_pk),
        "execution": str(exec_pk),
        "inputs": [str(i) for i in inputs],
        "outputs": [str(o) for o in outputs],
    }


def _write_run(
    tx: Transaction,
    run_pk: uuid.UUID,
    *,
    experiment: uuid.UUID,
    pipeline: uuid.UUID,
    name: str,
    root_run: str,
    root_ns: str,
    at: datetime | None,
    trigger: uuid.UUID | None,
    own: tuple[m.Status, str, dict[str, Any], dict[str, str]] | None,
) -> None:
    annotations = {
        "openlineage.runId": root_run,
        "openlineage.namespace": root_ns,
        **_job_annotation(name),
    }
    current = tx.read("run", run_pk)
    status = m.Status.RUNNING
    config: dict[str, Any] = {}
    if own is not None:
        status, _, config, errors = own
        annotations.update(errors)
    if current is None:
        tx.create(
            "run",
            m.RunCreate(
                id=run_pk,
                experiment=experiment,
                name=_name(name),
                pipeline=pipeline,
                create_time=at,
                status=status,
                end_time=at if status in TERMINAL else None,
                configuration=config,
                event=trigger,
                annotations=annotations,
                uri=_uri(f"openlineage://{root_ns}/{name}"),
            ),
        )
        return
    update: dict[str, Any] = {}
    if _status_change(current.status, current.end_time, status, at):
        update.update(status=status, end_time=at)
    merged_config = merge(current.configuration, config)
    if merged_config != current.configuration:
        update["configuration"] = merged_config
    merged_annotations = merge(current.annotations, annotations)
    if merged_annotations != current.annotations:
        update["annotations"] = merged_annotations
    if trigger is not None and current.event != trigger:
        update["event"] = trigger
    if update:
        tx.update("run", run_pk, m.RunUpdate(**update), mirror=True)
    if at is not None and at < current.create_time:
        # A run starts when its earliest event happened, whichever arrived first.
        row = tx.session.get(RunRow, run_pk)
        assert row is not None
        row.create_time = at
        tx.session.flush()


def _write_execution(
    tx: Transaction,
    exec_pk: uuid.UUID,
    *,
    run: uuid.UUID,
    executable: uuid.UUID,
    job_name: str,
    run_id: str,
    namespace: str,
    job_facets: dict[str, Any],
    status: m.Status,
    kind: str,
    at: datetime | None,
    config: dict[str, Any],
    errors: dict[str, str],
    inputs: list[uuid.UUID],
    outputs: list[uuid.UUID],
) -> None:
    job_type = _name(((job_facets.get("jobType") or {}).get("jobType") or "job").lower())
    annotations = {
        "openlineage.runId": run_id,
        "openlineage.namespace": namespace,
        **_job_annotation(job_name),
        **errors,
    }
    starts = at if kind in {"START", "RUNNING", "OTHER"} else None
    current = tx.read("execution", exec_pk)
    all_inputs = sorted({*inputs, *(current.input_artifacts if current else [])}, key=str)
    all_outputs = {*outputs, *(current.output_artifacts if current else [])}
    # A dataset the job both read and wrote: the write is a version of its own.
    all_outputs = {_written_version(tx, a, run_id) if a in all_inputs else a for a in all_outputs}
    outputs_sorted = sorted(all_outputs, key=str)
    if current is None:
        tx.create(
            "execution",
            m.ExecutionCreate(
                id=exec_pk,
                run=run,
                executable=executable,
                name=_name(job_name),
                kind=job_type,
                status=status,
                start_time=starts,
                end_time=at if status in TERMINAL else None,
                input_artifacts=all_inputs,
                output_artifacts=outputs_sorted,
                configuration=config,
                annotations=annotations,
            ),
        )
        return
    update: dict[str, Any] = {}
    if _status_change(current.status, current.end_time, status, at):
        update.update(status=status, end_time=at)
    if starts is not None and (current.start_time is None or starts < current.start_time):
        update["start_time"] = starts
    new_kind = _pick(current.kind, job_type, "job")
    if new_kind != current.kind:
        update["kind"] = new_kind
    for field, now, new in (
        ("configuration", current.configuration, config),
        ("annotations", current.annotations, annotations),
    ):
        merged = merge(now, new)
        if merged != now:
            update[field] = merged
    if all_inputs != current.input_artifacts:
        update["input_artifacts"] = all_inputs
    if outputs_sorted != current.output_artifacts:
        update["output_artifacts"] = outputs_sorted
    if update:
        tx.update("execution", exec_pk, m.ExecutionUpdate(**update), mirror=True)


def _apply_job(tx: Transaction, event: dict[str, Any]) -> dict[str, Any]:
    job = event["job"]
    with refused_at("/job/namespace"):
        _ensure_experiment(tx, job["namespace"])
    with refused_at("/job"):
        executable = _ensure_executable(tx, job["namespace"], job["name"], job.get("facets") or {})
    artifacts = _datasets(
        tx, [(d, d.get("inputFacets")) for d in event.get("inputs") or []], pointer="/inputs"
    )
    artifacts += _datasets(
        tx, [(d, d.get("outputFacets")) for d in event.get("outputs") or []], pointer="/outputs"
    )
    return {"executable": str(executable), "artifacts": [str(a) for a in artifacts]}


def _apply_dataset(tx: Transaction, event: dict[str, Any]) -> dict[str, Any]:
    return {"artifact": str(_dataset(tx, event["dataset"], pointer="/dataset"))}


# ---------------------------------------------------------------- entry point


def ingest(
    meta: Metadata, event: dict[str, Any], *, validated: bool = False, pointer: str = ""
) -> dict[str, Any]:
    """Store one event in one transaction and say what it became.

    Concurrent events about the same run can race to create the same derived ids; the loser
    retries its whole event, which then merges into what the winner stored. ``pointer``: where
    the event is in the request (its index in a batch), put before the pointers of problems.
    """
    access.require_global_writer(meta.scope, "an OpenLineage event")
    kind = event_type(event) if validated else validate_event(event)
    separate_outputs = False
    for attempt in range(6):
        try:
            with meta.transaction() as tx:
                if kind == "RunEvent":
                    return _apply_run(tx, event, separate_outputs=separate_outputs)
                if kind == "JobEvent":
                    return _apply_job(tx, event)
                return _apply_dataset(tx, event)
        except CycleDetected:
            if separate_outputs:
                raise
            # The outputs feed back into the inputs of this run through earlier runs: keep
            # this run's writes as versions of their own.
            separate_outputs = True
        except (IntegrityError, Conflict, Unavailable):
            if attempt == 5:
                raise
            time.sleep(0.02 * (attempt + 1))
        except InvalidInput as exc:
            if pointer:
                exc.errors = [{**e, "pointer": pointer + e["pointer"]} for e in exc.errors]
            raise
    raise AssertionError("unreachable")
