"""Steps: one execution of a run, as a context manager; what it read and wrote, its metrics,
and whether the same work was done before (reuse)."""

from __future__ import annotations

import contextvars
import math
import uuid
from typing import Any, Protocol

from modeltrail.domain.fingerprint import execution_fingerprint, is_trigger
from modeltrail.errors import ModeltrailError, NotFound
from modeltrail.sdk.artifacts import Artifact, ArtifactSpec, metrics, plain_json
from modeltrail.sdk.buffer import Write
from modeltrail.sdk.collect.executable import CodeInfo, command_line
from modeltrail.sdk.recording import (
    API,
    Trail,
    add_params,
    log,
    now,
    send_kept,
    send_points,
    write_end,
)
from modeltrail.sdk.registry import ModelVersion

_current_step: contextvars.ContextVar[Step | None] = contextvars.ContextVar(
    "modeltrail_step", default=None
)


def current_step() -> Step | None:
    """The step whose ``with`` block encloses this code, if any."""
    return _current_step.get()


class StepsRun(Protocol):
    """What a step reads and keeps of the run it belongs to (``tracking.Run``)."""

    trail: Trail
    id: str
    pipeline: str | None
    joined: bool
    event: Artifact | None
    event_id: str | None
    steps: list[Step]
    # artifact id -> the step of the run that wrote it: a step reading it follows that one.
    producers: dict[str, str]
    # Whether the run's next step is its first, which reads the run's trigger.
    first_step_pending: bool


