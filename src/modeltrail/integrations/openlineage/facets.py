"""modeltrail's own OpenLineage facets: the run's trigger, its metrics, artifacts and models.

Each is a facet of the OpenLineage Python client (an ``attrs`` class over its base facets, so
the client's serializer writes it) whose ``_schemaURL`` names a JSON Schema shipped in
``specs/facets/``; the schemas extend the spec's ``RunFacet`` and ``DatasetFacet``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import attr
from openlineage.client.generated.base import DatasetFacet, RunFacet

from modeltrail.version import __version__

PRODUCER = f"https://modeltrail.dev/releases/{__version__}"
SCHEMA_BASE = "https://modeltrail.dev/spec/facets/1-0-0/"
SCHEMA_DIR = Path(__file__).parent / "specs" / "facets"


def schema_url(facet: str) -> str:
    return f"{SCHEMA_BASE}{facet}.json#/$defs/{facet}"


@cache
def schemas() -> dict[str, dict[str, Any]]:
    """The facets' JSON Schemas by their ``$id``."""
    out = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        schema = json.loads(path.read_text())
        out[schema["$id"]] = schema
    return out


@attr.define
class ModeltrailTriggerRunFacet(RunFacet):
    """What started the run (``modeltrail_trigger``)."""

    id: str
    name: str
    kind: str
    version: str | None = attr.field(default=None)
    cause: str | None = attr.field(default=None)
    uri: str | None = attr.field(default=None)
    attributes: dict[str, Any] = attr.field(factory=dict)

    @staticmethod
    def _get_schema() -> str:
        return schema_url("ModeltrailTriggerRunFacet")


@attr.define
class ModeltrailMetricsRunFacet(RunFacet):
    """The summaries of the metric series a run or step logged, and the metrics artifacts it
    wrote (``modeltrail_metrics``)."""

    series: list[dict[str, Any]] = attr.field(factory=list)
    artifacts: list[dict[str, Any]] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return schema_url("ModeltrailMetricsRunFacet")


@attr.define
class ModeltrailArtifactDatasetFacet(DatasetFacet):
    """The artifact a dataset is, with its kind (``modeltrail_artifact``)."""

    id: str
    name: str
    version: str
    kind: str

    @staticmethod
    def _get_schema() -> str:
        return schema_url("ModeltrailArtifactDatasetFacet")


@attr.define
class ModeltrailModelDatasetFacet(DatasetFacet):
    """A dataset that is a model (``modeltrail_model``)."""

    id: str
    name: str
    version: str
    kind: str
    type: str | None = attr.field(default=None)
    framework: dict[str, Any] | None = attr.field(default=None)
    hyperParameters: dict[str, Any] | None = attr.field(default=None)  # noqa: N815
    registeredVersions: list[dict[str, Any]] | None = attr.field(default=None)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return schema_url("ModeltrailModelDatasetFacet")
