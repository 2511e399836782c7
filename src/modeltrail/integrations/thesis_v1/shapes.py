"""The shapes of the thesis's documents (Appendix A): their fields, what every entity
requires, and how a model's attributes differ from modeltrail's."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel

from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionRow,
    RunRow,
)

Doc = dict[str, Any]
M = TypeVar("M", bound=BaseModel)

# The thesis's model (Table 6.9) has its framework as a Pair (value1, value2) and its schemas as
# JSON in strings; modeltrail keeps named fields and JSON. Translated here, and only here.
MODEL_KIND = "model"
SCHEMA_ATTRIBUTES = ("inputSchema", "outputSchema")


def model_from_thesis(attributes: Doc) -> Doc:
    """A thesis model's attributes as modeltrail keeps them."""
    out = dict(attributes)
    pair = out.get("framework")
    if isinstance(pair, dict) and set(pair) <= {"value1", "value2"}:
        out["framework"] = {
            k: v
            for k, v in (("name", pair.get("value1")), ("version", pair.get("value2")))
            if v is not None
        }
    for key in SCHEMA_ATTRIBUTES:
        text = out.get(key)
        if isinstance(text, str):
            try:
                parsed = json.loads(text)
            except ValueError:
                continue  # free text stays text
            if isinstance(parsed, dict | list):
                out[key] = parsed
    return out


def model_to_thesis(attributes: Doc) -> Doc:
    """A model's attributes as the thesis's documents have them (version 1 data passes as it
    is)."""
    out = dict(attributes)
    framework = out.get("framework")
    if isinstance(framework, dict) and ({"name", "version"} & set(framework)):
        out["framework"] = {"value1": framework.get("name"), "value2": framework.get("version")}
    for key in SCHEMA_ATTRIBUTES:
        value = out.get(key)
        if value is not None and not isinstance(value, str):
            out[key] = json.dumps(value, sort_keys=True)
    return out


# The fields every artifact has; any other field of a thesis artifact is a kind attribute.
ARTIFACT_BASE = ("id", "name", "version", "kind", "description", "createTime", "uri", "annotations")
# Appendix A requires these of every entity; an artifact's `kind` defaults to "artifact".
REQUIRED = ("name", "version")
DEFAULT_ARTIFACT_KIND = "artifact"
# A workflow is a tree; a DAG whose tree form would exceed this many nodes is refused.
MAX_WORKFLOW_NODES = 100_000
MAX_WORKFLOW_DEPTH = 500  # nesting JSON deeper than this is more than clients parse safely

# The plain fields of each document, for a create (POST) and for an update (PUT); everything
# else in a document is either a relation (handled by name below) or ignored, as the thesis's
# server ignored fields it did not know.
EXPERIMENT_FIELDS = ("id", "name", "version", "createTime", "annotations")
EXPERIMENT_UPDATE = ("name", "version", "annotations")
RUN_UPDATE = ("name", "version", "uri", "status", "configuration", "annotations")
EXECUTION_UPDATE = (
    "name",
    "version",
    "kind",
    "uri",
    "status",
    "startTime",
    "endTime",
    "configuration",
    "annotations",
)
EXECUTABLE_FIELDS = ("id", "name", "version", "createTime", "uri", "description", "annotations")
PIPELINE_FIELDS = ("id", "name", "version", "createTime", "uri", "annotations")
# The lists a read answers of what an entity holds: the rows, the column naming their holder,
# the holder, and the endpoint that creates them.
MEMBERS: dict[str, tuple[type[RunRow | ExecutionRow | ArtifactRow], Any, str, str]] = {
    "runs": (
        RunRow,
        RunRow.experiment_id,
        "experiment",
        "POST /v1/metadata/experiments/{experiment}/runs",
    ),
    "executions": (
        ExecutionRow,
        ExecutionRow.run_id,
        "run",
        "POST /v1/metadata/experiments/runs/{run}/executions",
    ),
}
