"""Built-in plugin ``notifications``: webhooks when runs end, and two alert rules.

Rules (each can be switched off with the ``rules`` setting):

- ``run-ended``: a run reached SUCCESS or FAILED;
- ``failures-in-a-row``: the last N runs of an experiment failed, all since its last
  successful deployment (a run that succeeded and wrote an artifact of a deployment kind);
- ``flagged-data-deployed``: a flagged artifact is upstream of a deployment (an artifact of a
  deployment kind), checked when a deployment is stored and every ``check_interval`` seconds;
- ``model-registered``: a new version of a registered model;
- ``alias-changed``: an alias of a registered model was set, moved or removed (a deployment
  system follows ``production`` with it); the ``aliases`` setting keeps it to some aliases.

The hook only puts the stored entity on a queue; a background thread evaluates the rules,
records each notification once (table ``notifications``) and delivers it to every URL with
retries and exponential backoff, so a slow or broken receiver never blocks a write. The body
is Slack's ``{"text": ...}`` with the details under ``modeltrail``; generic receivers read
those. ``GET /api/v1/plugins`` shows the counts and the last delivery.

Settings (``MODELTRAIL_PLUGIN_NOTIFICATIONS_<KEY>`` or the configuration file):
``urls`` (comma separated), ``rules``, ``failures_in_a_row`` (3), ``deployment_kinds``
(deployment), ``aliases`` (all), ``retries`` (5), ``backoff`` (1 s), ``timeout`` (5 s),
``check_interval`` (60 s), ``public_url`` (for links in messages).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modeltrail.domain import secrets
from modeltrail.plugins import notification_rules
from modeltrail.plugins.spec import Store, hookimpl
from modeltrail.store.tables import (
    ArtifactRow,
    FlagRow,
    ModelAliasEventRow,
    ModelVersionRow,
    NotificationRow,
    RegisteredModelRow,
    RunRow,
)

log = logging.getLogger("modeltrail.plugins.notifications")

RULES = (
    "run-ended",
    "failures-in-a-row",
    "flagged-data-deployed",
    "model-registered",
    "alias-changed",
)
ALIAS_MOVES = ("set", "move", "remove")
TERMINAL = {"SUCCESS", "FAILED"}


def _list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- the plugin


class Notifications:
    def __init__(self) -> None:
        self.metadata: Store | None = None
        self.urls: list[str] = []
        self.rules: set[str] = set(RULES)
        self.failures_in_a_row = 3
        self.deployment_kinds = ["deployment"]
        self.aliases: set[str] = set()
        self.retries = 5
        self.backoff = 1.0
        self.timeout = 5.0
        self.check_interval = 60.0
        self.public_url = ""
        self.queue: queue.Queue[tuple[str, uuid.UUID] | None] = queue.Queue(maxsize=10_000)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.last_delivery: dict[str, Any] | None = None
        self.dropped = 0

    # ------------------------------------------------------------ hooks

    @hookimpl
    def modeltrail_start(self, metadata: Store, settings: dict[str, Any]) -> None:
        self.metadata = metadata
        self.urls = _list(settings.get("urls") or settings.get("url"))
        self.rules = set(_list(settings.get("rules"))) or set(RULES)
        unknown = self.rules - set(RULES)
        if unknown:
            raise ValueError(f"unknown rule(s) {sorted(unknown)}; known: {', '.join(RULES)}")
        self.failures_in_a_row = int(settings.get("failures_in_a_row", 3))
        self.deployment_kinds = _list(settings.get("deployment_kinds")) or ["deployment"]
        self.aliases = set(_list(settings.get("aliases")))
        self.retries = int(settings.get("retries", 5))
        self.backoff = float(settings.get("backoff", 1.0))
        self.timeout = float(settings.get("timeout", 5.0))
        self.check_interval = float(settings.get("check_interval", 60.0))
        self.public_url = str(settings.get("public_url", "")).rstrip("/")
        if not self.urls:
            log.warning("notifications: no urls configured; notifications are recorded, not sent")
        self.stopping.clear()
        self.thread = threading.Thread(
            target=self._work, name="modeltrail-notifications", daemon=True
        )
        self.thread.start()

    @hookimpl
    def modeltrail_stored(self, entity: str, action: str, result: BaseModel) -> None:
        item: tuple[str, uuid.UUID] | None = None
        if entity == "run" and str(getattr(result, "status", "")) in TERMINAL:
            item = ("run", result.id)  # type: ignore[attr-defined]
        elif entity == "artifact" and getattr(result, "kind", None) in self.deployment_kinds:
            item = ("deployment", result.id)  # type: ignore[attr-defined]
        elif entity == "model_version" and action == "create":
            item = ("version", result.id)  # type: ignore[attr-defined]
        elif (
            entity == "model_alias"
            and action in ALIAS_MOVES
            and (not self.aliases or getattr(result, "alias", None) in self.aliases)
        ):
            item = ("alias", result.id)  # type: ignore[attr-defined]
        if item is not None:
            try:
                self.queue.put_nowait(item)
            except queue.Full:
                self.dropped += 1  # the periodic check and the next run end catch up

    @hookimpl
    def modeltrail_status(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        if self.metadata is not None:
            with self.metadata.session() as session:
                for status, count in session.execute(
                    select(NotificationRow.status, func.count()).group_by(NotificationRow.status)
                ):
                    counts[status] = count
        return {
            "targets": len(self.urls),
            "rules": sorted(self.rules),
            "notifications": counts,
            "queued": self.queue.qsize(),
            "dropped": self.dropped,
            "lastDelivery": self.last_delivery,
        }

    @hookimpl
    def modeltrail_stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(None)
        if self.thread is not None:
            self.thread.join(timeout=10)
            self.thread = None

    # ------------------------------------------------------------ the worker

    def _work(self) -> None:
        next_scan = now()
        while not self.stopping.is_set():
            try:
                item = self.queue.get(timeout=min(self.backoff, 0.5))
            except queue.Empty:
                item = None
            try:
                if item is not None:
                    self._evaluate(*item)
                if "flagged-data-deployed" in self.rules and now() >= next_scan:
                    next_scan = now() + timedelta(seconds=self.check_interval)
                    self._scan_deployments()
                self._deliver_due()
            except Exception:
                # A broken store or receiver must not end the worker; the next round retries.
                log.exception("notifications: evaluation failed")

    def _evaluate(self, what: str, entity_id: uuid.UUID) -> None:
        assert self.metadata is not None
        with self.metadata.session() as session:
            if what == "run":
                run = session.get(RunRow, entity_id)
                if run is None or run.status not in TERMINAL:
                    return
                if "run-ended" in self.rules:
                    self._notify(
                        session,
                        "run-ended",
                        f"run-ended|{run.id}|{run.status}",
                        run.id,
                        notification_rules.run_ended_message(run, self.public_url),
                    )
                if "failures-in-a-row" in self.rules and run.status == "FAILED":
                    streak, since = notification_rules.failure_streak(
                        session, run, self.deployment_kinds
                    )
                    if len(streak) >= self.failures_in_a_row:
                        first = streak[-1]
                        self._notify(
                            session,
                            "failures-in-a-row",
                            f"failures|{run.experiment_id}|{first.id}",
                            run.id,
                            notification_rules.failures_message(
                                run, streak, since, self.failures_in_a_row
                            ),
                        )
            elif what == "deployment" and "flagged-data-deployed" in self.rules:
                self._check_deployment(session, entity_id)
            elif what == "version" and "model-registered" in self.rules:
                self._version_registered(session, entity_id)
            elif what == "alias" and "alias-changed" in self.rules:
                self._alias_changed(session, entity_id)

    def _version_registered(self, session: Session, version_id: uuid.UUID) -> None:
        version = session.get(ModelVersionRow, version_id)
        model = session.get(RegisteredModelRow, version.model_id) if version else None
        if version is None or model is None:
            return
        self._notify(
            session,
            "model-registered",
            f"version|{version.id}",
            version.artifact_id,
            notification_rules.version_registered_message(model, version),
        )

    def _alias_changed(self, session: Session, event_id: uuid.UUID) -> None:
        event = session.get(ModelAliasEventRow, event_id)
        model = session.get(RegisteredModelRow, event.model_id) if event else None
        if event is None or model is None:
            return
        artifact = None
        if event.to_version is not None:
            artifact = session.scalar(
                select(ModelVersionRow.artifact_id).where(
                    ModelVersionRow.model_id == model.id,
                    ModelVersionRow.version == event.to_version,
                )
            )
        self._notify(
            session,
            "alias-changed",
            f"alias|{event.id}",
            artifact or model.id,
            notification_rules.alias_changed_message(event, model, artifact),
        )

    def _scan_deployments(self) -> None:
        assert self.metadata is not None
        with self.metadata.session() as session:
            if session.scalar(select(func.count()).select_from(FlagRow)) == 0:
                return
            for deployment in session.scalars(
                select(ArtifactRow.id).where(ArtifactRow.kind.in_(self.deployment_kinds))
            ):
                self._check_deployment(session, deployment)

    def _check_deployment(self, session: Session, deployment_id: uuid.UUID) -> None:
        deployment = session.get(ArtifactRow, deployment_id)
        if deployment is None:
            return
        upstream = notification_rules.upstream_artifacts(session, deployment_id)
        if not upstream:
            return
        for flag in session.scalars(select(FlagRow).where(FlagRow.artifact_id.in_(upstream))):
            flagged = session.get(ArtifactRow, flag.artifact_id)
            name = flagged.name if flagged else str(flag.artifact_id)
            self._notify(
                session,
                "flagged-data-deployed",
                f"flagged|{deployment_id}|{flag.artifact_id}",
                deployment_id,
                notification_rules.flagged_deployment_message(deployment, flag, name),
            )

    def _notify(
        self, session: Session, rule: str, key: str, subject: uuid.UUID, payload: dict[str, Any]
    ) -> None:
        """Record the notification for every target, once per key."""
        for url in self.urls or [""]:
            # The URL carries the receiver's credential: the row keeps it masked, and finds
            # it again by its digest (``secrets.digest``), so that no read or export shows it.
            full_key = f"{key[:480]}|{secrets.digest(url)}"
            if (
                session.scalar(select(NotificationRow.id).where(NotificationRow.key == full_key))
                is not None
            ):
                continue
            # Two server processes may race here: the loser's unique-key error is logged by the
            # worker and the notification stands once.
            session.add(
                NotificationRow(
                    key=full_key,
                    rule=rule,
                    target=secrets.mask_url(url) if url else "",
                    subject_id=subject,
                    payload=payload,
                    status="pending" if url else "recorded",
                    attempts=0,
                    next_attempt_time=now(),
                )
            )
            session.flush()

    def _deliver_due(self) -> None:
        if not self.urls:
            return
        assert self.metadata is not None
        with self.metadata.session() as session:
            targets = {secrets.digest(url): url for url in self.urls}
            due = [
                (r.id, self._target_of(r, targets), r.payload)
                for r in session.scalars(
                    select(NotificationRow)
                    .where(
                        NotificationRow.status == "pending",
                        NotificationRow.next_attempt_time <= now(),
                    )
                    .order_by(NotificationRow.next_attempt_time)
                    .limit(20)
                )
            ]
        # No transaction is open while a receiver is called: on SQLite a transaction holds the
        # write lock, and a slow receiver must never hold up a write.
        for row_id, target, payload in due:
            self._deliver(row_id, target, payload)

    def _target_of(self, row: NotificationRow, targets: dict[str, str]) -> str | None:
        """The configured URL a row is for: by the digest its key ends with, or (a row
        written before targets were masked) the URL it holds, while it is configured."""
        url = targets.get(row.key.rsplit("|", 1)[-1])
        if url is None and row.target in self.urls:
            url = row.target
        return url

    def _deliver(self, row_id: uuid.UUID, target: str | None, payload: dict[str, Any]) -> None:
        code: int | None = None
        error: str | None = None
        try:
            if target is None:
                raise LookupError("its target is no longer among the configured urls")
            response = httpx.post(target, json=payload, timeout=self.timeout)
            code = response.status_code
            if not response.is_success:
                error = f"HTTP {code}: {response.text[:200]}"
        except (httpx.HTTPError, LookupError) as exc:
            error = secrets.mask_urls_in(f"{type(exc).__name__}: {exc}")
        assert self.metadata is not None
        with self.metadata.session() as session:
            row = session.get(NotificationRow, row_id)
            if row is None:
                return
            row.attempts += 1
            row.last_status_code = code
            row.last_error = error
            row.update_time = now()
            if error is None:
                row.status = "delivered"
            elif row.attempts >= self.retries or target is None:
                row.status = "failed"
            else:
                row.next_attempt_time = now() + timedelta(
                    seconds=self.backoff * 2 ** (row.attempts - 1)
                )
            self.last_delivery = {
                "rule": row.rule,
                "target": secrets.mask_url(target or row.target) if row.target else "",
                "status": row.status,
                "attempts": row.attempts,
                "statusCode": code,
                "error": error,
                "time": row.update_time.isoformat(),
            }
            if error:
                log.warning(
                    "notifications: delivery to %s failed (attempt %d): %s",
                    secrets.mask_url(target or row.target),
                    row.attempts,
                    error,
                )


# The instance pluggy registers (the entry point / built-in loads this module's ``plugin``).
plugin = Notifications
