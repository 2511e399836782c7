"""``/api/2.0/mlflow/...``: the REST API MLflow's Python client calls, over modeltrail.

Requests are read as MLflow's client sends them (a JSON body for POST, PATCH and DELETE; query
parameters for GET; int64 fields as numbers or strings, enums by name or number) and answered
as MLflow's server answers, errors included (``errors.render``). The routes are left out of
modeltrail's OpenAPI document: MLflow's protos describe them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from modeltrail.domain.tokens import Role
from modeltrail.integrations.mlflow import (
    artifacts,
    errors,
    experiments,
    lineage,
    logged_models,
    metrics,
    model_registry,
    params,
    registry_search,
    runs,
    tracking,
)
from modeltrail.integrations.mlflow.errors import invalid
from modeltrail.integrations.mlflow.params import (
    Params,
    integer,
    listed,
    pairs,
    run_id,
    string,
)
from modeltrail.integrations.mlflow.paths import (
    GUARDED,
    PREFIX,
    PREFIX_V3,
    READ_ONLY_POSTS,
    SCOPED_ROUTES,
    STREAMED_BODIES,
)
from modeltrail.integrations.mlflow.proxy import routes as proxy
from modeltrail.server.deps import MetadataDep
from modeltrail.server.deps import registry as registry_for
from modeltrail.services.metadata import Metadata
from modeltrail.services.registry import Registry

# Every error under PREFIX, a route's or one raised before it, in MLflow's shape.
render_error = errors.render
# What the server reads of this module as it mounts it (``modeltrail.integrations``).
__all__ = [
    "GUARDED",
    "READ_ONLY_POSTS",
    "SCOPED_ROUTES",
    "STREAMED_BODIES",
    "render_error",
    "router",
]

router = APIRouter(include_in_schema=False)

Handler = Callable[[Metadata, Params], Any]


class Answer(JSONResponse):
    """A handler's answer, written by orjson rather than the json module: a search answers a
    page of runs, each with its params, tags, metrics and inputs. What orjson refuses (an
    integer past 64 bits, a key that is not a string) is left to the json module."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:
            return super().render(content)


def _route(path: str, method: str = "POST") -> Callable[[Handler], Handler]:
    """Serve ``handler(meta, params)`` at ``path``: run in a worker thread, answered as JSON
    (``{}`` for None, as MLflow answers an empty response)."""

    def register(handler: Handler) -> Handler:
        async def endpoint(request: Request, meta: MetadataDep) -> JSONResponse:
            await _ready(request, meta)
            sent = await params.read(request)
            result = await run_in_threadpool(handler, meta, sent)
            return Answer({} if result is None else result)

        endpoint.__name__ = handler.__name__
        router.add_api_route(
            PREFIX + path, endpoint, methods=[method], name=f"mlflow_{handler.__name__}"
        )
        return handler

    return register


async def _ready(request: Request, meta: Metadata) -> None:
    """Make MLflow's Default experiment on the first request that may write: one whose token
    may write everywhere, or any request on a store without access control. A reader's
    request never writes; until a writer comes, experiment 0 is as missing as any other."""
    state = request.app.state
    if getattr(state, "mlflow_ready", False) or not _may_write(request):
        return
    await run_in_threadpool(experiments.ensure_default, meta)
    state.mlflow_ready = True


def _may_write(request: Request) -> bool:
    if not request.app.state.auth.enabled:
        return True
    principal = getattr(request.state, "principal", None)
    role = principal.role if principal is not None else None
    return role is not None and role.allows(Role.WRITER)


# ---------------------------------------------------------------- the server


@router.get(PREFIX_V3 + "/server-info", name="mlflow_server_info")
async def server_info(meta: MetadataDep) -> JSONResponse:
    """What the client may count on (``mlflow.utils.server_info``): uploads in parts through
    the proxy when this store keeps files (the client then sends a file over
    ``MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE`` in parts without being told by an
    environment variable); no presigned downloads, workspaces, trace archival or gateway.
    MLflow's own server answers this without a login; here it needs a reader, as every other
    path of this API does, and MLflow's client sends its token with it."""
    return JSONResponse(
        {
            "store_type": None,  # neither of MLflow's stores: the client's telemetry says "http"
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": await run_in_threadpool(artifacts.keeps_files, meta),
            "multipart_downloads_enabled": False,
            "presigned_upload_run_id_supported": False,
            "presigned_upload_model_id_supported": False,
            "features_enabled": {"gateway": False},
        }
    )


