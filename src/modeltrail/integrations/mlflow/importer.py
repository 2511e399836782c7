"""Import an MLflow tracking server's history: experiments, runs, datasets, metrics, models.

Reads MLflow's REST API (``/api/2.0/mlflow/...``; no MLflow package needed) and writes through
the project's API with a connection as the SDK opens it (``Api``), so it works against a server
or an embedded store. Every id is a uuid5 of the tracking URI and MLflow's own ids: importing
again updates, never duplicates.

- experiment -> experiment (tags -> annotations);
- run -> run (status, start and end time, params -> configuration, tags -> annotations) with
  one execution of the run's source (``mlflow.source.name`` at ``mlflow.source.git.commit``);
- dataset inputs -> ``dataset`` artifacts (name, digest as version, source, schema, profile)
  read by that execution;
- logged models -> ``model`` artifacts written by their source run's execution, named as
  registered (with the registry's version), else by their own name, else by their run;
- metrics -> ``metrics`` artifacts (latest value, step, time), referring to the run's model.

Every entity keeps MLflow's times: a run its start and end, a model its creation, a metric its
log time, a dataset the start of the first run that read it. Runs are imported oldest first, so
that every "previous", "latest" and "since" question orders them as MLflow did.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import orjson

from modeltrail.errors import NotFound
from modeltrail.integrations.mlflow.run_query import EXECUTION_KIND, INPUT_TAGS, RUN_ID_NOTE


class Api(Protocol):
    """The project's API as the importer writes through it (``sdk.connection.Connection``):
    answers as JSON, a missing entity raised as ``NotFound``."""

    def get(self, path: str, **params: Any) -> Any: ...

    def post(self, path: str, body: Any, **kw: Any) -> Any: ...

    def patch(self, path: str, body: Any, *, revision: int | None = None) -> Any: ...


ID_NAMESPACE = uuid.UUID("0b1c6a52-9e55-4f0e-b1d3-6d6c666c6f77")
STATUS = {
    "FINISHED": "SUCCESS",
    "FAILED": "FAILED",
    "KILLED": "FAILED",
    "RUNNING": "RUNNING",
    "SCHEDULED": "RUNNING",
}


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(parts)))


def _ms(value: Any) -> str | None:
    if value in (None, "", 0, "0"):
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC).isoformat()


def _tags(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {t["key"][:256]: str(t.get("value", ""))[:65536] for t in items or [] if t.get("key")}


def _time(field: str, ms: Any) -> dict[str, str]:
    """``{field: the time}`` of an MLflow time in milliseconds, or {} when it has none."""
    at = _ms(ms)
    return {field: at} if at else {}


# The name MLflow gives a model logged without one (``log_model(..., name="model")`` in the
# docs' examples, and the artifact path of MLflow 2): it says nothing about the model.
GENERIC_MODEL_NAMES = frozenset({"", "model"})


def _registry_entry(model: dict[str, Any], registered: list[dict[str, Any]]) -> dict[str, Any]:
    """The registry's version of this logged model ({} if it was not registered)."""
    for version in registered:
        if version.get("model_id") == model["model_id"] or model["model_id"] in str(
            version.get("source") or ""
        ):
            return version
    return {}


def _model_name(model: dict[str, Any], entry: dict[str, Any], run_name: str) -> str:
    """As registered, else the model's own name unless it is MLflow's default, else the run's."""
    if entry.get("name"):
        return str(entry["name"])
    own = str(model.get("name") or "")
    return own if own not in GENERIC_MODEL_NAMES else run_name


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class MlflowClient:
    """The few REST calls the importer needs."""

    def __init__(self, tracking_uri: str, *, token: str | None = None, timeout: float = 30) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(
            base_url=tracking_uri.rstrip("/"), headers=headers, timeout=timeout
        )

    def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        response = self.http.request(method, f"/api/2.0/mlflow/{path}", **kw)
        if response.status_code >= 400:
            raise RuntimeError(
                f"MLflow answered {response.status_code} to {path}: {response.text[:300]}"
            )
        return response.json()  # type: ignore[no-any-return]

    def pages(
        self, path: str, key: str, body: dict[str, Any], *, method: str = "POST"
    ) -> Iterator[dict[str, Any]]:
        """Every item of a search, page after page (MLflow's GET searches take their
        arguments as the query)."""
        token = None
        while True:
            asked = {**body, **({"page_token": token} if token else {})}
            sent = {"params": asked} if method == "GET" else {"json": asked}
            page = self.call(method, path, **sent)
            yield from page.get(key, [])
            token = page.get("next_page_token")
            if not token:
                return

    def experiments(self, name: str | None) -> list[dict[str, Any]]:
        if name:
            return [
                self.call("GET", "experiments/get-by-name", params={"experiment_name": name})[
                    "experiment"
                ]
            ]
        return list(self.pages("experiments/search", "experiments", {"max_results": 1000}))

    def runs(self, experiment_id: str) -> Iterator[dict[str, Any]]:
        return self.pages(
            "runs/search", "runs", {"experiment_ids": [experiment_id], "max_results": 1000}
        )

    def registered_versions(self, run_id: str, *, page_size: int = 10_000) -> list[dict[str, Any]]:
        """The model registry's versions made from a run's models ([] without a registry)."""
        asked = {"filter": f"run_id='{run_id}'", "max_results": page_size}
        try:
            return list(self.pages("model-versions/search", "model_versions", asked, method="GET"))
        except (RuntimeError, httpx.HTTPError):
            return []

    def logged_models(self, experiment_id: str) -> list[dict[str, Any]]:
        try:
            return list(
                self.pages(
                    "logged-models/search",
                    "models",
                    {"experiment_ids": [experiment_id], "max_results": 100},
                )
            )
        except RuntimeError:
            return []  # MLflow before 3.0 has no logged models

    def close(self) -> None:
        self.http.close()


