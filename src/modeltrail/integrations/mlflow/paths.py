"""The paths of MLflow's API and what the server is told of them as it mounts the routes
(see ``modeltrail.integrations``): the prefixes access control guards, the POSTs that only
read, the routes a token with grants on single experiments may call, and the paths whose
bodies are streamed files."""

from __future__ import annotations

from modeltrail.integrations.mlflow.proxy import routes as proxy

PREFIX = "/api/2.0/mlflow"
# MLflow 3's client asks its server what it can do here (``server-info``) before it uploads a
# large file or downloads one, and before it uses a workspace.
PREFIX_V3 = "/api/3.0/mlflow"
# What the server is told as it mounts the routes (see ``modeltrail.integrations``): the paths
# access control guards, the POSTs of this API that only read (MLflow sends its searches as POST).
READ_ONLY_POSTS = frozenset(
    PREFIX + p
    for p in (
        "/experiments/search",
        "/runs/search",
        "/logged-models/search",
        "/registered-models/get-latest-versions",
    )
)

# What a token with grants on single experiments may call (``modeltrail.server.auth``): the
# tracking API, whose handlers read and change experiments, runs and logged models as the
# token may on modeltrail's own API (``access``; a logged model is of the experiment it was
# made in), the artifact proxy's files of runs and logged models, and the model registry's
# reads and the changes of versions and aliases, which see and change the versions it may
# (``services.registry.visible``; a new model is made with its first version, see
# ``model_registry``). Not listed, as they need a global role: creating an experiment (it
# would be nobody's grant) and changing a registered model itself (rename, description,
# tags, deletion: a model is of no experiment).
SCOPED_ROUTES = frozenset(
    [
        *(
            (method, PREFIX + path)
            for method, path in (
                ("GET", "/experiments/get"),
                ("GET", "/experiments/get-by-name"),
                ("POST", "/experiments/search"),
                ("POST", "/experiments/update"),
                ("POST", "/experiments/delete"),
                ("POST", "/experiments/restore"),
                ("POST", "/experiments/set-experiment-tag"),
                ("POST", "/experiments/delete-experiment-tag"),
                ("POST", "/runs/create"),
                ("GET", "/runs/get"),
                ("POST", "/runs/update"),
                ("POST", "/runs/delete"),
                ("POST", "/runs/restore"),
                ("POST", "/runs/log-parameter"),
                ("POST", "/runs/set-tag"),
                ("POST", "/runs/delete-tag"),
                ("POST", "/runs/log-batch"),
                ("POST", "/runs/search"),
                ("POST", "/runs/log-metric"),
                ("GET", "/metrics/get-history"),
                ("POST", "/runs/log-inputs"),
                ("POST", "/runs/outputs"),
                ("GET", "/artifacts/list"),
                ("POST", "/logged-models"),
                ("POST", "/logged-models/search"),
                ("GET", "/logged-models/{model_id}"),
                ("PATCH", "/logged-models/{model_id}"),
                ("DELETE", "/logged-models/{model_id}"),
                ("PATCH", "/logged-models/{model_id}/tags"),
                ("DELETE", "/logged-models/{model_id}/tags/{tag_key:path}"),
                ("POST", "/logged-models/{model_id}/params"),
                ("GET", "/registered-models/get"),
                ("GET", "/registered-models/search"),
                ("GET", "/registered-models/get-latest-versions"),
                ("POST", "/registered-models/get-latest-versions"),
                ("GET", "/registered-models/alias"),
                ("GET", "/model-versions/get"),
                ("GET", "/model-versions/search"),
                ("GET", "/model-versions/get-download-uri"),
                ("POST", "/registered-models/create"),
                ("POST", "/registered-models/alias"),
                ("DELETE", "/registered-models/alias"),
                ("POST", "/model-versions/create"),
                ("PATCH", "/model-versions/update"),
                ("DELETE", "/model-versions/delete"),
                ("POST", "/model-versions/set-tag"),
                ("DELETE", "/model-versions/delete-tag"),
            )
        ),
        *proxy.SCOPED_ROUTES,
        # What the server can do, asked before large files go up or down: nothing of an
        # experiment's.
        ("GET", PREFIX_V3 + "/server-info"),
    ]
)

# Under PREFIX as a string, the artifact proxy's paths too, and MLflow 3's: one guard and one
# error shape.
GUARDED = (PREFIX, PREFIX_V3)
STREAMED_BODIES = proxy.STREAMED_BODIES
