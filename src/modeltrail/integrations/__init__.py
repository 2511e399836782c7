"""Integrations: one slice per outside tool whose metadata modeltrail takes in or gives out.

A slice is a folder here holding its translator, which calls the services, and when it has
them its routes (a module with a FastAPI ``router``, built with ``server.deps``) and its
commands (a module with ``register(app)``, built with ``cli.common``). The server and the
command line read ``INTEGRATIONS`` and load those modules by name: adding an integration is
adding a folder and a line below.

Routes served outside ``/api/v1`` tell the server in their module: ``GUARDED``, the path
prefix (or a tuple of them) that access control guards as it guards the project's API;
``READ_ONLY_POSTS``, the POSTs under it that only read; ``SCOPED_ROUTES``, the (method, route
path) pairs whose handlers decide per experiment what a token with grants on single experiments
may do (the guard lets such a token through to them; every other route needs a global role);
``render_error``, the shape of every
error under it when the tool's clients expect their own (``server.problems.add_error_shape``);
``STREAMED_BODIES``, a regular expression of the paths whose bodies are files of any type,
streamed to the route rather than read whole and required to be JSON
(``server.transport.stream_bodies``).
"""

from __future__ import annotations

from dataclasses import dataclass

API = "/api/v1"  # the prefix of the project's own API


@dataclass(frozen=True)
class Integration:
    name: str
    # The module whose ``router`` the server mounts under ``prefix``; None: no routes.
    routes: str | None = None
    prefix: str = API
    # The module whose ``register(app)`` adds the slice's commands; None: no commands.
    commands: str | None = None


INTEGRATIONS: tuple[Integration, ...] = (
    # The thesis's API at /v1/metadata, path for path, for the thesis's generated client.
    Integration("thesis_v1", routes=f"{__name__}.thesis_v1.routes", prefix=""),
    Integration("openlineage", routes=f"{__name__}.openlineage.routes"),
    Integration("argo", routes=f"{__name__}.argo.routes", commands=f"{__name__}.argo.cli"),
    # MLflow's tracking API at /api/2.0/mlflow, for its client; its history also comes in with
    # ``modeltrail import mlflow``, and the push to its registry is a plugin (entry point
    # ``mlflow-registry`` of ``modeltrail.plugins``).
    Integration("mlflow", routes=f"{__name__}.mlflow.routes", prefix=""),
    # ML Metadata (Kubeflow Pipelines, TFX) comes in with ``modeltrail import mlmd``: it reads
    # the store's tables and writes through the API, so it has neither routes nor commands.
    Integration("mlmd"),
)

__all__ = ["API", "INTEGRATIONS", "Integration"]