def upsert(
    conn: Api, plural: str, body: dict[str, Any], *, fixed: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Create the entity with the id in ``body``, or patch what changed since the last import."""
    try:
        current = conn.get(f"/api/v1/{plural}/{body['id']}")
    except NotFound:
        return conn.post(f"/api/v1/{plural}", body)  # type: ignore[no-any-return]
    skip = {"id", "createTime", "kind", "experiment", "run", "executable", *fixed}
    changes = {k: v for k, v in body.items() if k not in skip and _differs(current.get(k), v)}
    return conn.patch(f"/api/v1/{plural}/{body['id']}", changes) if changes else current  # type: ignore[no-any-return]


def _differs(stored: Any, sent: Any) -> bool:
    if isinstance(stored, str) and isinstance(sent, str) and stored[:4].isdigit() and "T" in stored:
        try:
            return datetime.fromisoformat(stored) != datetime.fromisoformat(sent)
        except ValueError:
            pass
    if isinstance(stored, list) and isinstance(sent, list):
        return sorted(map(str, stored)) != sorted(map(str, sent))
    return bool(stored != sent)


def import_mlflow(
    conn: Api, tracking_uri: str, *, experiment: str | None = None, token: str | None = None
) -> dict[str, int]:
    """Import every experiment (or the one named) with its runs; returns counts."""
    source = tracking_uri.rstrip("/")
    mlflow = MlflowClient(source, token=token)
    counts = {"experiments": 0, "runs": 0, "datasets": 0, "models": 0, "metrics": 0}
    try:
        for exp in mlflow.experiments(experiment):
            if exp.get("lifecycle_stage") == "deleted":
                continue
            exp_id = derived_id(source, "experiment", exp["experiment_id"])
            upsert(
                conn,
                "experiments",
                {
                    "id": exp_id,
                    "name": exp["name"][:256],
                    **_time("createTime", exp.get("creation_time")),
                    "annotations": {
                        **_tags(exp.get("tags")),
                        "mlflow.experimentId": exp["experiment_id"],
                        "mlflow.trackingUri": source,
                    },
                },
            )
            counts["experiments"] += 1
            models_by_run: dict[str, list[dict[str, Any]]] = {}
            for model in mlflow.logged_models(exp["experiment_id"]):
                info = {
                    **model.get("info", model),
                    "params": (model.get("data") or {}).get("params"),
                }
                if info.get("source_run_id"):
                    models_by_run.setdefault(info["source_run_id"], []).append(info)
            # Oldest first: what an import creates in order is ordered as MLflow had it, and a
            # dataset read by several runs keeps the first one's start.
            runs = sorted(
                mlflow.runs(exp["experiment_id"]),
                key=lambda r: (int(r["info"].get("start_time") or 0), r["info"]["run_id"]),
            )
            for run in runs:
                run_id = run["info"]["run_id"]
                models = models_by_run.get(run_id, [])
                registered = mlflow.registered_versions(run_id) if models else []
                _import_run(conn, source, exp_id, run, models, registered, counts)
    finally:
        mlflow.close()
    return counts


def _import_run(
    conn: Api,
    source: str,
    experiment_id: str,
    run: dict[str, Any],
    models: list[dict[str, Any]],
    registered: list[dict[str, Any]],
    counts: dict[str, int],
) -> None:
    info, data = run["info"], run.get("data") or {}
    run_id = info["run_id"]
    tags = _tags(data.get("tags"))
    params = {p["key"]: p.get("value") for p in data.get("params") or []}
    status = STATUS.get(info.get("status", ""), "RUNNING")
    name = (info.get("run_name") or tags.get("mlflow.runName") or run_id)[:256]
    mt_run = derived_id(source, "run", run_id)
    upsert(
        conn,
        "runs",
        {
            "id": mt_run,
            "experiment": experiment_id,
            "name": name,
            "status": status,
            "createTime": _ms(info.get("start_time")),
            "endTime": _ms(info.get("end_time")),
            "configuration": params,
            "uri": f"{source}/#/experiments/{info.get('experiment_id')}/runs/{run_id}",
            "annotations": {**tags, "mlflow.runId": run_id},
        },
    )
    counts["runs"] += 1

    script = tags.get("mlflow.source.name") or "mlflow-run"
    version = tags.get("mlflow.source.git.commit") or "1"
    executable = derived_id(source, "executable", script, version)
    upsert(
        conn,
        "executables",
        {
            "id": executable,
            "name": script[:256],
            "version": version[:256],
            "uri": script if "/" in script or "." in script else None,
            "annotations": {k: v for k, v in tags.items() if k.startswith("mlflow.source.")},
        },
    )

    inputs = []
    input_tags: dict[str, str] = {}
    for item in (run.get("inputs") or {}).get("dataset_inputs") or []:
        ds = item.get("dataset") or {}
        aid = derived_id(source, "dataset", ds.get("name", ""), ds.get("digest", ""))
        ds_source = _json(ds.get("source"))
        uri = ds_source.get("uri") or ds_source.get("url") if isinstance(ds_source, dict) else None
        upsert(
            conn,
            "artifacts",
            {
                "id": aid,
                "name": (ds.get("name") or "dataset")[:256],
                "version": (ds.get("digest") or "1")[:256],
                "kind": "dataset",
                **_time("createTime", info.get("start_time")),
                "uri": uri,
                "attributes": {
                    k: v
                    for k, v in {
                        "type": ds.get("source_type"),
                        "source": ds_source,
                        "digest": ds.get("digest"),
                        "schema": _json(ds.get("schema")),
                        "profile": _json(ds.get("profile")),
                    }.items()
                    if v not in (None, "")
                },
                "annotations": _tags(item.get("tags")),
            },
        )
        inputs.append(aid)
        if item.get("tags"):
            # Where MLflow's API keeps a run's tags of a dataset (its context: training, ...).
            input_tags[INPUT_TAGS + aid] = orjson.dumps(_tags(item["tags"])).decode()
        counts["datasets"] += 1

    outputs = []
    for model in models:
        mid = derived_id(source, "model", model["model_id"])
        entry = _registry_entry(model, registered)
        upsert(
            conn,
            "artifacts",
            {
                "id": mid,
                "name": _model_name(model, entry, name)[:256],
                "version": str(entry.get("version") or model["model_id"])[:256],
                "kind": "model",
                **_time(
                    "createTime",
                    model.get("creation_timestamp_ms") or info.get("end_time"),
                ),
                "uri": model.get("artifact_uri"),
                "attributes": {
                    "type": model.get("model_type") or "mlflow",
                    "hyperParameters": {
                        p["key"]: p.get("value") for p in model.get("params") or []
                    },
                },
                "annotations": {
                    **_tags(model.get("tags")),
                    "mlflow.modelId": model["model_id"],
                    "mlflow.sourceRunId": run_id,
                    **(
                        {"mlflow.registeredModel": f"{entry['name']}/{entry.get('version')}"}
                        if entry
                        else {}
                    ),
                },
            },
        )
        outputs.append(mid)
        counts["models"] += 1
    for metric in data.get("metrics") or []:
        aid = derived_id(source, "metric", run_id, metric["key"])
        attributes: dict[str, Any] = {
            "schema": "number",
            "value": metric.get("value"),
            "step": metric.get("step", 0),
            "timestamp": _ms(metric.get("timestamp")),
        }
        if outputs:
            attributes["reference"] = outputs[0]
        upsert(
            conn,
            "artifacts",
            {
                "id": aid,
                "name": metric["key"][:256],
                "version": run_id[:256],
                "kind": "metrics",
                **_time("createTime", metric.get("timestamp")),
                "attributes": attributes,
            },
        )
        outputs.append(aid)
        counts["metrics"] += 1

    upsert(
        conn,
        "executions",
        {
            "id": derived_id(source, "execution", run_id),
            "run": mt_run,
            "executable": executable,
            "name": name,
            "kind": EXECUTION_KIND,
            "status": status,
            "startTime": _ms(info.get("start_time")),
            "endTime": _ms(info.get("end_time")),
            "configuration": params,
            "inputArtifacts": inputs,
            "outputArtifacts": outputs,
            "annotations": {RUN_ID_NOTE: run_id, **input_tags},
        },
    )
