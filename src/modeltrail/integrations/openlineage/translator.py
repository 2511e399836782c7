"""OpenLineage in: RunEvents, JobEvents and DatasetEvents become modeltrail metadata.

The mapping (docs/integrations.md):

- job namespace -> experiment; the root job (the DAG, or the job itself) -> pipeline;
  every job -> executable;
- the root run (the ``parent`` facet's ``root``, else its parent, else the run itself) -> run;
  every OpenLineage run -> an execution of that run;
- START/RUNNING/OTHER -> RUNNING, COMPLETE -> SUCCESS, FAIL/ABORT -> FAILED, with start and
  end times; inputs/outputs -> ``dataset`` artifacts whose attributes are the facets;
  ``errorMessage`` -> annotations; ``nominalTime`` -> a ``schedule`` trigger event.

What another modeltrail server sends (its ``openlineage`` plugin, ``events``) comes back as it
was there: a run's own events (``jobType`` integration ``MODELTRAIL``, no ``parent``) are the
run alone, not an execution of it, and its job is not an executable; a dataset's
``modeltrail_artifact`` (or ``modeltrail_model``) facet gives its kind, when this store has
the kind, or takes new ones, and the attributes fit it.

Events arrive late, twice and out of order. Every identity is a uuid5 of OpenLineage names and
run ids, and every field is merged with a rule that does not depend on arrival order: times
take the earliest start and the terminal event's time, a terminal status is never replaced by
a later START, a later terminal event wins over an earlier one, and facets merge key by key.
A model's registered versions and their aliases (``modeltrail_model``'s
``registeredVersions``) are the sender's registry at a time, which a ``DatasetEvent`` sends
each time it changes, and a step's events carry as it was then: the list of the latest
``eventTime`` is kept whole, whichever kind of event brought it (``datasets``).

This module stores one event in one transaction; the parts of the mapping live beside it:
``validation`` (is it an event, what is wrong with it), ``merging`` (derived ids and the merge
rules), ``jobs``, ``datasets``, ``triggers`` and ``runs`` (what each part of an event becomes).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.exc import IntegrityError

from modeltrail.domain.documents import refused_at
from modeltrail.domain.errors import Conflict, CycleDetected, InvalidInput, Unavailable
from modeltrail.integrations.openlineage.datasets import ensure_dataset, ensure_datasets
from modeltrail.integrations.openlineage.jobs import ensure_executable, ensure_experiment
from modeltrail.integrations.openlineage.runs import apply_run
from modeltrail.integrations.openlineage.validation import event_type, validate_event
from modeltrail.services import access
from modeltrail.services.metadata import Metadata, Transaction


def _apply_job(tx: Transaction, event: dict[str, Any]) -> dict[str, Any]:
    job = event["job"]
    with refused_at("/job/namespace"):
        ensure_experiment(tx, job["namespace"])
    with refused_at("/job"):
        executable = ensure_executable(tx, job["namespace"], job["name"], job.get("facets") or {})
    artifacts = ensure_datasets(
        tx, [(d, d.get("inputFacets")) for d in event.get("inputs") or []], pointer="/inputs"
    )
    artifacts += ensure_datasets(
        tx, [(d, d.get("outputFacets")) for d in event.get("outputs") or []], pointer="/outputs"
    )
    return {"executable": str(executable), "artifacts": [str(a) for a in artifacts]}


def _apply_dataset(tx: Transaction, event: dict[str, Any]) -> dict[str, Any]:
    at = str(event["eventTime"])
    return {"artifact": str(ensure_dataset(tx, event["dataset"], pointer="/dataset", at=at))}


def ingest(
    meta: Metadata, event: dict[str, Any], *, validated: bool = False, pointer: str = ""
) -> dict[str, Any]:
    """Store one event in one transaction and say what it became.

    Concurrent events about the same run can race to create the same derived ids; the loser
    retries its whole event, which then merges into what the winner stored. ``pointer``: where
    the event is in the request (its index in a batch), put before the pointers of problems.
    """
    access.require_global_writer(meta.scope, "an OpenLineage event")
    kind = event_type(event) if validated else validate_event(event)
    separate_outputs = False
    for attempt in range(6):
        try:
            with meta.transaction() as tx:
                if kind == "RunEvent":
                    return apply_run(tx, event, separate_outputs=separate_outputs)
                if kind == "JobEvent":
                    return _apply_job(tx, event)
                return _apply_dataset(tx, event)
        except CycleDetected:
            if separate_outputs:
                raise
            # The outputs feed back into the inputs of this run through earlier runs: keep
            # this run's writes as versions of their own.
            separate_outputs = True
        except (IntegrityError, Conflict, Unavailable):
            if attempt == 5:
                raise
            time.sleep(0.02 * (attempt + 1))
        except InvalidInput as exc:
            if pointer:
                exc.errors = [{**e, "pointer": pointer + e["pointer"]} for e in exc.errors]
            raise
    raise AssertionError("unreachable")
