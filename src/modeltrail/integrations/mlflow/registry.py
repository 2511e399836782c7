"""Built-in plugin ``mlflow-registry``: push new models to an MLflow model registry.

When a run succeeds, every artifact of a model kind that the run's executions wrote is
registered as a new version of the registered model of the same name (created if needed), its
source the artifact's URI, its description and tags the link back to modeltrail's lineage. A
version already registered for an artifact (tag ``modeltrail.artifact``) is not registered
again. The work happens in a background thread; failures are logged and shown on
``GET /api/v1/plugins``.

With ``mirror_aliases`` (on by default), modeltrail's own model registry is mirrored too: a
version registered in modeltrail is pushed as a version of the MLflow model of the same name,
and an alias set, moved or removed in modeltrail is set, moved or removed there, so that what
serves from MLflow's registry follows ``production``.

Settings: ``tracking_uri`` (the registry; required), ``token``, ``model_kinds`` (model),
``public_url`` (for links in descriptions), ``mirror_aliases`` (true).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import select

from modeltrail.domain import secrets
from modeltrail.plugins.spec import Store, hookimpl
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionOutputRow,
    ExecutionRow,
    ModelAliasEventRow,
    ModelVersionRow,
    RegisteredModelRow,
    RunRow,
)

log = logging.getLogger("modeltrail.integrations.mlflow.registry")


class MlflowRegistry:
    def __init__(self) -> None:
        self.metadata: Store | None = None
        self.http: httpx.Client | None = None
        self.model_kinds = ["model"]
        self.public_url = ""
        self.queue: queue.Queue[tuple[str, uuid.UUID] | None] = queue.Queue(maxsize=10_000)
        self.mirror_aliases = True
        self.thread: threading.Thread | None = None
        self.pushed = 0
        self.last: dict[str, Any] | None = None

    @hookimpl
    def modeltrail_start(self, metadata: Store, settings: dict[str, Any]) -> None:
        uri = settings.get("tracking_uri")
        if not uri:
            raise ValueError("mlflow-registry needs the setting tracking_uri")
        headers = {"Authorization": f"Bearer {settings['token']}"} if settings.get("token") else {}
        self.http = httpx.Client(
            base_url=str(uri).rstrip("/") + "/api/2.0/mlflow", headers=headers, timeout=30
        )
        self.metadata = metadata
        kinds = settings.get("model_kinds", "model")
        self.model_kinds = [
            k.strip() for k in (kinds if isinstance(kinds, list) else str(kinds).split(",")) if k
        ]
        self.public_url = str(settings.get("public_url", "")).rstrip("/")
        mirror = str(settings.get("mirror_aliases", "true")).strip().lower()
        self.mirror_aliases = mirror not in ("false", "0", "no", "off")
        self.thread = threading.Thread(
            target=self._work, name="modeltrail-mlflow-registry", daemon=True
        )
        self.thread.start()

    @hookimpl
    def modeltrail_stored(self, entity: str, action: str, result: BaseModel) -> None:
        if entity == "run" and str(getattr(result, "status", "")) == "SUCCESS":
            self.queue.put_nowait(("run", result.id))  # type: ignore[attr-defined]
        elif self.mirror_aliases and entity == "model_version" and action == "create":
            self.queue.put_nowait(("version", result.id))  # type: ignore[attr-defined]
        elif (
            self.mirror_aliases and entity == "model_alias" and action in ("set", "move", "remove")
        ):
            self.queue.put_nowait(("alias", result.id))  # type: ignore[attr-defined]

    @hookimpl
    def modeltrail_status(self) -> dict[str, Any]:
        return {"pushed": self.pushed, "queued": self.queue.qsize(), "last": self.last}

    @hookimpl
    def modeltrail_stop(self) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join(timeout=30)
            self.thread = None
        if self.http is not None:
            self.http.close()

    def _work(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            what, ident = item
            try:
                if what == "run":
                    for artifact in self._models_of(ident):
                        self._push(ident, artifact)
                elif what == "version":
                    found = self._version(ident)
                    if found is not None:
                        self._push(found[2], found[3], name=found[0])
                else:
                    self._mirror_alias(ident)
            except Exception as exc:
                # The message may quote the tracking URI, which may carry a credential.
                error = secrets.mask_urls_in(f"{type(exc).__name__}: {exc}")
                log.error("mlflow-registry: pushing for %s %s failed: %s", what, ident, error)
                self.last = {
                    what: str(ident),
                    "error": error,
                    "time": datetime.now(UTC).isoformat(),
                }

    def _artifact(self, session: Any, artifact_id: uuid.UUID) -> tuple[Any, dict[str, Any]]:
        """The run that made the artifact (None if none) and the artifact as pushed."""
        row = session.get(ArtifactRow, artifact_id)
        run = session.scalar(
            select(RunRow)
            .join(ExecutionRow, ExecutionRow.run_id == RunRow.id)
            .join(ExecutionOutputRow, ExecutionOutputRow.execution_id == ExecutionRow.id)
            .where(ExecutionOutputRow.artifact_id == artifact_id)
            .limit(1)
        )
        return (run.id if run else None), {
            "id": str(row.id),
            "name": row.name,
            "version": row.version,
            "uri": row.uri,
            "annotations": dict(row.annotations),
            "run": run.name if run else "",
        }

    def _version(self, version_id: uuid.UUID) -> tuple[str, int, Any, dict[str, Any]] | None:
        """(model name, version, run, artifact) of a version of modeltrail's registry."""
        assert self.metadata is not None
        with self.metadata.session("read") as session:
            version = session.get(ModelVersionRow, version_id)
            if version is None:
                return None
            model = session.get(RegisteredModelRow, version.model_id)
            run, artifact = self._artifact(session, version.artifact_id)
            return model.name, version.version, run, artifact  # type: ignore[union-attr]

    def _mirror_alias(self, event_id: uuid.UUID) -> None:
        """Set, move or remove the alias on the MLflow model of the same name."""
        assert self.metadata is not None
        with self.metadata.session("read") as session:
            event = session.get(ModelAliasEventRow, event_id)
            if event is None:
                return
            model = session.get(RegisteredModelRow, event.model_id)
            assert model is not None
            name, alias, target = model.name, event.alias, None
            if event.to_version is not None:
                version = session.scalar(
                    select(ModelVersionRow).where(
                        ModelVersionRow.model_id == model.id,
                        ModelVersionRow.version == event.to_version,
                    )
                )
                if version is None:
                    return  # deleted since: the next move mirrors
                target = self._artifact(session, version.artifact_id)
        if target is None:
            response = self._call(
                "DELETE", "/registered-models/alias", json={"name": name, "alias": alias}
            )
            if response.status_code >= 400 and "RESOURCE_DOES_NOT_EXIST" not in response.text:
                raise RuntimeError(
                    f"registered-models/alias answered {response.status_code}: "
                    f"{response.text[:300]}"
                )
            return
        mirrored = self._push(target[0], target[1], name=name)
        response = self._call(
            "POST",
            "/registered-models/alias",
            json={"name": name, "alias": alias, "version": mirrored},
        )
        if response.status_code >= 400:
            raise RuntimeError(
                f"registered-models/alias answered {response.status_code}: {response.text[:300]}"
            )
        self.last = {
            "model": name,
            "alias": alias,
            "version": mirrored,
            "time": datetime.now(UTC).isoformat(),
        }

    def _models_of(self, run_id: uuid.UUID) -> list[dict[str, Any]]:
        assert self.metadata is not None
        with self.metadata.session() as session:
            run = session.get(RunRow, run_id)
            if run is None or run.status != "SUCCESS":
                return []
            rows = session.scalars(
                select(ArtifactRow)
                .join(ExecutionOutputRow, ExecutionOutputRow.artifact_id == ArtifactRow.id)
                .join(ExecutionRow, ExecutionRow.id == ExecutionOutputRow.execution_id)
                .where(ExecutionRow.run_id == run_id, ArtifactRow.kind.in_(self.model_kinds))
                .order_by(ArtifactRow.create_time)
            ).unique()
            return [
                {
                    "id": str(r.id),
                    "name": r.name,
                    "version": r.version,
                    "uri": r.uri,
                    "annotations": dict(r.annotations),
                    "run": run.name,
                }
                for r in rows
            ]

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        assert self.http is not None
        return self.http.request(method, path, **kw)

    def _push(
        self, run_id: uuid.UUID | None, artifact: dict[str, Any], *, name: str | None = None
    ) -> str:
        """Register the artifact as a version of the MLflow model ``name`` (the artifact's
        name by default) unless it is one already; its MLflow version number."""
        name = name or artifact["name"]
        created = self._call("POST", "/registered-models/create", json={"name": name})
        if created.status_code >= 400 and "RESOURCE_ALREADY_EXISTS" not in created.text:
            raise RuntimeError(
                f"registered-models/create answered {created.status_code}: {created.text[:300]}"
            )
        found = self._call("GET", "/model-versions/search", params={"filter": f"name='{name}'"})
        found.raise_for_status()
        for version in found.json().get("model_versions", []):
            if {t["key"]: t.get("value") for t in version.get("tags", [])}.get(
                "modeltrail.artifact"
            ) == artifact["id"]:
                return str(version["version"])  # already registered
        link = (
            f"{self.public_url}/api/v1/artifacts/{artifact['id']}/lineage"
            if self.public_url
            else f"modeltrail artifact {artifact['id']}"
        )
        made = f"when run {artifact['run']} ({run_id}) succeeded" if run_id else "from modeltrail"
        body: dict[str, Any] = {
            "name": name,
            "source": artifact["uri"] or f"modeltrail://artifacts/{artifact['id']}",
            "description": f"Registered by modeltrail {made}. Lineage: {link}",
            "tags": [
                {"key": "modeltrail.artifact", "value": artifact["id"]},
                {"key": "modeltrail.run", "value": str(run_id)},
                {"key": "modeltrail.version", "value": artifact["version"]},
            ],
        }
        if artifact["annotations"].get("mlflow.runId") or artifact["annotations"].get(
            "mlflow.sourceRunId"
        ):
            body["run_id"] = (
                artifact["annotations"].get("mlflow.sourceRunId")
                or artifact["annotations"]["mlflow.runId"]
            )
        response = self._call("POST", "/model-versions/create", json=body)
        if response.status_code >= 400:
            raise RuntimeError(
                f"model-versions/create answered {response.status_code}: {response.text[:300]}"
            )
        version = response.json()["model_version"]["version"]
        self.pushed += 1
        self.last = {
            "run": str(run_id),
            "artifact": artifact["id"],
            "model": name,
            "version": version,
            "time": datetime.now(UTC).isoformat(),
        }
        return str(version)


plugin = MlflowRegistry