# ---------------------------------------------------------------- experiments


@_route("/experiments/create")
def create_experiment(meta: Metadata, p: Params) -> Any:
    tags = dict(pairs(p, "tags"))
    eid = experiments.create_experiment(
        meta, string(p, "name", required=True), string(p, "artifact_location"), tags
    )
    return {"experiment_id": eid}


@_route("/experiments/get", "GET")
def get_experiment(meta: Metadata, p: Params) -> Any:
    return {
        "experiment": experiments.get_experiment(meta, string(p, "experiment_id", required=True))
    }


@_route("/experiments/get-by-name", "GET")
def get_experiment_by_name(meta: Metadata, p: Params) -> Any:
    name = string(p, "experiment_name", required=True)
    return {"experiment": experiments.get_experiment_by_name(meta, name)}


@_route("/experiments/search")
def search_experiments(meta: Metadata, p: Params) -> Any:
    return experiments.search_experiments(
        meta,
        view=tracking.parse_view(p.get("view_type")),
        filter_string=string(p, "filter"),
        order_by=[str(o) for o in listed(p, "order_by")],
        max_results=integer(p, "max_results", 1000, high=tracking.MAX_RESULTS),
        page_token=string(p, "page_token"),
    )


@_route("/experiments/update")
def update_experiment(meta: Metadata, p: Params) -> Any:
    eid = string(p, "experiment_id", required=True)
    experiments.update_experiment(meta, eid, string(p, "new_name", required=True))


@_route("/experiments/delete")
def delete_experiment(meta: Metadata, p: Params) -> Any:
    eid = string(p, "experiment_id", required=True)
    experiments.set_experiment_lifecycle(meta, eid, deleted=True)


@_route("/experiments/restore")
def restore_experiment(meta: Metadata, p: Params) -> Any:
    eid = string(p, "experiment_id", required=True)
    experiments.set_experiment_lifecycle(meta, eid, deleted=False)


@_route("/experiments/set-experiment-tag")
def set_experiment_tag(meta: Metadata, p: Params) -> Any:
    eid = string(p, "experiment_id", required=True)
    experiments.set_experiment_tag(meta, eid, string(p, "key", required=True), p.get("value"))


@_route("/experiments/delete-experiment-tag")
def delete_experiment_tag(meta: Metadata, p: Params) -> Any:
    eid = string(p, "experiment_id", required=True)
    experiments.delete_experiment_tag(meta, eid, string(p, "key", required=True))


# ---------------------------------------------------------------- runs


@_route("/runs/create")
def create_run(meta: Metadata, p: Params) -> Any:
    tags: dict[Any, Any] = {}
    for key, value in pairs(p, "tags"):
        tags[key] = value
    run = runs.create_run(
        meta,
        experiment=string(p, "experiment_id") or "0",
        start_time=p.get("start_time"),
        tags=tags,
        run_name=string(p, "run_name"),
        user_id=string(p, "user_id"),
    )
    return {"run": run}


@_route("/runs/get", "GET")
def get_run(meta: Metadata, p: Params) -> Any:
    return {"run": runs.get_run(meta, run_id(p), _details)}


@_route("/runs/update")
def update_run(meta: Metadata, p: Params) -> Any:
    info = runs.update_run(
        meta,
        run_id(p),
        status=string(p, "status"),
        end_time=p.get("end_time"),
        run_name=string(p, "run_name"),
    )
    return {"run_info": info}


@_route("/runs/delete")
def delete_run(meta: Metadata, p: Params) -> Any:
    runs.set_run_lifecycle(meta, run_id(p), deleted=True)


@_route("/runs/restore")
def restore_run(meta: Metadata, p: Params) -> Any:
    runs.set_run_lifecycle(meta, run_id(p), deleted=False)


@_route("/runs/log-parameter")
def log_param(meta: Metadata, p: Params) -> Any:
    param = tracking._check_param(string(p, "key", required=True), p.get("value"))
    runs.log_batch(meta, run_id(p), params=[param], tags=[])


