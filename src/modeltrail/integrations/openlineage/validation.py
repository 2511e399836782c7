"""OpenLineage in, first step: which event a document is, and every field of it that
breaks the OpenLineage 2-0-2 JSON Schema or that no store can keep, each with its pointer."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from modeltrail.domain import limits
from modeltrail.domain.documents import nul_errors, number_errors, time_or_none
from modeltrail.domain.errors import InvalidInput

SPEC_PATH = Path(__file__).parent / "specs" / "OpenLineage-2-0-2.json"


@cache
def _validators() -> dict[str, Draft202012Validator]:
    spec = json.loads(SPEC_PATH.read_text())
    spec.pop("oneOf", None)
    checker = FormatChecker(formats=["uuid"])
    return {
        name: Draft202012Validator({**spec, "$ref": f"#/$defs/{name}"}, format_checker=checker)
        for name in ("RunEvent", "JobEvent", "DatasetEvent")
    }


def event_type(event: Any, pointer: str = "") -> str:
    """Which of the three events this is, told by its shape (as the spec's ``oneOf`` does)."""
    if not isinstance(event, dict):
        raise InvalidInput(
            "an OpenLineage event must be a JSON object",
            errors=[{"pointer": pointer or "/", "detail": "not an object"}],
        )
    if "run" in event:
        return "RunEvent"
    if "dataset" in event:
        return "DatasetEvent"
    if "job" in event:
        return "JobEvent"
    raise InvalidInput(
        "not an OpenLineage event: a RunEvent has 'run' and 'job', a JobEvent 'job', "
        "a DatasetEvent 'dataset'",
        errors=[{"pointer": pointer or "/", "detail": "needs 'run', 'job' or 'dataset'"}],
    )


def _leaf(error: ValidationError) -> ValidationError:
    while error.context:
        error = best_match(error.context) or error.context[0]
    return error


def validation_errors(event: Any, pointer: str = "") -> list[dict[str, str]]:
    kind = event_type(event, pointer)
    too_many = _too_many_datasets(event, pointer)
    if too_many:
        return too_many  # before the schema is checked: that alone takes long for such lists
    out = []
    for error in sorted(
        _validators()[kind].iter_errors(event), key=lambda e: list(e.absolute_path)
    ):
        leaf = _leaf(error)
        parts = list(leaf.absolute_path)
        if leaf.validator == "required" and isinstance(leaf.instance, dict):
            # One error per missing property, each saying which one ("'x' is a required ...").
            required: list[str] = leaf.validator_value  # type: ignore[assignment]
            missing = [p for p in required if p not in leaf.instance]
            parts += [next((p for p in missing if leaf.message.startswith(repr(p))), missing[0])]
        path = "".join(f"/{p}" for p in parts)
        out.append({"pointer": pointer + path or "/", "detail": f"{leaf.message} ({kind})"})
    if out:
        return out  # the checks below rely on the shape the schema gives
    return storage_errors(event, pointer)


def _too_many_datasets(event: dict[str, Any], pointer: str) -> list[dict[str, str]]:
    # An execution holds at most MAX_LIST input and MAX_LIST output artifacts.
    return [
        {
            "pointer": f"{pointer}/{side}",
            "detail": f"at most {limits.MAX_LIST} {side} are accepted in one event, "
            f"not {len(event[side])}",
        }
        for side in ("inputs", "outputs")
        if isinstance(event.get(side), list) and len(event[side]) > limits.MAX_LIST
    ]


def _named_parts(event: dict[str, Any]) -> list[tuple[str, Any]]:
    """Pointers to the jobs and datasets of an event, with what each is."""
    parts: list[tuple[str, Any]] = [("/job", event.get("job")), ("/dataset", event.get("dataset"))]
    parent = ((event.get("run") or {}).get("facets") or {}).get("parent")
    if isinstance(parent, dict):
        parts += [
            ("/run/facets/parent/job", parent.get("job")),
            ("/run/facets/parent/root/job", (parent.get("root") or {}).get("job")),
        ]
    for side in ("inputs", "outputs"):
        parts += [(f"/{side}/{i}", d) for i, d in enumerate(event.get(side) or [])]
    return [(where, part) for where, part in parts if isinstance(part, dict)]


def _parent_errors(event: dict[str, Any], pointer: str) -> list[dict[str, str]]:
    """The parent facet (the schema of the event leaves facets open) names a job and a run:
    what the run is filed under."""
    parent = ((event.get("run") or {}).get("facets") or {}).get("parent")
    if parent is None:
        return []
    where = f"{pointer}/run/facets/parent"
    if not isinstance(parent, dict):
        return [{"pointer": where, "detail": "must be an object"}]
    errors = []
    for at, part in ((where, parent), (f"{where}/root", parent.get("root"))):
        if part is None and at != where:
            continue
        if not isinstance(part, dict):
            errors.append({"pointer": at, "detail": "must be an object"})
            continue
        for name, fields in (("job", ("namespace", "name")), ("run", ("runId",))):
            value = part.get(name)
            if not isinstance(value, dict):
                errors.append({"pointer": f"{at}/{name}", "detail": "must be an object"})
                continue
            errors += [
                {"pointer": f"{at}/{name}/{field}", "detail": "must be a string"}
                for field in fields
                if not isinstance(value.get(field), str)
            ]
    return errors


def storage_errors(event: dict[str, Any], pointer: str = "") -> list[dict[str, str]]:
    """What the schema allows but no store can keep: NUL characters, numbers beyond 64 bits
    or not finite, times outside the years 1 to 9999 in UTC, names too long to keep in full
    (MAX_TEXT characters), and a parent facet without the job and run it names."""
    errors = nul_errors(event, pointer) + number_errors(event, pointer)
    errors += _parent_errors(event, pointer)
    if "eventTime" in event:
        try:
            time_or_none(event["eventTime"])
        except ValueError as exc:
            errors.append({"pointer": f"{pointer}/eventTime", "detail": str(exc)})
    for where, part in _named_parts(event):
        for field in ("namespace", "name"):
            value = part.get(field)
            if isinstance(value, str) and len(value) > limits.MAX_TEXT:
                errors.append(
                    {
                        "pointer": f"{pointer}{where}/{field}",
                        "detail": f"at most {limits.MAX_TEXT} characters are kept, "
                        f"not {len(value)}",
                    }
                )
    return errors


def validate_event(event: Any) -> str:
    """Raise InvalidInput naming every field that breaks the OpenLineage schema or that no
    store can keep."""
    errors = validation_errors(event)
    if errors:
        raise InvalidInput(
            f"the event is invalid in {len(errors)} place(s): "
            + "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors[:3]),
            errors=errors,
        )
    return event_type(event)
