"""MLflow's field names in a ``q`` expression, as ours: ``params.x`` is ``configuration.x``,
``tags.x`` is ``annotations.x``, ``attributes.status`` the run's own field, and MLflow's
attribute names (``run_name``, ``start_time``, ...) the names of our fields."""

from __future__ import annotations

_PREFIXES = {
    "params": "configuration",
    "param": "configuration",
    "parameters": "configuration",
    "tags": "annotations",
    "tag": "annotations",
    "metric": "metrics",
}
_ATTRIBUTE_PREFIXES = frozenset({"attributes", "attribute", "attr"})
_MLFLOW_ATTRIBUTES = {
    "run_name": "name",
    "run_id": "id",
    "experiment_id": "experiment",
    "start_time": "createTime",
    "end_time": "endTime",
    "status": "status",
    "artifact_uri": "uri",
    "created": "createTime",
}


def normalise(path: tuple[str, ...], *, attribute_prefix: bool = True) -> tuple[str, ...]:
    """A path in our names: MLflow's ``params``, ``tags`` and ``attributes.x`` translated.
    ``attributes.x`` stays a path into the document of that name where ``x`` is none of
    MLflow's run attributes (an artifact's kind attributes)."""
    head = path[0]
    if head in _PREFIXES and len(path) > 1:
        return (_PREFIXES[head], *path[1:])
    if attribute_prefix and head in _ATTRIBUTE_PREFIXES and len(path) == 2:
        if path[1] in _MLFLOW_ATTRIBUTES:
            return (_MLFLOW_ATTRIBUTES[path[1]],)
        if head != "attributes":
            return (path[1],)
    if len(path) == 1 and path[0] in _MLFLOW_ATTRIBUTES:
        return (_MLFLOW_ATTRIBUTES[path[0]],)
    return path
