"""What started an Argo workflow, from what Argo records: Argo Events sensor labels and the
event passed as a parameter, CronWorkflow labels, resubmission, creator labels."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

from modeltrail.integrations.argo.workflow import (
    A_SCHEDULED,
    L_ACTION_TIME,
    L_CREATOR,
    L_CREATOR_EMAIL,
    L_CREATOR_USER,
    L_CRON,
    L_RESUBMITTED,
    L_SENSOR,
    L_TRIGGER,
    parameters,
)


def _decode(value: Any) -> Any:
    """A parameter's value as JSON if it is JSON (Argo Events passes whole events that way,
    with ``data`` as base64 when no data key was chosen)."""
    if isinstance(value, dict | list):
        return value
    if not isinstance(value, str) or not value.strip().startswith(("{", "[")):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    if isinstance(parsed, dict) and isinstance(parsed.get("data"), str):
        with contextlib.suppress(ValueError, TypeError):
            parsed["data"] = json.loads(base64.b64decode(parsed["data"], validate=True))
    return parsed


def _from_payload(source: str, data: Any) -> tuple[str, dict[str, Any]] | None:
    """Cause and details from an event's data, by its source type or its shape."""
    if not isinstance(data, dict):
        return None
    records = data.get("notification") or data.get("Records")
    if source in {"minio", "s3", "aws-sqs", "sns"} or (
        isinstance(records, list) and records and "s3" in records[0]
    ):
        record = records[0] if isinstance(records, list) and records else data
        s3 = record.get("s3") or {}
        return "data change", {
            "bucket": (s3.get("bucket") or {}).get("name"),
            "key": (s3.get("object") or {}).get("key"),
            "s3Event": record.get("eventName"),
            "eventTime": record.get("eventTime"),
        }
    body: dict[str, Any] = data["body"] if isinstance(data.get("body"), dict) else data
    if source in {"github", "gitlab", "bitbucket"} or (
        "head_commit" in body or ("after" in body and "repository" in body)
    ):
        head = body.get("head_commit") or {}
        return "code change", {
            "commit": head.get("id") or body.get("after"),
            "ref": body.get("ref"),
            "repository": (body.get("repository") or {}).get("full_name"),
            "message": head.get("message"),
            "author": (head.get("author") or {}).get("username"),
        }
    if source == "calendar" or (set(data) == {"eventTime"}):
        return "schedule", {"eventTime": data.get("eventTime")}
    if source == "webhook":
        return "external", {"body": body}
    return None


def trigger_of(wf: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """What started this workflow, as (cause, details), or None if Argo recorded nothing."""
    meta = wf["metadata"]
    labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
    if labels.get(L_RESUBMITTED):
        return "resubmission", {"resubmittedFrom": labels[L_RESUBMITTED]}
    if labels.get(L_SENSOR):
        details: dict[str, Any] = {
            "sensor": labels[L_SENSOR],
            "trigger": labels.get(L_TRIGGER),
            "actionTimestamp": labels.get(L_ACTION_TIME),
        }
        params = parameters(((wf.get("spec") or {}).get("arguments") or {}).get("parameters"))
        for name, value in params.items():
            value = _decode(value)
            if isinstance(value, dict) and isinstance(value.get("context"), dict):
                ctx = value["context"]
                found = _from_payload(str(ctx.get("type", "")), value.get("data"))
                details.update(
                    eventSource=ctx.get("source"),
                    eventName=ctx.get("subject"),
                    eventType=ctx.get("type"),
                    eventTime=ctx.get("time"),
                    parameter=name,
                )
                if found:
                    # The envelope's own context (e.g. its RFC 3339 time) wins over the payload's.
                    details.update(
                        {k: v for k, v in found[1].items() if v is not None and not details.get(k)}
                    )
                    return found[0], details
                return "external", details
            found = _from_payload("", value)
            if found:
                details.update({k: v for k, v in found[1].items() if v is not None}, parameter=name)
                return found[0], details
        names = " ".join(str(v) for v in (labels.get(L_SENSOR), labels.get(L_TRIGGER))).lower()
        for word, cause in (
            ("calendar", "schedule"),
            ("minio", "data change"),
            ("s3", "data change"),
            ("github", "code change"),
        ):
            if word in names:
                return cause, details
        return "external", details
    if labels.get(L_CRON):
        return "schedule", {"cronWorkflow": labels[L_CRON], "scheduledTime": notes.get(A_SCHEDULED)}
    if labels.get(L_CREATOR) or labels.get(L_CREATOR_EMAIL) or labels.get(L_CREATOR_USER):
        return "manual", {
            "creator": labels.get(L_CREATOR),
            "email": labels.get(L_CREATOR_EMAIL),
            "user": labels.get(L_CREATOR_USER),
        }
    return None
