"""Built-in plugin ``mlflow-registry``: push new models to an MLflow model registry.

When a run succeeds, every artifact of a model kind that the run's executions wrote is
registered as a new version of the registered model of the same name (created if needed), its
source the artifact's URI, its description and tags the link back to modeltrail's lineage. A
version already registered for an artifact (tag ``modeltrail.artifact``) is not registered
again. The work happens in a background thread; failures are logged and shown on
``GET /api/v1/plugins``.

Settings: ``tracking_uri`` (the registry; required), ``token``, ``model_kinds`` (model),
``public_url`` (for links in descriptions).
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
from modeltrail.store.tables import ArtifactRow, ExecutionOutputRow, ExecutionRow, RunRow

log = logging.getLogger("modeltrail.integrations.mlflow.registry")


class MlflowRegistry:
    def __init__(self) -> None:
        self.metadata: Store | None = None
        self.http: httpx.Client | None = None
        self.model_kinds = ["model"]
        self.public_url = ""
        self.queue: queue.Queue[uuid.UUID | None] = queue.Queue(maxsize=10_000)
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
        self.thread = threading.Thread(
            target=self._work, name="modeltrail-mlflow-registry", daemon=True
        )
        self.thread.start()

    @hookimpl
    def modeltrail_stored(self, entity: str, action: str, result: BaseModel) -> None:
        if entity == "run" and str(getattr(result, "status", "")) == "SUCCESS":
            self.queue.put_nowait(result.id)  # type: ignore[attr-defined]

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
            run_id = self.queue.get()
            if run_id is None:
                return
            try:
                for artifact in self._models_of(run_id):
                    self._push(run_id, artifact)
            except Exception as exc:
                # The message may quote the tracking URI, which may carry a credential.
                error = secrets.mask_urls_in(f"{type(exc).__name__}: {exc}")
                log.error("mlflow-registry: pushing the models of run %s failed: %s", run_id, error)
                self.last = {
                    "run": str(run_id),
                    "error": error,
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

    def _push(self, run_id: uuid.UUID, artifact: dict[str, Any]) -> None:
        name = artifact["name"]
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
                return  # already registered
        link = (
            f"{self.public_url}/api/v1/artifacts/{artifact['id']}/lineage"
            if self.public_url
            else f"modeltrail artifact {artifact['id']}"
        )
        body: dict[str, Any] = {
            "name": name,
            "source": artifact["uri"] or f"modeltrail://artifacts/{artifact['id']}",
            "description": f"Registered by modeltrail when run {artifact['run']} ({run_id}) "
            f"succeeded. Lineage: {link}",
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


plugin = MlflowRegistry
