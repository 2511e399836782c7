"""MLflow's artifact proxy over the file store.

A run's ``artifact_uri`` is ``mlflow-artifacts:/{experiment}/{run}/artifacts`` and a logged
model's ``mlflow-artifacts:/{experiment}/models/{model}/artifacts``, so MLflow's client sends
every file through ``/api/2.0/mlflow-artifacts/artifacts/{path}``. A logged model's files are
the files of its model artifact; the other files of a run are those of one artifact of the
run (kind ``mlflow-artifacts``), made on the run's first upload as an output of the run's
execution, so that they show in its lineage.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from modeltrail.domain import models as m
from modeltrail.domain.errors import Conflict, NotFound
from modeltrail.integrations.mlflow.errors import invalid, missing
from modeltrail.integrations.mlflow.lineage import (
    _attach,
    _model_row,
    ensure_execution,
    parse_model_id,
)
from modeltrail.integrations.mlflow.runs import _run_row
from modeltrail.integrations.mlflow.tracking import (
    NAMESPACE,
    _model,
    experiment_id,
    parse_run_id,
    run_id,
)
from modeltrail.services.file_transfers import Opened
from modeltrail.services.metadata import Metadata, Transaction
from modeltrail.store.tables import ArtifactRow, RunRow

RUN_FILES_KIND = "mlflow-artifacts"
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Place:
    """Where a proxy path lands: an artifact and a path within it ("" for its root)."""

    artifact: uuid.UUID
    path: str
    run: uuid.UUID | None  # the run whose files artifact this is (made on first upload)


def run_files_id(run: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"run-artifacts\x1f{run}")


def check(path: str) -> str:
    """``path`` as MLflow's server takes it (``validate_path_is_safe``): relative, no ``..``,
    no NUL; refused with INVALID_PARAMETER_VALUE rather than rewritten."""
    if "\0" in path or "\\" in path:
        raise invalid(f"Invalid path: {path!r}")
    if path.startswith("/") or _DRIVE.match(path) or ".." in path.split("/"):
        raise invalid(f"Invalid path: {path!r}")
    return path.strip("/")


def locate(path: str) -> Place:
    parts = check(path).split("/")
    if len(parts) >= 3 and parts[2] == "artifacts" and parts[1] != "models":
        run = parse_run_id(parts[1])
        return Place(run_files_id(run), "/".join(parts[3:]), run)
    if len(parts) >= 4 and parts[1] == "models" and parts[3] == "artifacts":
        return Place(parse_model_id(parts[2]), "/".join(parts[4:]), None)
    raise missing(
        f"No artifact root at {path!r}: a run's files are under {{experiment}}/{{run}}/artifacts/, "
        "a logged model's under {experiment}/models/{model}/artifacts/"
    )


def check_access(meta: Metadata, place: Place, *, write: bool) -> None:
    """Refuse the place's files as the request's token may not read them (a run or logged
    model of an experiment it may not read is missing) or change them (``write``)."""
    if meta.scope is None:
        return
    run = place.run
    if run is None:
        meta.query(lambda session: _model_row(session, place.artifact, write=write))
    else:
        meta.query(lambda session: _run_row(session, run_id(run), write=write))


def prepare_upload(meta: Metadata, place: Place) -> None:
    """Make the run's files artifact on its first upload; a logged model's artifact exists."""
    if not place.path:
        raise invalid("Invalid path: a file path below the artifact root is required")
    if place.run is None:
        return
    run = place.run

    def make(tx: Transaction) -> None:
        if tx.session.get(ArtifactRow, place.artifact) is not None:
            return
        row = tx.session.get(RunRow, run)
        if row is None:
            raise missing(f"Run with id={run_id(run)} not found")
        tx.create(
            "artifact",
            _model(
                m.ArtifactCreate,
                id=place.artifact,
                name=row.name,
                kind=RUN_FILES_KIND,
                uri=f"mlflow-artifacts:/{experiment_id(row.experiment_id)}/{run_id(run)}/artifacts",
                annotations={"mlflow.runId": run_id(run)},
            ),
        )
        _attach(tx, ensure_execution(tx, row), outputs=[place.artifact])

    with contextlib.suppress(Conflict):  # a concurrent first upload made it
        meta.write(make)


def keeps_files(meta: Metadata) -> bool:
    """Whether this store keeps files (a PostgreSQL store without an artifacts root does not)."""
    try:
        return meta.files is not None  # made on first use; refused when nowhere to keep them
    except Conflict:
        return False


def exists(meta: Metadata, place: Place) -> bool:
    """Whether the place's artifact is there (a run's is made on its first upload)."""
    if place.run is None:
        return True  # the file store answers for a model that is not
    found = meta.query(lambda session: session.get(ArtifactRow, place.artifact) is not None)
    if not found and meta.query(lambda session: session.get(RunRow, place.run)) is None:
        raise missing(f"Run with id={run_id(place.run)} not found")
    return bool(found)


def list_dir(meta: Metadata, place: Place) -> list[dict[str, Any]]:
    """The folder's direct children, as MLflow's ``FileInfo`` (paths relative to the folder);
    nothing for a file or a folder that is not, as MLflow's stores answer."""
    if not exists(meta, place):
        return []
    listed = meta.files.list_files(meta, place.artifact, prefix=place.path or None)
    cut = len(place.path) + 1 if place.path else 0
    out: dict[str, dict[str, Any]] = {}
    for item in listed.items:
        head, sep, _ = item.path[cut:].partition("/")
        if sep:
            out.setdefault(head, {"path": head, "is_dir": True})
        else:
            out[head] = {"path": head, "is_dir": False, "file_size": item.size}
    return list(out.values())


def list_run(meta: Metadata, shown: Any, path: str | None) -> dict[str, Any]:
    """``/api/2.0/mlflow/artifacts/list``: a run's folder, paths from the run's root."""
    run = parse_run_id(shown)
    row = meta.query(lambda session: _run_row(session, shown))
    root = f"{experiment_id(row.experiment_id)}/{run_id(run)}/artifacts"
    folder = check(path or "")
    files = list_dir(meta, Place(run_files_id(run), folder, run))
    for f in files:
        f["path"] = f"{folder}/{f['path']}" if folder else f["path"]
    return {"root_uri": f"mlflow-artifacts:/{root}", "files": files}


def open_file(meta: Metadata, place: Place) -> Opened:
    try:
        return meta.files.open(meta, place.artifact, place.path)
    except NotFound as exc:
        raise missing(str(exc)) from None


# ---------------------------------------------------------------- multipart uploads


def multipart_place(folder: str, local_file: Any) -> Place:
    """Where a multipart upload's file lands: ``folder`` (the URL's path) and the base name
    of the client's local file (the body's ``path``), as MLflow's S3 store names the key."""
    if not isinstance(local_file, str) or not local_file:
        raise invalid("Missing value for required parameter 'path'.")
    name = re.split(r"[\\/]", local_file)[-1]
    if not name or name in (".", ".."):
        raise invalid(f"Invalid value {local_file!r} for parameter 'path': a file's path")
    return locate(f"{check(folder)}/{name}")


def check_upload(meta: Metadata, place: Place, upload_id: str) -> None:
    """Refuse an upload that is not under way for the file at ``place``."""
    try:
        upload = meta.files.read_upload(meta, place.artifact, upload_id)
    except NotFound:
        upload = None
    if upload is None or upload.path != place.path:
        raise missing(f"No multipart upload {upload_id!r} under way for {place.path!r}")
