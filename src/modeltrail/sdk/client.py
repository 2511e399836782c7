"""``modeltrail.connect()``: the client a pipeline talks to.

Inside a run, writes are kept (``sdk/buffer.py``) and sent together in one batch request when a
step starts and when it ends (``buffer="step"``, the default), only when the run ends
(``buffer="run"``), or one request each (``buffer="off"``); always before a read that may need
them, and every ``buffer_size`` writes. Every request goes through ``Trail.send``: when the
server cannot be reached (or its database is away, 503), it is appended to the spool and sent
later, in order, on the next call after ``recheck_after`` seconds, at the end of a run, or by
``modeltrail sync``. Every create carries an id the client chose, so a replay never duplicates
anything. Pass ``on_unreachable="raise"`` (or set ``MODELTRAIL_ON_UNREACHABLE=raise``) to fail
instead.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import orjson

from modeltrail.domain import text
from modeltrail.domain.fingerprint import is_trigger
from modeltrail.domain.registry import ModelRef
from modeltrail.errors import Conflict, ModeltrailError, NotFound, ServerUnreachable, Unavailable
from modeltrail.sdk import files as transfer
from modeltrail.sdk.artifacts import Artifact, ArtifactSpec, plain_json
from modeltrail.sdk.buffer import PLURAL, Write, WriteBuffer, operations
from modeltrail.sdk.collect.executable import CodeInfo, of_function
from modeltrail.sdk.collect.files import hash_file
from modeltrail.sdk.connection import Connection, parsed
from modeltrail.sdk.registry import ModelVersion
from modeltrail.sdk.series import MetricBuffer
from modeltrail.sdk.spool import DrainResult, Entry, Outcome, Spool
from modeltrail.sdk.tracking import Run, current_run, failure_annotations
from modeltrail.sdk.triggers import Trigger

log = logging.getLogger("modeltrail.sdk")
F = TypeVar("F", bound=Callable[..., Any])
API = "/api/v1"
# Ids of find-or-create entities derive from their identity, so that an entity made while the
# server was away is the same entity when the spool is replayed.
NAMESPACE = uuid.UUID("5b0e7f8e-3c1a-4f6b-9a51-6d2f0e7c4a10")
OFFLINE_ERRORS = (ServerUnreachable, Unavailable)
BUFFERING = ("step", "run", "off")
ENTITY = {plural: entity for entity, plural in PLURAL.items()}


class Trail:
    """A connection to one store, with tracking on top (``run``, ``step``, ``annotate``)."""

    def __init__(
        self,
        target: str | None = None,
        *,
        on_unreachable: str | None = None,
        spool: str | os.PathLike[str] | None = None,
        recheck_after: float = 10.0,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        token: str | None = None,
        buffer: str | None = None,
        buffer_size: int = 1000,
        metrics_buffer: int = 50_000,
        metrics_seconds: float = 10.0,
        metrics_queue: int = 4,
    ) -> None:
        self.on_unreachable = on_unreachable or os.environ.get("MODELTRAIL_ON_UNREACHABLE", "spool")
        if self.on_unreachable not in {"spool", "raise"}:
            raise ValueError("on_unreachable must be 'spool' or 'raise'")
        self.buffering = buffer or os.environ.get("MODELTRAIL_BUFFER", "step")
        if self.buffering not in BUFFERING:
            raise ValueError("buffer must be 'step', 'run' or 'off'")
        if buffer_size < 1:
            raise ValueError("buffer_size must be at least 1")
        self.buffer_size = buffer_size
        self.pending = WriteBuffer()
        # Metric points, kept apart from the entity writes: many more, and sent in bulk by a
        # thread of their own, at most ``metrics_queue`` batches of ``metrics_buffer`` waiting.
        self.metrics = MetricBuffer(
            self.send_metrics,
            prepare=self.send_pending,
            max_points=metrics_buffer,
            max_seconds=metrics_seconds,
            max_batches=metrics_queue,
        )
        # Held while kept writes are taken and sent: a second thread's batch must not reach the
        # server before the batch it refers to (a step created in one, linked in the next).
        self._sending = threading.RLock()
        self.conn = Connection(
            target, timeout=timeout, retries=retries, backoff=backoff, token=token
        )
        self.target = self.conn.target
        self.spool = Spool(spool)
        self.recheck_after = recheck_after
        self._offline_until = 0.0
        self._ids: dict[tuple[str, str], str] = {}
        self._pipeline_executables: dict[str, list[str]] = {}
        self._annotations: dict[tuple[str, str], dict[str, str]] = {}
        # (experiment, kind, name) -> the latest version stored, what it holds, the highest number
        self._versions: dict[tuple[str, str, str], tuple[str, str, int]] = {}

    # ------------------------------------------------------------------ transport

    @property
    def offline(self) -> bool:
        """True while the server is known to be away (writes go straight to the spool)."""
        return time.monotonic() < self._offline_until

    def _went_offline(self, exc: Exception) -> None:
        if not self.offline:
            log.warning(
                "modeltrail: %s; keeping metadata in %s until it is back", exc, self.spool.path
            )
        self._offline_until = time.monotonic() + self.recheck_after

    def write(
        self, write: Write, *, same_as: tuple[str, ...] = (), artifact: Artifact | None = None
    ) -> Any:
        """Make a write: inside a run it is kept for the next batch (unless buffering is off)
        and None is answered; else it is sent now and the server's answer is returned.
        ``same_as`` and ``artifact`` note a created artifact for ``store(reuse_equal=True)``."""
        if self.buffering == "off" or current_run() is None:
            answer = None
            for method, path, body in write.requests():
                answer = self.send(method, path, body)
            return answer
        self.pending.add(write, same_as=same_as, artifact=artifact)
        if len(self.pending) >= self.buffer_size:
            self.send_pending()
        return None

    def send_pending(self) -> None:
        """Send the kept writes now, in one batch request (one transaction).

        A batch the server refuses stored nothing; its writes are then sent one at a time, so
        that a bad write costs only itself, and the first refusal is raised."""
        with self._sending:
            writes = self.pending.take()
            if not writes:
                return
            try:
                self._deliver("POST", f"{API}/batch", {"operations": operations(writes)})
            except OFFLINE_ERRORS:  # on_unreachable="raise": keep them for the next try
                self.pending.put_back(writes)
                raise
            except ModeltrailError as refused:
                log.warning(
                    "modeltrail: a batch of %d writes was refused (%s); sending them one at a time",
                    len(writes),
                    refused.detail,
                )
                self._send_one_at_a_time(writes, refused)

    def _send_one_at_a_time(self, writes: list[Write], refused: ModeltrailError) -> None:
        first: ModeltrailError | None = None
        for write in writes:
            if first is not None:
                write = self._failed_end(write, first)
            for method, path, body in write.requests():
                try:
                    self._deliver(method, path, body)
                except OFFLINE_ERRORS:
                    raise
                except ModeltrailError as exc:
                    # Said later, away from the call that made the write: say which.
                    fields = "; ".join(
                        f"{e.get('pointer', '')}: {e.get('detail', '')}" for e in exc.errors[:3]
                    )
                    exc.detail = f"{method} {path}: {exc.detail}" + (
                        f" ({fields})" if fields else ""
                    )
                    exc.args = (exc.detail,)
                    log.error("modeltrail: %s", exc.detail)
                    first = first or exc
        if first is not None:
            raise first from refused

    def _failed_end(self, write: Write, refused: ModeltrailError) -> Write:
        """``write`` as it must be after an earlier write of its batch was refused: a run or step
        that ends SUCCESS failed, with the refusal as its error (SUCCESS would be final)."""
        if write.op != "update" or write.body.get("status") != "SUCCESS":
            return write
        notes = self._annotations.setdefault((PLURAL[write.entity], write.id), {})
        notes.update(failure_annotations(refused))
        body = {**write.body, "status": "FAILED", "annotations": dict(notes)}
        return Write(write.op, write.entity, write.id, body)

    def send(self, method: str, path: str, body: Any = None) -> Any:
        """Send a write now, after the kept ones. Returns the server's answer, or None if the
        write was spooled."""
        with self._sending:
            self.send_pending()
            return self._deliver(method, path, body)

    def send_metrics(self, run_id: str, body: dict[str, Any]) -> Any:
        """Append metric points (``MetricBuffer``, from its sender's thread). The writes that
        make their run and steps were sent before the points were handed over. The points'
        keys were checked as they were logged and the rest is numbers and ids: the body is
        encoded once, without a walk through its text."""
        return self._deliver("POST", f"{API}/runs/{run_id}/metrics", body, checked=True)

    def _deliver(self, method: str, path: str, body: Any, *, checked: bool = False) -> Any:
        if not checked:
            text.check_text(body, what=f"{method} {path}")  # before it is spooled, too
        # The entry's id is the batch's Idempotency-Key: the connection's retries and a later
        # replay from the spool send the same key, so a batch stored once is not refused after.
        entry = Entry.new(self.target, method, path, body)
        if self.on_unreachable == "spool" and (self.offline or not self._flush_spool()):
            self.spool.append(entry)
            return None
        try:
            if checked:
                response = self.conn.request(
                    method, path, content=orjson.dumps(body), headers=_key_of(entry)
                )
            else:
                response = self.conn.request(method, path, json=body, headers=_key_of(entry))
        except OFFLINE_ERRORS as exc:
            if self.on_unreachable == "raise":
                raise
            self._went_offline(exc)
            self.spool.append(entry)
            return None
        return parsed(response)

    def get(self, path: str, *, read_own_writes: bool = True, **params: Any) -> Any:
        """Read, after sending the kept writes (unless ``read_own_writes`` is False: the answer
        cannot depend on them). Returns None when the server is away (unless configured to
        raise)."""
        if read_own_writes:
            self.send_pending()
        if self.on_unreachable == "raise":
            return self.conn.get(path, **params)
        if self.offline or not self._flush_spool():
            return None
        try:
            return self.conn.get(path, **params)
        except OFFLINE_ERRORS as exc:
            self._went_offline(exc)
            return None

    def flush(self, *, force: bool = False) -> bool:
        """Send the kept writes and metric points, then what the spool holds for this store;
        True when nothing is left in the spool. Raises the error of metric points that could
        not be sent (see ``MetricBuffer.flush``)."""
        self.metrics.flush()
        self.send_pending()
        return self._flush_spool(force=force)

    def _flush_spool(self, *, force: bool = False) -> bool:
        if not self.spool.has_pending(self.target):
            return True
        if self.offline and not force:
            return False
        result = self.sync()
        return result.remaining == 0

    def sync(self) -> DrainResult:
        """Send the spooled writes for this store now, in order (``modeltrail sync``)."""

        def deliver(entry: Entry) -> str:
            try:
                self.conn.request(
                    entry.method, entry.path, json=entry.body, headers=_key_of(entry), retry=False
                )
            except OFFLINE_ERRORS as exc:
                self._went_offline(exc)
                return Outcome.STOPPED
            except Conflict:
                if entry.method == "POST" and not entry.path.endswith("/batch"):
                    # The entity is there already: sent before, and the answer was lost. (A
                    # batch sent twice is answered as a retry by its Idempotency-Key; its
                    # conflict is a real one.)
                    return Outcome.SENT
                log.error("modeltrail: spooled %s %s refused: conflict", entry.method, entry.path)
                return Outcome.REJECTED
            except ModeltrailError as exc:
                log.error(
                    "modeltrail: spooled %s %s refused: %s", entry.method, entry.path, exc.detail
                )
                return Outcome.REJECTED
            return Outcome.SENT

        result = self.spool.drain(self.target, deliver)
        if result.remaining == 0:
            self._offline_until = 0.0
        if result.sent:
            log.info("modeltrail: sent %d spooled write(s) to %s", result.sent, self.target)
        return result

    # ------------------------------------------------------------------ find or create

    def _ensure(
        self, plural: str, identity: dict[str, Any], body: dict[str, Any]
    ) -> dict[str, Any]:
        """The one entity with this identity (name, version, uri), created if there is none."""
        key = (plural, repr(sorted(identity.items())))
        if key in self._ids:
            return {"id": self._ids[key]}
        filters = [f"{k}:eq:{v}" for k, v in identity.items() if k in {"name", "version"}]
        found = self.get(f"{API}/{plural}", filter=filters, sort="createTime", limit=100)
        match = None
        for item in (found or {}).get("items", []):
            if all(item.get(k) == v for k, v in identity.items()):
                match = item
                break
        if match is None:
            match = {**body, "id": str(uuid.uuid5(NAMESPACE, f"{plural}\0{key[1]}"))}
            try:
                stored = self.send("POST", f"{API}/{plural}", match)
            except Conflict:
                stored = None  # made earlier with other annotations: the id is the entity's
            match = stored or match
        self._ids[key] = str(match["id"])
        return match

    def experiment_id(self, name: str) -> str:
        return str(self._ensure("experiments", {"name": name}, {"name": name})["id"])

    def pipeline_id(self, name: str, *, version: str = "1", uri: str | None = None) -> str:
        identity = {"name": name, "version": version, "uri": uri}
        stored = self._ensure(
            "pipelines", identity, {k: v for k, v in identity.items() if v is not None}
        )
        pid = str(stored["id"])
        if "executables" in stored:
            self._pipeline_executables.setdefault(pid, [str(e) for e in stored["executables"]])
        return pid

    def executable_id(self, code: CodeInfo, *, pipeline: str | None = None) -> str:
        identity = {"name": code.name, "version": code.version, "uri": code.uri}
        body = {"name": code.name, "version": code.version, "annotations": code.annotations}
        if code.uri:
            body["uri"] = code.uri
        eid = str(self._ensure("executables", identity, body)["id"])
        if pipeline is not None:
            known = self._pipeline_executables.setdefault(pipeline, [])
            if eid not in known:
                # Other processes of the pipeline may have added theirs: extend the stored list.
                try:
                    stored_pipeline = self.get(f"{API}/pipelines/{pipeline}")
                except NotFound:
                    stored_pipeline = None
                current = [str(e) for e in (stored_pipeline or {}).get("executables", [])]
                known[:] = list(dict.fromkeys([*current, *known, eid]))
                self.write(Write("update", "pipeline", pipeline, {"executables": known}))
        return eid

    # ------------------------------------------------------------------ artifacts

    def store(
        self,
        spec: ArtifactSpec | Artifact,
        *,
        reuse_equal: bool = False,
        create_time: str | None = None,
        upload: bool = True,
    ) -> Artifact:
        """Store a described artifact (or pass a stored one through), and upload its files
        (``mt.model(..., save=True)``, ``mt.dataset(..., upload=True)``) unless ``upload`` is
        False (a step uploads them once it has recorded the artifact as its own).

        With ``reuse_equal``, an equal artifact already stored (same fingerprint) is returned
        instead of a copy: what a step reads is usually what an earlier step wrote.
        """
        if isinstance(spec, Artifact):
            return spec
        stored = self._store(spec, reuse_equal=reuse_equal, create_time=create_time)
        if upload:
            self.upload(stored, spec)
        return stored

    def _store(self, spec: ArtifactSpec, *, reuse_equal: bool, create_time: str | None) -> Artifact:
        spec = self._versioned(spec)
        artifact_id = str(uuid.uuid4())
        fingerprint = spec.fingerprint(artifact_id)
        same = _same_artifact(spec, fingerprint)
        key = (spec.kind, *same)
        if reuse_equal:
            kept = self.pending.artifacts.get(key)
            if kept is not None:
                return kept
            # Kept writes matter to the lookup only if they change an artifact.
            found = self.get(
                f"{API}/artifacts",
                read_own_writes=self.pending.changes("artifact"),
                filter=same,
                sort="-createTime",
                limit=20,
            )
            for item in (found or {}).get("items", []):
                if item["kind"] == spec.kind:
                    return Artifact.from_json(item)
        body = spec.body(artifact_id)
        if create_time:
            body["createTime"] = create_time
        art = Artifact.from_json({**body, "fingerprint": fingerprint})
        stored = self.write(Write("create", "artifact", art.id, body), same_as=key, artifact=art)
        if stored:
            art = Artifact.from_json(stored)
        self._annotations[("artifacts", art.id)] = dict(art.annotations)
        return art

    def _versioned(self, spec: ArtifactSpec) -> ArtifactSpec:
        """``spec`` with its version: as given, else that of the latest artifact of its kind and
        name in the run's experiment if it holds the same, else the next one (1 for the first).
        Versions this client gave are remembered, so that a name written many times costs one
        lookup; the lookup does not send the kept writes (the remembered ones cover them)."""
        if spec.version is not None:
            return spec
        run = current_run()
        experiment = run.experiment_id if run is not None else None
        if experiment is None or is_trigger(spec.kind):
            return replace(spec, version="1")
        key = (experiment, spec.kind, spec.name)
        content = spec.content()
        latest = self._versions.get(key)
        if latest is None:
            found = self.get(
                f"{API}/artifacts",
                read_own_writes=False,
                filter=[
                    f"experiment:eq:{experiment}",
                    f"kind:eq:{spec.kind}",
                    f"name:eq:{spec.name}",
                ],
                sort="-createTime",
                limit=VERSION_LOOKBACK,
            )
            items = (found or {}).get("items") or []
            if items:
                numbers = [int(a["version"]) for a in items if str(a["version"]).isdigit()]
                latest = (str(items[0]["version"]), _content_of(items[0]), max(numbers, default=1))
        if latest is None:
            version, highest = "1", 1
        elif latest[1] == content:
            version, highest = latest[0], latest[2]
        else:
            highest = latest[2] + 1
            version = str(highest)
        self._versions[key] = (version, content, highest)
        return replace(spec, version=version)

    def artifact(self, ref: str) -> Artifact:
        """A stored artifact by id, a registered model's version (``models:/NAME@ALIAS``,
        ``models:/NAME/3``, ``models:/NAME``), or the latest artifact with that name."""
        if ModelRef.is_reference(ref):
            version = self.resolve(ref)
            return self.artifact(version.artifact)
        try:
            uuid.UUID(ref)
            data = self.get(f"{API}/artifacts/{ref}")
        except ValueError:
            page = self.get(
                f"{API}/artifacts", filter=[f"name:eq:{ref}"], sort="-createTime", limit=1
            )
            data = page["items"][0] if page and page["items"] else None
            if page is not None and data is None:
                raise NotFound(f"no artifact is named '{ref}'") from None
        if data is None:
            raise ServerUnreachable(f"{self.target} cannot be reached to read artifact {ref}")
        return Artifact.from_json(data)

    # ------------------------------------------------------------------ files

    def upload(self, artifact: Artifact | str, files: ArtifactSpec | dict[str, Any]) -> list[Any]:
        """Upload files to a stored artifact: those of a description (``save=True``,
        ``upload=True``), or ``{path in the artifact: local file}``. Files the artifact
        already holds with the same content are not sent again. The writes kept for the next
        batch are sent first: the server must know the artifact."""
        spec = files if isinstance(files, ArtifactSpec) else None
        wanted = {k: Path(v) for k, v in (spec.files if spec else files).items()}  # type: ignore[union-attr]
        if not wanted:
            return []
        artifact_id = artifact.id if isinstance(artifact, Artifact) else str(artifact)
        self.send_pending()
        try:
            held = {
                f["path"]: f["sha256"] for f in transfer.list_files(self.conn, artifact_id)["items"]
            }
            done = []
            for path, local in wanted.items():
                if held.get(path) == hash_file(local):
                    continue
                done.append(transfer.upload(self.conn, artifact_id, path, local))
            return done
        finally:
            if spec is not None and spec.scratch is not None:
                transfer.remove_folder(spec.scratch)

    def files(self, artifact: Artifact | str, *, verify: bool = False) -> list[dict[str, Any]]:
        """The files of a stored artifact: path, size, sha256; with ``verify``, each also says
        whether its content is still in the file store (``missing``)."""
        artifact_id = self._artifact_id(artifact)
        listed = transfer.list_files(self.conn, artifact_id, verify=verify)
        gone = set(listed.get("missing") or [])
        items: list[dict[str, Any]] = listed["items"]
        if verify:
            for item in items:
                item["missing"] = item["path"] in gone
        return items

    def download(
        self,
        artifact: Artifact | str,
        dest: str | os.PathLike[str] | None = None,
        *,
        path: str | None = None,
    ) -> Path:
        """Download an artifact's files (an artifact, its id, a name, or a model reference
        ``models:/NAME@ALIAS``, ``models:/NAME/3``) into ``dest`` (default: a cache folder of
        the artifact's own), checking each file's sha256; the folder, or the one file of
        ``path``. Files already there with the right content are not fetched again."""
        artifact_id = self._artifact_id(artifact)
        folder = Path(dest) if dest is not None else transfer.cache_root() / artifact_id
        return transfer.download(self.conn, artifact_id, folder, path=path)

    def load_model(self, ref: Artifact | str) -> Any:
        """Fetch a model's files and load it: a model saved by ``mt.model(obj, save=True)``
        comes back as the object (joblib, ``torch.load``); other files as their path. Loading
        unpickles: load models from a store you trust."""
        artifact_id = self._artifact_id(ref)
        stored = ref if isinstance(ref, Artifact) else self.artifact(artifact_id)
        folder = self.download(artifact_id)
        return transfer.load(folder, stored.attributes)

    def _artifact_id(self, ref: Artifact | str) -> str:
        if isinstance(ref, Artifact):
            return ref.id
        if ref.startswith("models:/"):
            self.send_pending()
            try:
                version = self.conn.get(f"{API}/models/resolve", uri=ref)
            except NotFound as exc:
                raise NotFound(f"{ref}: {exc.detail}") from None
            return str(version["artifact"]["id"])
        return self.artifact(ref).id

    # ------------------------------------------------------------------ the model registry

    def register(
        self,
        artifact: Artifact | str,
        name: str,
        *,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> ModelVersion | None:
        """Register a stored model artifact (or its id) as the next version of the registered
        model ``name``, which is created if it is new. Registering the same artifact again
        answers the version it already is. None when the server is away: the registration is
        kept with the other writes and made when it is back."""
        artifact_id = artifact.id if isinstance(artifact, Artifact) else str(artifact)
        body: dict[str, Any] = {
            "artifact": artifact_id,
            "tags": {str(k): str(v) for k, v in (tags or {}).items()},
        }
        if description is not None:
            body["description"] = description
        path = f"{API}/models/{quote(name, safe='')}/versions?createModel=true"
        answer = self.send("POST", path, body)
        return None if answer is None else ModelVersion.from_json(answer)

    def resolve(self, ref: str, *, at: str | None = None) -> ModelVersion:
        """The version a reference names: ``models:/NAME@ALIAS`` (``at``: where the alias
        pointed at that past time), ``models:/NAME/3``, ``models:/NAME`` (the newest)."""
        ModelRef.parse(ref, pointer="/ref")
        data = self.get(f"{API}/models/resolve", uri=ref, at=at)
        if data is None:
            raise ServerUnreachable(f"{self.target} cannot be reached to resolve {ref}")
        return ModelVersion.from_json(data)

    def register_kind(
        self, name: str, schema: dict[str, Any], description: str = "", *, if_missing: bool = True
    ) -> dict[str, Any] | None:
        """Register an artifact kind (no-op if the same schema is the latest version)."""
        if if_missing:
            try:
                existing = self.get(f"{API}/kinds/{name}")
            except NotFound:
                existing = None
            if existing is not None:
                return dict(existing)
        created = self.send(
            "POST", f"{API}/kinds", {"name": name, "description": description, "schema": schema}
        )
        return None if created is None else dict(created)

    # ------------------------------------------------------------------ annotations

    def annotate(self, target: Any, annotations: dict[str, Any] | None = None, **more: Any) -> None:
        """Add annotations to a run, a step, an artifact or any entity (``(plural, id)``)."""
        if hasattr(target, "_annotation_target"):
            plural, entity_id = target._annotation_target()
        elif isinstance(target, Artifact):
            plural, entity_id = "artifacts", target.id
        else:
            plural, entity_id = target
        new = {str(k): str(v) for k, v in {**(annotations or {}), **more}.items()}
        key = (plural, str(entity_id))
        if key not in self._annotations:
            current = None
            try:
                current = self.get(f"{API}/{plural}/{entity_id}")
            except NotFound:
                current = None
            self._annotations[key] = dict((current or {}).get("annotations") or {})
        self._annotations[key].update(new)
        body = {"annotations": self._annotations[key]}
        if plural in ENTITY:
            self.write(Write("update", ENTITY[plural], str(entity_id), body))
        else:
            self.send("PATCH", f"{API}/{plural}/{entity_id}", body)

    # ------------------------------------------------------------------ tracking

    def run(
        self,
        *,
        experiment: str | None = None,
        pipeline: str | None = None,
        trigger: Trigger | None = None,
        name: str | None = None,
        config: dict[str, Any] | None = None,
        annotations: dict[str, Any] | None = None,
        join: str | None = None,
    ) -> Any:
        """A run as a context manager: RUNNING inside, SUCCESS on exit, FAILED on an exception.

        Inside a process started by a run (``run.env()``, ``MODELTRAIL_RUN``), the same run is
        joined instead: its steps are added to it and its status is left to its owner.
        """
        join = join or os.environ.get("MODELTRAIL_RUN")
        return Run(
            self,
            experiment=experiment or os.environ.get("MODELTRAIL_EXPERIMENT") or "default",
            pipeline=pipeline,
            trigger=trigger,
            name=name,
            config=config or {},
            annotations=annotations or {},
            join=join,
        )

    def step(
        self,
        fn: F | None = None,
        *,
        name: str | None = None,
        kind: str = "transformation",
        config: dict[str, Any] | None = None,
        cache: bool = False,
    ) -> Any:
        """Decorate a function as a step. Artifacts among its arguments become inputs, artifacts
        it returns become outputs, its plain arguments its configuration. With ``cache=True``
        a step that already ran with the same code, configuration and inputs is not run again:
        its outputs are returned."""

        def decorate(func: F) -> F:
            code = of_function(func)
            signature = inspect.signature(func)

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                bound = signature.bind_partial(*args, **kwargs)
                values = dict(bound.arguments)
                settings = (
                    dict(config)
                    if config is not None
                    else {
                        k: plain_json(v)
                        for k, v in values.items()
                        if v is None or isinstance(v, bool | int | float | str)
                    }
                )
                run = current_run()
                if run is None:
                    with self.run(pipeline=code.name.rsplit(".", 1)[0]) as implicit:
                        return implicit._call(
                            func,
                            name or func.__name__,
                            kind,
                            settings,
                            code,
                            cache,
                            args,
                            kwargs,
                            values,
                        )
                return run._call(
                    func, name or func.__name__, kind, settings, code, cache, args, kwargs, values
                )

            return wrapper  # type: ignore[return-value]

        return decorate(fn) if fn is not None else decorate

    def close(self) -> None:
        """Send the kept metric points and writes, and close the connection. Raises the
        error of metric points that could not be sent, after the writes were sent."""
        try:
            try:
                self.metrics.close()
            finally:
                self.send_pending()
        finally:
            self.conn.close()

    def __enter__(self) -> Trail:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# How many of a name's newest artifacts are read for the highest numbered version: those a user
# pinned (``version="v9"``) are skipped.
VERSION_LOOKBACK = 50


def _content_of(stored: dict[str, Any]) -> str:
    """``ArtifactSpec.content`` of a stored artifact."""
    return ArtifactSpec(
        stored["kind"],
        stored["name"],
        stored.get("uri"),
        "",
        stored.get("description"),
        stored.get("attributes") or {},
        stored.get("annotations") or {},
    ).fingerprint()


def _same_artifact(spec: ArtifactSpec, fingerprint: str) -> list[str]:
    """Filters for "this is already stored": the same content at the same place (uri and
    sha256), or else the same fingerprint (every attribute equal). The kind is compared by
    the caller: a filter that names a kind may only ask for the attributes that kind has, and
    ``sha256`` is one no artifact of the kind may hold yet."""
    digest = spec.attributes.get("sha256")
    if spec.uri and isinstance(digest, str):
        return [f"uri:eq:{spec.uri}", f"attributes.sha256:eq:{digest}"]
    return [f"fingerprint:eq:{fingerprint}"]


def connect(target: str | None = None, **options: Any) -> Trail:
    """A client for a server URL, a database (a path, a ``sqlite:///`` or ``postgresql://`` URL,
    opened in-process), or ``None``: ``MODELTRAIL_URL``, else ``modeltrail.db`` in the working
    directory. Options: see ``Trail``."""
    return Trail(target, **options)


def load_model(ref: Artifact | str, *, target: str | None = None) -> Any:
    """Fetch and load a model (``Trail.load_model``) through the current run's connection,
    else a connection of its own to ``target`` (``MODELTRAIL_URL``, else ./modeltrail.db)."""
    from modeltrail.sdk.tracking import current_run

    run = current_run()
    if run is not None and target is None:
        return run.trail.load_model(ref)
    with connect(target) as trail:
        return trail.load_model(ref)


__all__ = ["Trail", "connect", "load_model"]


def _key_of(entry: Entry) -> dict[str, str] | None:
    """The Idempotency-Key header of a batch or of metric points (the server keeps no answers
    of other writes: their client-chosen ids make them idempotent)."""
    return {"Idempotency-Key": entry.id} if entry.path.endswith(("/batch", "/metrics")) else None
