"""Built-in plugin ``openlineage``: every run and step as OpenLineage run events, and every
change of the model registry (a version registered; an alias set, moved or removed) as a
``DatasetEvent`` of the model the version is, with the versions and aliases it has now.

A registration is not run as a job: sent as a run of a job ``registry/<model>`` with the
version as its output, the model would be written by two jobs, and a receiver's lineage of
it (modeltrail's ``why``, Marquez's graph) would find a producer that read nothing. A
``DatasetEvent`` is OpenLineage's event for what is known of a dataset outside a run.

When a run or a step is created or changes status, the hook only puts the stored entity on a
bounded queue (``queue_size``); when the queue is full the oldest entry is dropped and
counted. A thread of the plugin's own turns each entry into events (``events``), reading the
store, and sends them through the OpenLineage Python client's transport (HTTP with a bearer
API key, or any transport of the client's configured with ``transport``). A failed send is
retried with exponential backoff (``retries`` times, from ``backoff`` seconds up to
``max_backoff``) and then given up and counted; later events wait meanwhile, so that they
arrive in order. The write that caused an event never waits for it, and never fails with it.
When the server stops, what is queued is sent for at most ``flush_timeout`` seconds.

Settings (``MODELTRAIL_PLUGIN_OPENLINEAGE_<KEY>`` or the configuration file): ``url`` (or
``OPENLINEAGE_URL``), ``api_key`` (or ``OPENLINEAGE_API_KEY``), ``endpoint``
(api/v1/lineage), ``timeout`` (5 s), ``compression`` (none or gzip), ``retries`` (5),
``backoff`` (0.5 s), ``max_backoff`` (30 s), ``queue_size`` (10000), ``flush_timeout``
(10 s), ``model_kinds`` (model), ``metrics_kinds`` (metrics), ``dataset_namespace``
(modeltrail), ``transport`` (a JSON object of the client's transport configuration, instead
of ``url``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict, deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain import models as m
from modeltrail.domain import secrets
from modeltrail.domain.registry import AliasEvent, ModelVersion
from modeltrail.plugins.spec import Store, hookimpl
from modeltrail.services.entities import run as runs
from modeltrail.services.registry import Deleted
from modeltrail.store.tables import ModelVersionRow, RegisteredModelRow, RunRow

if TYPE_CHECKING:
    from openlineage.client.event_v2 import DatasetEvent, RunEvent, RunState
    from openlineage.client.transport import Transport

    from modeltrail.integrations.openlineage.events import EventBuilder

log = logging.getLogger("modeltrail.integrations.openlineage.emitter")

# How many runs and steps the worker remembers the last sent state of (to send a terminal
# event once, and a step's datasets again only when they changed).
REMEMBERED = 50_000
# At most one "queue full" and one "gave up" line in this many seconds: a receiver that is down
# must not flood the log (nor cost the server the writing of it); the counts are in the status.
LOG_INTERVAL = 10.0
# The changes of the registry that change what a model's ``DatasetEvent`` says.
REGISTRY_CHANGES = {
    ("model_version", "create"),
    ("model_version", "delete"),
    ("registered_model", "delete"),
    *(("model_alias", a) for a in ("set", "move", "remove")),
}


class SecretFilter(logging.Filter):
    """Masks URLs and the API key in what the OpenLineage client logs."""

    def __init__(self, secret: str | None) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = secrets.mask_urls_in(record.getMessage())
        if self.secret:
            message = message.replace(self.secret, secrets.mask_token(self.secret))
        record.msg, record.args = message, ()
        return True


def _number(settings: dict[str, Any], key: str, default: float) -> float:
    value = settings.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"openlineage: the setting {key} must be a number, not {value!r}"
        ) from None
    if number < 0:
        raise ValueError(f"openlineage: the setting {key} must not be negative")
    return number


def _list(value: Any) -> frozenset[str]:
    items = value if isinstance(value, list) else str(value).split(",")
    return frozenset(str(v).strip() for v in items if str(v).strip())


class OpenLineageEmitter:
    def __init__(self) -> None:
        self.metadata: Store | None = None
        self.transport: Transport | None = None
        self.builder: EventBuilder | None = None
        self.target = ""
        self.queue: deque[tuple[str, str, BaseModel]] = deque()
        self.queue_size = 10_000
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None
        self.stopping = False
        self.busy = False
        self.deadline: float | None = None
        self.retries = 5
        self.backoff = 0.5
        self.max_backoff = 30.0
        self.flush_timeout = 10.0
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.retried = 0
        self.last_drop_log = 0.0
        self.last_failure_log = 0.0
        self.failed_unlogged = 0
        self.last_delivery: dict[str, Any] | None = None
        self.states: OrderedDict[uuid.UUID, tuple[Any, ...]] = OrderedDict()
        self.filter: SecretFilter | None = None

    # ------------------------------------------------------------ hooks

    @hookimpl
    def modeltrail_start(self, metadata: Store, settings: dict[str, Any]) -> None:
        try:
            from openlineage.client.transport import get_default_factory
            from openlineage.client.transport.http import (
                ApiKeyTokenProvider,
                HttpCompression,
                HttpConfig,
                HttpTransport,
                TokenProvider,
            )
        except ImportError as exc:
            raise RuntimeError(
                "openlineage needs the OpenLineage Python client: "
                "pip install 'modeltrail[openlineage]'"
            ) from exc
        from modeltrail.integrations.openlineage.events import EventBuilder, Settings

        url = settings.get("url") or os.environ.get("OPENLINEAGE_URL")
        api_key = settings.get("api_key") or os.environ.get("OPENLINEAGE_API_KEY") or None
        self.filter = SecretFilter(str(api_key) if api_key else None)
        for name in ("openlineage.client.transport.http", "openlineage.client.client"):
            logging.getLogger(name).addFilter(self.filter)
        transport_config = settings.get("transport")
        if transport_config:
            config = (
                json.loads(transport_config)
                if isinstance(transport_config, str)
                else dict(transport_config)
            )
            self.transport = get_default_factory().create(config)
            self.target = str(config.get("type", "transport"))
            if config.get("url"):
                self.target = secrets.mask_url(str(config["url"]))
        elif url:
            compression = str(settings.get("compression", "")).strip().lower()
            http = HttpConfig(
                url=str(url),
                endpoint=str(settings.get("endpoint", "api/v1/lineage")),
                timeout=_number(settings, "timeout", 5.0),
                auth=ApiKeyTokenProvider({"apiKey": str(api_key)})
                if api_key
                else TokenProvider({}),
                compression=HttpCompression.GZIP if compression == "gzip" else None,
                # Retries are the worker's, with its backoff: one attempt per send here.
                retry={"total": 0, "connect": 0, "read": 0, "status": 0, "redirect": 0},
            )
            self.transport = HttpTransport(http)
            self.target = secrets.mask_url(str(url))
        else:
            raise ValueError(
                "openlineage needs the setting url (MODELTRAIL_PLUGIN_OPENLINEAGE_URL or "
                "OPENLINEAGE_URL) or transport"
            )
        self.retries = int(_number(settings, "retries", 5))
        self.backoff = _number(settings, "backoff", 0.5)
        self.max_backoff = _number(settings, "max_backoff", 30.0)
        self.flush_timeout = _number(settings, "flush_timeout", 10.0)
        self.queue_size = max(1, int(_number(settings, "queue_size", 10_000)))
        self.builder = EventBuilder(
            Settings(
                model_kinds=_list(settings.get("model_kinds", "model")),
                metrics_kinds=_list(settings.get("metrics_kinds", "metrics")),
                dataset_namespace=str(settings.get("dataset_namespace", "modeltrail")),
            )
        )
        self.metadata = metadata
        self.stopping = False
        self.thread = threading.Thread(
            target=self._work, name="modeltrail-openlineage", daemon=True
        )
        self.thread.start()

    @hookimpl
    def modeltrail_stored(self, entity: str, action: str, result: BaseModel) -> None:
        if self.thread is None:
            return
        if entity not in ("run", "execution") and (entity, action) not in REGISTRY_CHANGES:
            return
        with self.cond:
            if len(self.queue) >= self.queue_size:
                self.queue.popleft()
                self.dropped += 1
                now = time.monotonic()
                if now - self.last_drop_log >= LOG_INTERVAL:
                    self.last_drop_log = now
                    log.warning(
                        "openlineage: the queue is full (%d); dropped the oldest, %d so far",
                        self.queue_size,
                        self.dropped,
                    )
            self.queue.append((entity, action, result))
            self.cond.notify()

    @hookimpl
    def modeltrail_status(self) -> dict[str, Any]:
        with self.cond:
            queued = len(self.queue) + int(self.busy)
        return {
            "target": self.target,
            "queued": queued,
            "sent": self.sent,
            "failed": self.failed,
            "retried": self.retried,
            "dropped": self.dropped,
            "lastDelivery": self.last_delivery,
        }

    @hookimpl
    def modeltrail_stop(self) -> None:
        thread = self.thread
        if thread is None:
            return
        with self.cond:
            self.stopping = True
            self.deadline = time.monotonic() + self.flush_timeout
            self.cond.notify_all()
        thread.join(timeout=self.flush_timeout + 5)
        self.thread = None
        with self.cond:
            left = len(self.queue)
            self.queue.clear()
        if self.failed_unlogged:
            log.warning(
                "openlineage: gave up sending %d more event(s) (%d in all)",
                self.failed_unlogged,
                self.failed,
            )
        if left:
            log.warning("openlineage: %d change(s) were not sent before the server stopped", left)
        if self.transport is not None:
            try:
                self.transport.close()
            except Exception:
                log.exception("openlineage: closing the transport failed")
        if self.filter is not None:
            for name in ("openlineage.client.transport.http", "openlineage.client.client"):
                logging.getLogger(name).removeFilter(self.filter)

    # ------------------------------------------------------------ the worker

    def _next(self) -> tuple[str, str, BaseModel] | None:
        with self.cond:
            while not self.queue:
                if self.stopping:
                    return None
                self.cond.wait()
            if self.stopping and self._past_deadline():
                return None
            self.busy = True  # counted as queued until its events are sent or given up
            return self.queue.popleft()

    def _past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _work(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            try:
                self._handle(*item)
            finally:
                with self.cond:
                    self.busy = False

    def _handle(self, entity: str, action: str, result: BaseModel) -> None:
        try:
            events = self._events(entity, action, result)
        except Exception:
            # A store that cannot be read now (or an entity gone since) costs this change its
            # events, never the worker.
            log.exception("openlineage: could not describe %s %s", action, entity)
            self.failed += 1
            return
        for event in events:
            self._send(event)

    def _events(
        self, entity: str, action: str, result: BaseModel
    ) -> list[RunEvent] | list[DatasetEvent]:
        from openlineage.client.event_v2 import RunState

        from modeltrail.integrations.openlineage.events import terminal_state

        assert self.metadata is not None and self.builder is not None
        with self.metadata.session() as session:
            if entity in ("model_version", "model_alias", "registered_model"):
                return self._registry_events(session, result)
            if entity == "run":
                assert isinstance(result, m.Run)
                run, execution = result, None
                annotations = run.annotations
            else:
                assert isinstance(result, m.Execution)
                execution = result
                found = session.get(RunRow, result.run)
                if found is None:
                    return []
                run = runs.SERVICE.to_model(session, found)
                annotations = execution.annotations
            entity_id = result.id
            status: str = result.status
            datasets = (
                (tuple(execution.input_artifacts), tuple(execution.output_artifacts))
                if execution is not None
                else ((), ())
            )
            before = self.states.get(entity_id)
            states: list[RunState] = []
            if action == "create":
                states.append(RunState.START)
            end = terminal_state(status, False)
            if end is not None and (before is None or before[0] != status):
                end = terminal_state(status, self.builder.aborted(session, entity_id, annotations))
                assert end is not None
                states.append(end)
            elif (
                not states
                and execution is not None
                and before is not None
                and before[1] != datasets
            ):
                # New inputs or outputs of a step: RUNNING while it runs, OTHER after.
                states.append(RunState.RUNNING if status == m.Status.RUNNING else RunState.OTHER)
            self.states[entity_id] = (status, datasets)
            self.states.move_to_end(entity_id)
            while len(self.states) > REMEMBERED:
                self.states.popitem(last=False)
            if execution is None:
                return [self.builder.run_event(session, run, s) for s in states]
            return [self.builder.execution_event(session, execution, run, s) for s in states]

    def _registry_events(self, session: Session, result: BaseModel) -> list[DatasetEvent]:
        """A ``DatasetEvent`` of each model a registry change is about: the version
        registered, the versions deleted (the artifacts stay; which they were was read before
        they went), or the versions an alias left and went to."""
        assert self.builder is not None
        if isinstance(result, ModelVersion):
            artifacts = [result.artifact.id]
        elif isinstance(result, Deleted):
            artifacts = list(result.artifacts)
        else:
            assert isinstance(result, AliasEvent)
            numbers = {v for v in (result.from_version, result.to_version) if v is not None}
            artifacts = list(
                session.scalars(
                    select(ModelVersionRow.artifact_id)
                    .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
                    .where(
                        RegisteredModelRow.name == result.model,
                        ModelVersionRow.version.in_(numbers),
                    )
                    .order_by(ModelVersionRow.version)
                )
            )
        events = (self.builder.dataset_event(session, a) for a in dict.fromkeys(artifacts))
        return [e for e in events if e is not None]

    def _send(self, event: RunEvent | DatasetEvent) -> None:
        assert self.transport is not None
        attempt = 0
        while True:
            attempt += 1
            try:
                self.transport.emit(event)
            except Exception as exc:
                error = secrets.mask_urls_in(f"{type(exc).__name__}: {exc}")
                self._delivered(event, "retrying", attempt, error)
                give_up = attempt > self.retries or (self.stopping and self._past_deadline())
                if give_up:
                    self.failed += 1
                    self._delivered(event, "failed", attempt, error)
                    self._log_failure(event, attempt, error)
                    return
                self.retried += 1
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                with self.cond:
                    if not self.stopping:  # stop wakes the wait: the flush deadline rules
                        self.cond.wait(delay)
                continue
            self.sent += 1
            self._delivered(event, "sent", attempt, None)
            return

    def _log_failure(self, event: RunEvent | DatasetEvent, attempts: int, error: str) -> None:
        self.failed_unlogged += 1
        now = time.monotonic()
        if now - self.last_failure_log < LOG_INTERVAL:
            return
        self.last_failure_log = now
        log.warning(
            "openlineage: gave up sending %d event(s) since the last report (%d in all); "
            "the last, %s of %s, after %d attempt(s): %s",
            self.failed_unlogged,
            self.failed,
            _state(event),
            _subject(event),
            attempts,
            error,
        )
        self.failed_unlogged = 0

    def _delivered(
        self, event: RunEvent | DatasetEvent, status: str, attempts: int, error: str | None
    ) -> None:
        run_event = not hasattr(event, "dataset")
        self.last_delivery = {
            "target": self.target,
            "status": status,
            "eventType": _state(event),
            "job": _subject(event) if run_event else None,
            "dataset": None if run_event else _subject(event),
            "runId": event.run.runId if run_event else None,  # type: ignore[union-attr]
            "attempts": attempts,
            "error": error,
            "time": datetime.now(UTC).isoformat(),
        }


def _state(event: RunEvent | DatasetEvent) -> str:
    """A run event's type; ``DATASET`` for a ``DatasetEvent``."""
    if hasattr(event, "dataset"):
        return "DATASET"
    return event.eventType.value if event.eventType is not None else "OTHER"


def _subject(event: RunEvent | DatasetEvent) -> str:
    """What an event is about: its job, or its dataset, as ``namespace/name``."""
    about = event.dataset if hasattr(event, "dataset") else event.job
    return f"{about.namespace}/{about.name}"


# The instance pluggy registers (the entry point / built-in loads this module's ``plugin``).
plugin = OpenLineageEmitter
