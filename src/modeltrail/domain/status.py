"""How a run or an execution ends: SUCCESS and FAILED are final, and the end time goes with them.

A run (or step) is RUNNING until it ends, once, as SUCCESS or FAILED, and its ``endTime`` is
set exactly then: a running one has none, a finished one always has one. Moving a finished one
to another status is refused (409) with the transition it asked for, so that a late or replayed
write never marks a finished run as running again. An importer that mirrors another system's
state (OpenLineage events, Argo workflows) may correct a final status, because that system is
the authority on it (a retried Argo workflow runs again); it still keeps the end time in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from modeltrail.domain.errors import Conflict, InvalidInput
from modeltrail.domain.models import Status

FINAL = frozenset({Status.SUCCESS, Status.FAILED})


def _no_end_while_running(what: str) -> InvalidInput:
    return InvalidInput(
        f"a RUNNING {what} has no end time: send endTime with status SUCCESS or FAILED",
        errors=[{"pointer": "/endTime", "detail": "only a finished status has an end time"}],
    )


def settle_create(what: str, fields: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """``fields`` (``status``, ``end_time``) of a new run or execution with its end settled: a
    finished one without an end time ends ``now``; a running one with an end time is refused."""
    out = dict(fields)
    status = Status(out.get("status") or Status.RUNNING)
    if status in FINAL:
        if out.get("end_time") is None:
            out["end_time"] = now
    elif out.get("end_time") is not None:
        raise _no_end_while_running(what)
    return out


def settle_update(
    what: str,
    entity_id: Any,
    *,
    status: str,
    end_time: datetime | None,
    changes: Mapping[str, Any],
    now: datetime,
    mirror: bool = False,
) -> dict[str, Any]:
    """The ``changes`` of an update of a run or execution that is ``status`` (ending at
    ``end_time``), with the end time they imply; refused when they leave a final status
    (unless ``mirror``: see the module) or give a running one an end time or a finished one
    none."""
    out = dict(changes)
    before = Status(status)
    if "status" in out and out["status"] is None:
        raise InvalidInput(
            f"a {what}'s status cannot be removed",
            errors=[{"pointer": "/status", "detail": "one of RUNNING, SUCCESS, FAILED"}],
        )
    after = Status(out.get("status") or before)
    if before in FINAL and after != before and not mirror:
        raise Conflict(
            f"{what} {entity_id} is {before.value}, which is final: "
            f"{before.value} -> {after.value} is not allowed",
            errors=[
                {"pointer": "/status", "detail": f"{before.value} -> {after.value}: {what} ended"}
            ],
            transition=[before.value, after.value],
        )
    if mirror and out.get("end_time", True) is None and after in FINAL:
        del out["end_time"]  # the other system does not say when: keep what is known
    end_sent = "end_time" in out
    if after in FINAL:
        if end_sent and out["end_time"] is None:
            raise InvalidInput(
                f"a finished {what} keeps its end time",
                errors=[{"pointer": "/endTime", "detail": f"the {what} is {after.value}"}],
            )
        if before not in FINAL and not end_sent:
            out["end_time"] = now  # it ends now
        elif before in FINAL and after != before and not end_sent:
            out["end_time"] = end_time or now
    else:
        if end_sent and out["end_time"] is not None:
            raise _no_end_while_running(what)
        if end_time is not None:
            out["end_time"] = None  # running again (a mirrored retry), or stored before
    return out
