"""OpenLineage in: a RunEvent becomes the root run and an execution of it.

The root run (the ``parent`` facet's ``root``, else its parent, else the run itself) is the
run; every OpenLineage run is an execution of it, except the run's own events that another
modeltrail server sends. Statuses, times, configuration and annotations are merged so that
late, repeated and reordered events leave the same run behind."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from modeltrail.domain import models as m
from modeltrail.domain.documents import as_text, refused_at, time_or_none
from modeltrail.integrations.openlineage.datasets import ensure_datasets, written_version
from modeltrail.integrations.openlineage.jobs import (
    ensure_executable,
    ensure_experiment,
    ensure_pipeline,
)
from modeltrail.integrations.openlineage.merging import (
    as_object,
    clean_facets,
    derived_id,
    entity_name,
    fitted_uri,
    job_annotation,
    merge,
    pick,
)
from modeltrail.integrations.openlineage.triggers import ensure_trigger, trigger_details
from modeltrail.services.metadata import Transaction
from modeltrail.store.tables import RunRow

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


def apply_run(tx: Transaction, event: dict[str, Any], *, separate_outputs: bool) -> dict[str, Any]:
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
    from_modeltrail = as_object(as_object(job.get("facets")).get("jobType")).get("integration") == (
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
        experiment = ensure_experiment(tx, root_ns)
    with refused_at("/job"):
        job_facets = job.get("facets") or {}
        executable = None if run_only else ensure_executable(tx, namespace, job_name, job_facets)
    with refused_at(root_job):
        if is_root:
            root_executable = executable
        else:
            root_executable = (
                None if from_modeltrail else ensure_executable(tx, root_ns, root_name, {})
            )
        pipeline = ensure_pipeline(tx, root_ns, root_name, root_executable)
        if not is_root:
            ensure_pipeline(tx, root_ns, root_name, executable)

    sent_at = str(event["eventTime"])
    inputs = ensure_datasets(
        tx,
        [(d, d.get("inputFacets")) for d in event.get("inputs") or []],
        pointer="/inputs",
        at=sent_at,
    )
    outputs = ensure_datasets(
        tx,
        [(d, d.get("outputFacets")) for d in event.get("outputs") or []],
        pointer="/outputs",
        at=sent_at,
    )
    if separate_outputs:
        outputs = [written_version(tx, a, run_id) for a in outputs]
    details = trigger_details(facets)
    with refused_at("/run/facets"):
        trigger = ensure_trigger(tx, root_run, details) if details else None

    config = clean_facets(facets, SPECIAL_RUN_FACETS)
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
        **job_annotation(name),
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
                name=entity_name(name),
                pipeline=pipeline,
                create_time=at,
                status=status,
                end_time=at if status in TERMINAL else None,
                configuration=config,
                event=trigger,
                annotations=annotations,
                uri=fitted_uri(f"openlineage://{root_ns}/{name}"),
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
    job_type = entity_name(((job_facets.get("jobType") or {}).get("jobType") or "job").lower())
    annotations = {
        "openlineage.runId": run_id,
        "openlineage.namespace": namespace,
        **job_annotation(job_name),
        **errors,
    }
    starts = at if kind in {"START", "RUNNING", "OTHER"} else None
    current = tx.read("execution", exec_pk)
    all_inputs = sorted({*inputs, *(current.input_artifacts if current else [])}, key=str)
    all_outputs = {*outputs, *(current.output_artifacts if current else [])}
    # A dataset the job both read and wrote: the write is a version of its own.
    all_outputs = {written_version(tx, a, run_id) if a in all_inputs else a for a in all_outputs}
    outputs_sorted = sorted(all_outputs, key=str)
    if current is None:
        tx.create(
            "execution",
            m.ExecutionCreate(
                id=exec_pk,
                run=run,
                executable=executable,
                name=entity_name(job_name),
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
    new_kind = pick(current.kind, job_type, "job")
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
