"""The OpenLineage fixtures as complete events.

The client-test files are complete events. The Spark, dbt and Airflow integration files are
expected-subset matchers (fields left out, placeholders such as ``{{ any(result) }}``); this
module fills in what a real emitter always sends, deterministically, so every file can be
posted and checked.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "openlineage"

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/test"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_URL = "https://openlineage.io/spec/facets/1-0-0/Facet.json"
START = datetime(2024, 11, 22, 15, 58, tzinfo=UTC)


def load(name: str) -> Any:
    text = (FIXTURES / name).read_text()
    if text.startswith("//"):
        text = text.split("\n", 1)[1]
    return json.loads(text)


def _placeholder(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith("{{") or value.startswith("${json-unit"))


def run_id_for(namespace: str, name: str, salt: str = "") -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{salt}{namespace}/{name}"))


def _facets(facets: dict[str, Any] | None) -> dict[str, Any]:
    out = {}
    for key, value in (facets or {}).items():
        value = dict(value) if isinstance(value, dict) else {"value": value}
        value.setdefault("_producer", PRODUCER)
        value.setdefault("_schemaURL", FACET_URL)
        out[key] = value
    return out


def _scrub(value: Any) -> Any:
    # The client's Serde drops None values before sending; the matchers keep some.
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return "1.0.0" if _placeholder(value) else value


def complete(events: Any, salt: str = "") -> list[dict[str, Any]]:
    """Fill in run ids (one per job), times (one second apart), producer, schema URLs, facet
    base fields and dataset namespaces."""
    events = copy.deepcopy(events if isinstance(events, list) else [events])
    out = []
    for i, event in enumerate(events):
        ev: dict[str, Any] = {}
        if "eventTime" not in event or _placeholder(event["eventTime"]):
            ev["eventTime"] = (START + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
        job = event.get("job") or {}
        run = event.get("run", {} if "eventType" in event else None)
        if run is not None:
            run = dict(run)
            if not run.get("runId") or _placeholder(run.get("runId")):
                run["runId"] = run_id_for(job.get("namespace", ""), job.get("name", ""), salt)
            facets = dict(run.get("facets") or {})
            parent = facets.get("parent")
            if isinstance(parent, dict):
                parent = copy.deepcopy(parent)
                pjob = parent.get("job") or {}
                parent.setdefault("run", {})
                if not parent["run"].get("runId") or _placeholder(parent["run"].get("runId")):
                    parent["run"]["runId"] = run_id_for(
                        pjob.get("namespace", ""), pjob.get("name", ""), salt
                    )
                facets["parent"] = parent
            run["facets"] = _facets(_scrub(facets))
            ev["run"] = run
        if "job" in event:
            ev["job"] = {**job, "facets": _facets(_scrub(job.get("facets")))}
        for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
            if side in event:
                ev[side] = [
                    {
                        **d,
                        "namespace": d.get("namespace", "default"),
                        "facets": _facets(_scrub(d.get("facets"))),
                        **({extra: _facets(_scrub(d[extra]))} if extra in d else {}),
                    }
                    for d in event[side]
                ]
        if "dataset" in event:
            ev["dataset"] = {
                **event["dataset"],
                "facets": _facets(_scrub(event["dataset"].get("facets"))),
            }
        for key in ("eventType",):
            if key in event:
                ev[key] = event[key]
        ev.setdefault("eventTime", event.get("eventTime"))
        ev["producer"] = event.get("producer", PRODUCER)
        ev["schemaURL"] = event.get("schemaURL", SCHEMA_URL)
        out.append(ev)
    return out