class Step:
    """One execution: its inputs, outputs, metrics, status. Use ``run.step(...)``."""

    def __init__(
        self,
        run: StepsRun,
        name: str,
        *,
        kind: str,
        config: dict[str, Any],
        annotations: dict[str, Any],
        code: CodeInfo,
    ) -> None:
        self.run = run
        self.trail = run.trail
        self.name = name
        self.kind = kind
        self.config = plain_json(config)
        self.code = code
        self.id = str(uuid.uuid4())
        self.executable: str | None = None
        self.inputs: list[Artifact] = []
        self.outputs: list[Artifact] = []
        self.reused_from: str | None = None
        # (artifact, registered model) to register when the step succeeds.
        self.registrations: list[tuple[Artifact, str]] = []
        # The versions registered when it succeeded; None for one kept for later while the
        # server is away.
        self.versions: list[ModelVersion | None] = []
        self.annotations = {
            "command": command_line(),
            **{k: str(v) for k, v in annotations.items()},
        }
        self._step_token: contextvars.Token[Step | None] | None = None

    def _annotation_target(self) -> tuple[str, str]:
        return "executions", self.id

    def __enter__(self) -> Step:
        trail = self.trail
        self.executable = trail.executable_id(self.code, pipeline=self.run.pipeline)
        body: dict[str, Any] = {
            "id": self.id,
            "run": self.run.id,
            "executable": self.executable,
            "name": self.name,
            "kind": self.kind,
            "status": "RUNNING",
            "startTime": now(),
            "configuration": self.config,
            "annotations": self.annotations,
        }
        if self.run.first_step_pending and self.run.event_id:
            # The trigger is where lineage starts (thesis): the run's first step reads it.
            body["inputArtifacts"] = [self.run.event_id]
            if self.run.event is not None:
                self.inputs.append(self.run.event)
            else:
                self.inputs.append(Artifact(self.run.event_id, "event", "event"))
        self.run.first_step_pending = False
        trail._annotations[("executions", self.id)] = dict(self.annotations)
        trail.write(Write("create", "execution", self.id, body))
        previous = self.run.steps[-1] if self.run.steps else None
        self.run.steps.append(self)
        if previous is not None and previous.id not in self._predecessors:
            self._link_from(previous.id)
        if trail.buffering == "step":
            trail.send_pending()  # a running step shows at once
        self._step_token = _current_step.set(self)
        return self

    def _link_from(self, predecessor: str) -> None:
        self._predecessors.add(predecessor)
        self.trail.write(Write("link", "execution", predecessor, {"successors": [self.id]}))

    @property
    def _predecessors(self) -> set[str]:
        if not hasattr(self, "_pred"):
            self._pred: set[str] = set()
        return self._pred

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._step_token is not None:
            try:
                _current_step.reset(self._step_token)
            except ValueError:  # ended in another context than it began in
                _current_step.set(None)
            self._step_token = None
        refused = send_points(self.trail, exc)
        self._summarise_series()
        if self.reused_from is None:  # a reuse ended SUCCESS already, which is final
            self._end(exc or refused)
        if self.trail.buffering == "step":
            send_kept(self.trail, exc or refused, self._end)
        if refused is not None:
            raise refused
        if exc is None:
            # After the step's own writes: a version points at a model its step made.
            for artifact, name in self.registrations:
                self.versions.append(self.trail.register(artifact, name))

    def _end(self, exc: BaseException | None) -> None:
        write_end(self.trail, "execution", self.id, exc)

    # ---------------------------------------------------------------- what it read and wrote

    def input(self, artifact: ArtifactSpec | Artifact) -> Artifact:
        """Record an artifact this step reads. An equal artifact already stored is linked rather
        than copied; an artifact written earlier in this run links the two steps."""
        stored = self.trail.store(artifact, reuse_equal=True, upload=False)
        if any(a.id == stored.id for a in self.inputs):
            return stored
        self.inputs.append(stored)
        self.trail.write(Write("link", "execution", self.id, {"inputArtifacts": [stored.id]}))
        if isinstance(artifact, ArtifactSpec):
            self.trail.upload(stored, artifact)
        producer = self.run.producers.get(stored.id) or self._producer_elsewhere(stored.id)
        if producer and producer != self.id and producer not in self._predecessors:
            self._link_from(producer)
        return stored

    def _producer_elsewhere(self, artifact_id: str) -> str | None:
        """The step of this run, in another process, that wrote the artifact (joined runs)."""
        if not self.run.joined:
            return None
        found = self.trail.get(
            f"{API}/executions",
            filter=[f"run:eq:{self.run.id}", f"outputArtifact:eq:{artifact_id}"],
            limit=1,
        )
        return str(found["items"][0]["id"]) if found and found["items"] else None

    def output(self, artifact: ArtifactSpec | Artifact, *, register: str | None = None) -> Artifact:
        """Record an artifact this step writes; returns it stored, with its id. ``register``:
        when the step succeeds, register the artifact as the next version of the registered
        model of that name (created if new)."""
        stored = self.trail.store(artifact, upload=False)
        if register is not None:
            self.registrations.append((stored, register))
        self.outputs.append(stored)
        self.run.producers[stored.id] = self.id
        self.trail.write(Write("link", "execution", self.id, {"outputArtifacts": [stored.id]}))
        if isinstance(artifact, ArtifactSpec):
            # After the link: a token scoped to experiments may write the files of the
            # artifacts its steps wrote.
            self.trail.upload(stored, artifact)
        return stored

    def log_metric(
        self,
        name: str,
        value: Any,
        *,
        step: int | None = None,
        timestamp: int | None = None,
        of: Artifact | None = None,
        schema: str | None = None,
    ) -> Artifact | None:
        """With ``step``: a point of this step's series ``name`` (``value`` at ``step``, the
        epoch or batch), kept and sent with others; when the step ends, the series' final
        value is written as a metrics artifact, as without ``step``.

        Without ``step``: a metrics artifact about ``of`` (a model, a dataset), written by this
        step, and returned."""
        if step is None:
            return self.output(metrics(name, value, of=of, schema=schema))
        self._log({name: value}, step, timestamp, of)
        return None

    def log_metrics(
        self,
        values: dict[str, Any],
        *,
        step: int = 0,
        timestamp: int | None = None,
        of: Artifact | None = None,
    ) -> None:
        """A point of each of this step's series in ``values`` (key -> value), at ``step``."""
        self._log(values, step, timestamp, of)

    def log_params(self, params: dict[str, Any]) -> None:
        """Add ``params`` to the step's configuration (its parameters). A key the
        configuration has keeps its value."""
        if add_params(self.config, params):
            body = {"configuration": self.config}
            self.trail.write(Write("update", "execution", self.id, body))

    def _log(
        self, values: dict[str, Any], step: int, timestamp: int | None, of: Artifact | None
    ) -> None:
        about = None if of is None else self.trail.store(of).id
        self.trail.metrics.add(
            self.run.id, self.id, values, step=step, timestamp=timestamp, artifact=about
        )

    def _summarise_series(self) -> None:
        """The final value of each series this step logged, as a metrics artifact it wrote:
        what lineage, the trace and ``why`` show."""
        for key, final in self.trail.metrics.take_finals(self.run.id, self.id).items():
            if not math.isfinite(final.value):
                continue  # JSON has no number for it; the series keeps it
            spec = metrics(key, final.value, of=final.artifact)
            spec.annotations["series.step"] = str(final.step)
            self.output(spec)

    def annotate(self, annotations: dict[str, Any] | None = None, **more: Any) -> None:
        self.trail.annotate(self, annotations, **more)

    # ---------------------------------------------------------------- reuse (FR6)

    def fingerprint(self) -> str:
        """What the store will compute for this execution: code, kind, configuration, inputs
        (not the trigger: the same work is the same whatever started the run)."""
        return execution_fingerprint(
            executable_name=self.code.name,
            executable_version=self.code.version,
            executable_uri=self.code.uri,
            kind=self.kind,
            configuration=self.config,
            input_fingerprints=[a.fingerprint for a in self._work_inputs()],
        )

    def _work_inputs(self) -> list[Artifact]:
        """The inputs that make this step's work: all but the run's trigger."""
        return [a for a in self.inputs if not is_trigger(a.kind)]

    def cached(self) -> list[Artifact] | None:
        """If the same code already ran with the same configuration and inputs and succeeded,
        record this step as a reuse of it (SUCCESS, ``reusedFrom``) and return its outputs;
        else None, and the step runs as usual. Declare the inputs first."""
        if any(not a.fingerprint for a in self._work_inputs()):
            return None
        found = self.trail.get(
            f"{API}/executions",
            filter=[f"fingerprint:eq:{self.fingerprint()}", "status:eq:SUCCESS"],
            sort="-createTime",
            limit=1,
        )
        if not found or not found["items"]:
            return None
        hit = found["items"][0]
        origin = str(hit.get("reusedFrom") or hit["id"])
        if origin != hit["id"]:
            try:
                hit = self.trail.get(f"{API}/executions/{origin}") or hit
            except NotFound:
                return None
        outputs = []
        for aid in hit.get("outputArtifacts", []):
            data = self.trail.get(f"{API}/artifacts/{aid}")
            if data is None:
                return None
            if not _files_still_there(self.trail, str(aid)):
                return None
            outputs.append(Artifact.from_json(data))
        self.trail.write(
            Write(
                "update",
                "execution",
                self.id,
                {"status": "SUCCESS", "endTime": now(), "reusedFrom": origin},
            )
        )
        self.reused_from = origin
        for art in outputs:
            self.run.producers.setdefault(art.id, self.id)
        self.outputs = outputs
        log.info("modeltrail: step %s reuses the outputs of execution %s", self.name, origin)
        return outputs


def _files_still_there(trail: Trail, artifact_id: str) -> bool:
    """Whether an output's files (if it has any) still have their content: an output whose
    file was lost is no result to reuse."""
    try:
        gone = [f["path"] for f in trail.files(artifact_id, verify=True) if f.get("missing")]
    except ModeltrailError as exc:  # a store that keeps no files (409): nothing to check
        if getattr(exc, "status", None) == 409:
            return True
        raise
    if gone:
        log.warning(
            "modeltrail: artifact %s lost its file(s) %s: the step runs again",
            artifact_id,
            ", ".join(gone[:5]),
        )
    return not gone