@_route("/runs/set-tag")
def set_tag(meta: Metadata, p: Params) -> Any:
    tag = tracking._check_tag(string(p, "key", required=True), p.get("value"))
    runs.log_batch(meta, run_id(p), params=[], tags=[tag])


@_route("/runs/delete-tag")
def delete_tag(meta: Metadata, p: Params) -> Any:
    runs.delete_tag(meta, run_id(p), string(p, "key", required=True))


@_route("/runs/log-batch")
def log_batch(meta: Metadata, p: Params) -> Any:
    logged_params = listed(p, "params")
    tags = listed(p, "tags")
    logged = listed(p, "metrics")
    if len(logged_params) > tracking.MAX_PARAMS_TAGS_PER_BATCH:
        raise invalid(
            f"A batch logging request can contain at most {tracking.MAX_PARAMS_TAGS_PER_BATCH} "
            f"params. Got {len(logged_params)} params."
        )
    if len(tags) > tracking.MAX_PARAMS_TAGS_PER_BATCH:
        raise invalid(
            f"A batch logging request can contain at most {tracking.MAX_PARAMS_TAGS_PER_BATCH} "
            f"tags. Got {len(tags)} tags."
        )
    if len(logged) > tracking.MAX_METRICS_PER_BATCH:
        raise invalid(
            f"A batch logging request can contain at most {tracking.MAX_METRICS_PER_BATCH} "
            f"metrics. Got {len(logged)} metrics."
        )
    total = len(logged_params) + len(tags) + len(logged)
    if total > tracking.MAX_ENTITIES_PER_BATCH:
        raise invalid(
            f"A batch logging request can contain at most {tracking.MAX_ENTITIES_PER_BATCH} "
            f"total params, tags and metrics. Got {total}."
        )
    checked_params = [tracking._check_param(k, v) for k, v in pairs(p, "params")]
    checked_tags = [tracking._check_tag(k, v) for k, v in pairs(p, "tags")]
    points = [metrics.parse_metric(m, f"metrics[{i}]") for i, m in enumerate(logged)]
    runs.log_batch(
        meta,
        run_id(p),
        params=checked_params,
        tags=checked_tags,
        metrics_writer=metrics.writer(points, [metrics.linked(m) for m in logged]),
    )


@_route("/runs/search")
def search_runs(meta: Metadata, p: Params) -> Any:
    return runs.search_runs(
        meta,
        experiment_ids=listed(p, "experiment_ids"),
        filter_string=string(p, "filter"),
        view=tracking.parse_view(p.get("run_view_type")),
        max_results=integer(p, "max_results", 1000, high=tracking.MAX_RESULTS),
        order_by=[str(o) for o in listed(p, "order_by")],
        page_token=string(p, "page_token"),
        extras=_details,
    )


@_route("/runs/log-metric")
def log_metric(meta: Metadata, p: Params) -> Any:
    point = metrics.parse_metric(p)
    write = metrics.writer([point], [metrics.linked(p)])
    runs.log_batch(meta, run_id(p), params=[], tags=[], metrics_writer=write)


@_route("/metrics/get-history", "GET")
def get_metric_history(meta: Metadata, p: Params) -> Any:
    key = string(p, "metric_key", required=True)
    assert key is not None
    limit = integer(p, "max_results", 0, low=0, high=tracking.MAX_RESULTS) or None
    return metrics.history(
        meta, run_id(p), key, max_results=limit, page_token=string(p, "page_token")
    )


def _details(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """What a run answer holds beyond the run's row: its metrics, inputs and outputs."""
    out = lineage.run_details(session, ids)
    for run, latest in metrics.latest(session, ids).items():
        out.setdefault(run, {})["metrics"] = latest
    return out


@_route("/runs/log-inputs")
def log_inputs(meta: Metadata, p: Params) -> Any:
    lineage.log_inputs(meta, run_id(p), listed(p, "datasets"), listed(p, "models"))


@_route("/runs/outputs")
def log_outputs(meta: Metadata, p: Params) -> Any:
    lineage.log_outputs(meta, run_id(p), listed(p, "models"))


# ---------------------------------------------------------------- logged models


@_route("/logged-models")
def create_logged_model(meta: Metadata, p: Params) -> Any:
    return logged_models.create_logged_model(meta, p)


@_route("/logged-models/search")
def search_logged_models(meta: Metadata, p: Params) -> Any:
    return logged_models.search_logged_models(meta, p)


@_route("/logged-models/{model_id}", "GET")
def get_logged_model(meta: Metadata, p: Params) -> Any:
    return logged_models.get_logged_model(meta, p["model_id"])


@_route("/logged-models/{model_id}", "PATCH")
def finalize_logged_model(meta: Metadata, p: Params) -> Any:
    return logged_models.finalize_logged_model(meta, p["model_id"], p.get("status"))


@_route("/logged-models/{model_id}", "DELETE")
def delete_logged_model(meta: Metadata, p: Params) -> Any:
    logged_models.delete_logged_model(meta, p["model_id"])


@_route("/logged-models/{model_id}/tags", "PATCH")
def set_logged_model_tags(meta: Metadata, p: Params) -> Any:
    logged_models.set_logged_model_tags(meta, p["model_id"], p.get("tags"))


@_route("/logged-models/{model_id}/tags/{tag_key:path}", "DELETE")
def delete_logged_model_tag(meta: Metadata, p: Params) -> Any:
    logged_models.delete_logged_model_tag(meta, p["model_id"], p["tag_key"])


@_route("/logged-models/{model_id}/params")
def log_logged_model_params(meta: Metadata, p: Params) -> Any:
    logged_models.log_logged_model_params(meta, p["model_id"], p.get("params"))


# ---------------------------------------------------------------- the model registry

RegistryHandler = Callable[[Registry, Params], Any]


def _registry_route(path: str, method: str) -> Callable[[RegistryHandler], RegistryHandler]:
    """Serve ``handler(registry, params)``: the registry as the request's token may use it
    (a protected alias moves only for a deployer)."""

    def register(handler: RegistryHandler) -> RegistryHandler:
        async def endpoint(request: Request, meta: MetadataDep) -> JSONResponse:
            sent = await params.read(request)
            result = await run_in_threadpool(handler, registry_for(request, meta), sent)
            return Answer({} if result is None else result)

        endpoint.__name__ = handler.__name__
        router.add_api_route(
            PREFIX + path, endpoint, methods=[method], name=f"mlflow_{handler.__name__}"
        )
        return handler

    return register


for _path, _method, _handler in (
    ("/registered-models/create", "POST", model_registry.create_registered_model),
    ("/registered-models/get", "GET", model_registry.get_registered_model),
    ("/registered-models/rename", "POST", model_registry.rename_registered_model),
    ("/registered-models/update", "PATCH", model_registry.update_registered_model),
    ("/registered-models/delete", "DELETE", model_registry.delete_registered_model),
    ("/registered-models/search", "GET", registry_search.search_registered_models),
    ("/registered-models/get-latest-versions", "POST", model_registry.get_latest_versions),
    ("/registered-models/get-latest-versions", "GET", model_registry.get_latest_versions),
    ("/registered-models/set-tag", "POST", model_registry.set_registered_model_tag),
    ("/registered-models/delete-tag", "DELETE", model_registry.delete_registered_model_tag),
    ("/registered-models/alias", "POST", model_registry.set_alias),
    ("/registered-models/alias", "DELETE", model_registry.delete_alias),
    ("/registered-models/alias", "GET", model_registry.get_version_by_alias),
    ("/model-versions/create", "POST", model_registry.create_model_version),
    ("/model-versions/get", "GET", model_registry.get_model_version),
    ("/model-versions/update", "PATCH", model_registry.update_model_version),
    ("/model-versions/delete", "DELETE", model_registry.delete_model_version),
    ("/model-versions/search", "GET", registry_search.search_model_versions),
    ("/model-versions/get-download-uri", "GET", model_registry.get_download_uri),
    ("/model-versions/set-tag", "POST", model_registry.set_model_version_tag),
    ("/model-versions/delete-tag", "DELETE", model_registry.delete_model_version_tag),
):
    _registry_route(_path, _method)(_handler)


# ---------------------------------------------------------------- the artifact proxy


@_route("/artifacts/list", "GET")
def list_run_artifacts(meta: Metadata, p: Params) -> Any:
    return artifacts.list_run(meta, run_id(p), string(p, "path"))


# The artifact proxy's routes, served with these (the server mounts one router).
router.routes.extend(proxy.router.routes)
