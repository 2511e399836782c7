"""Runs and steps as context managers: what ran, when, on what, producing what, and how it ended."""

from __future__ import annotations

import contextvars
import logging
import math
import os
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from modeltrail.domain.fingerprint import execution_fingerprint, is_trigger
from modeltrail.errors import ModeltrailError, NotFound
from modeltrail.sdk.artifacts import Artifact, ArtifactSpec, metrics, plain_json
from modeltrail.sdk.buffer import PLURAL, Write
from modeltrail.sdk.collect.environment import environment
from modeltrail.sdk.collect.executable import CodeInfo, caller_frame, command_line, of_script
from modeltrail.sdk.registry import ModelVersion
from modeltrail.sdk.series import MetricBuffer
from modeltrail.sdk.spool import Spool
from modeltrail.sdk.triggers import Trigger

log = logging.getLogger("modeltrail.sdk")
API = "/api/v1"
_current: contextvars.ContextVar[Run | None] = contextvars.ContextVar(
    "modeltrail_run", default=None
)
_current_step: contextvars.ContextVar[Step | None] = contextvars.ContextVar(
    "modeltrail_step", default=None
)


def current_run() -> Run | None:
    """The run whose ``with`` block encloses this code, if any."""
    return _current.get()


def current_step() -> Step | None:
    """The step whose ``with`` block encloses this code, if any."""
    return _current_step.get()


def now() -> str:
    return datetime.now(UTC).isoformat()


class Trail(Protocol):
    """What a run and its steps use of the ``modeltrail.sdk.client.Trail`` that made them:
    the client makes runs, so a run knows its client by this description only."""

    target: str
    spool: Spool
    buffering: str
    _annotations: dict[tuple[str, str], dict[str, str]]
    metrics: MetricBuffer

    @property
    def _pipeline_executables(self) -> dict[str, list[str]]: ...

    def get(self, path: str, *, read_own_writes: bool = True, **params: Any) -> Any: ...

    def write(
        self, write: Write, *, same_as: tuple[str, ...] = (), artifact: Artifact | None = None
    ) -> Any: ...

    def send_pending(self) -> None: ...

    def flush(self, *, force: bool = False) -> bool: ...

    def experiment_id(self, name: str) -> str: ...

    def pipeline_id(self, name: str, *, version: str = "1", uri: str | None = None) -> str: ...

    def executable_id(self, code: CodeInfo, *, pipeline: str | None = None) -> str: ...

    def store(
        self,
        spec: ArtifactSpec | Artifact,
        *,
        reuse_equal: bool = False,
        create_time: str | None = None,
        upload: bool = True,
    ) -> Artifact: ...

    def upload(
        self, artifact: Artifact | str, files: ArtifactSpec | dict[str, Any]
    ) -> list[Any]: ...

    def files(self, artifact: Artifact | str, *, verify: bool = False) -> list[dict[str, Any]]: ...

    def load_model(self, ref: Artifact | str) -> Any: ...

    def register(self, artifact: Artifact | str, name: str) -> ModelVersion | None: ...

    def annotate(
        self, target: Any, annotations: dict[str, Any] | None = None, **more: Any
    ) -> None: ...


def failure_annotations(exc: BaseException) -> dict[str, str]:
    """The annotations that say how a run or step failed."""
    return {
        "error.type": f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins."),
        "error.message": str(exc)[:4000],
        "error.traceback": "".join(traceback.format_exception(exc))[-8000:],
    }


class Run:
    """One run of a pipeline. Use ``trail.run(...)``."""

    def __init__(
        self,
        trail: Trail,
        *,
        experiment: str,
        pipeline: str | None,
        trigger: Trigger | None,
        name: str | None,
        config: dict[str, Any],
        annotations: dict[str, Any],
        join: str | None,
    ) -> None:
        self.trail = trail
        self.experiment_name = experiment
        self.pipeline_name = pipeline
        self.trigger = trigger
        self.name = name
        self.config = dict(config)
        self.user_annotations = {k: str(v) for k, v in annotations.items()}
        self.joined = join is not None
        self.id = join or str(uuid.uuid4())
        self.pipeline: str | None = None
        self.experiment_id: str | None = None
        self.event: Artifact | None = None
        self.event_id: str | None = None
        self.steps: list[Step] = []
        self._producers: dict[str, str] = {}
        self._token: contextvars.Token[Run | None] | None = None
        self._first_step_pending = True
        self._config_read = False

    def _annotation_target(self) -> tuple[str, str]:
        return "runs", self.id

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> Run:
        if self.joined:
            self._join()
        else:
            self._start()
        self._token = _current.set(self)
        return self

    def _join(self) -> None:
        try:
            stored = self.trail.get(f"{API}/runs/{self.id}")
        except NotFound:
            stored = None  # its creation may still be in a spool: add steps to it all the same
        if stored:
            self.pipeline = stored.get("pipeline")
            self.experiment_id = stored.get("experiment")
            self.event_id = stored.get("event")
            if self.pipeline:
                self.trail._pipeline_executables.setdefault(self.pipeline, [])
            steps = self.trail.get(f"{API}/executions", filter=[f"run:eq:{self.id}"], limit=1)
            self._first_step_pending = bool(steps is not None and not steps["items"])
        else:
            self.event_id = os.environ.get("MODELTRAIL_RUN_EVENT") or None
            self._first_step_pending = False
        if self.pipeline is None and self.pipeline_name:
            self.pipeline = self.trail.pipeline_id(self.pipeline_name)

    def _start(self) -> None:
        trail = self.trail
        started = now()
        experiment = trail.experiment_id(self.experiment_name)
        self.experiment_id = experiment
        if self.pipeline_name:
            self.pipeline = trail.pipeline_id(self.pipeline_name)
        trigger = self.trigger or Trigger.from_environment()
        self.trigger = trigger
        self.event = trail.store(
            ArtifactSpec(
                "event",
                trigger.name(),
                attributes={"cause": trigger.cause, "source": trigger.source, **trigger.details},
            ),
            create_time=started,
        )
        self.event_id = self.event.id
        annotations = {
            **environment(),
            "command": command_line(),
            "cwd": str(Path.cwd()),
            **self.user_annotations,
        }
        body = {
            "id": self.id,
            "experiment": experiment,
            "name": self.name or f"{self.pipeline_name or self.experiment_name}-{started[:19]}",
            "createTime": started,
            "status": "RUNNING",
            "configuration": plain_json(self.config),
            "event": self.event.id,
            "annotations": annotations,
        }
        if self.pipeline:
            body["pipeline"] = self.pipeline
        trail._annotations[("runs", self.id)] = dict(annotations)
        trail.write(Write("create", "run", self.id, body))

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        refused = _send_points(self.trail, exc)
        self._end(exc or refused)  # kept with the run's other writes
        if self._token is not None:
            _current.reset(self._token)
        _send_kept(self.trail, exc or refused, self._end, force=True)
        if refused is not None:
            raise refused

    def _end(self, exc: BaseException | None) -> None:
        if not self.joined:  # else its status is its owner's
            _write_end(self.trail, "run", self.id, exc)

    def env(self) -> dict[str, str]:
        """Environment variables that make a child process (a script of this pipeline) join this
        run instead of starting its own."""
        target = self.trail.target
        relative_sqlite = target.startswith("sqlite:///") and not target.startswith("sqlite:////")
        if "://" not in target or relative_sqlite:  # a child may run in another directory
            path = target.removeprefix("sqlite:///")
            target = f"sqlite:///{Path(path).resolve()}"
        env = {
            "MODELTRAIL_RUN": self.id,
            "MODELTRAIL_URL": target,
            "MODELTRAIL_SPOOL": str(self.trail.spool.path.resolve()),
            "MODELTRAIL_EXPERIMENT": self.experiment_name,
        }
        if self.event_id:
            env["MODELTRAIL_RUN_EVENT"] = self.event_id
        return env

    # ---------------------------------------------------------------- steps

    def step(
        self,
        name: str,
        *,
        kind: str = "transformation",
        config: dict[str, Any] | None = None,
        annotations: dict[str, Any] | None = None,
        code: CodeInfo | None = None,
    ) -> Step:
        """One step (an execution) of this run, as a context manager."""
        return Step(
            self,
            name,
            kind=kind,
            config=config or {},
            annotations=annotations or {},
            code=code or of_script(name, caller_frame()),
        )

    def annotate(self, annotations: dict[str, Any] | None = None, **more: Any) -> None:
        self.trail.annotate(self, annotations, **more)

    # ---------------------------------------------------------------- metric series

    def log_metric(
        self, key: str, value: Any, *, step: int = 0, timestamp: int | None = None
    ) -> None:
        """A point of the run's series ``key``: ``value`` at ``step`` (the epoch, the batch),
        kept and sent with others (see ``MetricBuffer``). ``timestamp``: milliseconds since
        the epoch, now if left out."""
        self.trail.metrics.add(self.id, None, {key: value}, step=step, timestamp=timestamp)

    def log_metrics(
        self, values: dict[str, Any], *, step: int = 0, timestamp: int | None = None
    ) -> None:
        """A point of each of the run's series in ``values`` (key -> value), all at ``step``."""
        self.trail.metrics.add(self.id, None, values, step=step, timestamp=timestamp)

    def log_params(self, params: dict[str, Any]) -> None:
        """Add ``params`` to the run's configuration (its parameters: the runs grid's
        ``configuration.KEY`` columns). A key the configuration has keeps its value."""
        if self.joined and not self._config_read:
            # Another process started the run: its configuration is the stored one.
            stored = self.trail.get(f"{API}/runs/{self.id}") or {}
            self.config = {**(stored.get("configuration") or {}), **self.config}
            self._config_read = True
        if _add_params(self.config, params):
            body = {"configuration": plain_json(self.config)}
            self.trail.write(Write("update", "run", self.id, body))

    def _call(
        self,
        func: Callable[..., Any],
        name: str,
        kind: str,
        config: dict[str, Any],
        code: CodeInfo,
        cache: bool,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        values: dict[str, Any],
    ) -> Any:
        with self.step(name, kind=kind, config=config, code=code) as step:
            for value in values.values():
                for item in value if isinstance(value, list | tuple) else [value]:
                    if isinstance(item, Artifact | ArtifactSpec):
                        step.input(item)
            if cache:
                reused = step.cached()
                if reused is not None:
                    return reused[0] if len(reused) == 1 else tuple(reused)
            result = func(*args, **kwargs)
            if isinstance(result, ArtifactSpec | Artifact):
                return step.output(result)
            if isinstance(result, tuple) and any(
                isinstance(r, ArtifactSpec | Artifact) for r in result
            ):
                return tuple(
                    step.output(r) if isinstance(r, ArtifactSpec | Artifact) else r for r in result
                )
            return result


class Step:
    """One execution: its inputs, outputs, metrics, status. Use ``run.step(...)``."""

    def __init__(
        self,
        run: Run,
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
        if self.run._first_step_pending and self.run.event_id:
            # The trigger is where lineage starts (thesis): the run's first step reads it.
            body["inputArtifacts"] = [self.run.event_id]
            if self.run.event is not None:
                self.inputs.append(self.run.event)
            else:
                self.inputs.append(Artifact(self.run.event_id, "event", "event"))
        self.run._first_step_pending = False
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
        refused = _send_points(self.trail, exc)
        self._summarise_series()
        if self.reused_from is None:  # a reuse ended SUCCESS already, which is final
            self._end(exc or refused)
        if self.trail.buffering == "step":
            _send_kept(self.trail, exc or refused, self._end)
        if refused is not None:
            raise refused
        if exc is None:
            # After the step's own writes: a version points at a model its step made.
            for artifact, name in self.registrations:
                self.versions.append(self.trail.register(artifact, name))

    def _end(self, exc: BaseException | None) -> None:
        _write_end(self.trail, "execution", self.id, exc)

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
        producer = self.run._producers.get(stored.id) or self._producer_elsewhere(stored.id)
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
        self.run._producers[stored.id] = self.id
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
        if _add_params(self.config, params):
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
            self.run._producers.setdefault(art.id, self.id)
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


def _add_params(config: dict[str, Any], params: dict[str, Any]) -> bool:
    """Add to ``config`` the ``params`` it does not have (as JSON has them); whether any was."""
    new = {k: v for k, v in plain_json({str(k): v for k, v in params.items()}).items()}
    added = {k: v for k, v in new.items() if k not in config}
    config.update(added)
    return bool(added)


def _write_end(trail: Trail, entity: str, entity_id: str, exc: BaseException | None) -> None:
    """Write the end of a run or step: SUCCESS, or FAILED with what the exception says."""
    update: dict[str, Any] = {"status": "FAILED" if exc else "SUCCESS", "endTime": now()}
    if exc is not None:
        notes = trail._annotations.setdefault((PLURAL[entity], entity_id), {})
        notes.update(failure_annotations(exc))
        update["annotations"] = notes
    trail.write(Write("update", entity, entity_id, update))


def _send_points(trail: Trail, exc: BaseException | None) -> ModeltrailError | None:
    """Send the kept metric points as a step or run ends. A refusal is answered, to fail the
    block with; unless the block is already ending in an exception of its own, which goes
    on, and the refusal is logged."""
    try:
        trail.metrics.flush()
    except ModeltrailError as refused:
        if exc is None:
            return refused
        log.error("modeltrail: metric points refused: %s", refused.detail)
    return None


def _send_kept(
    trail: Trail,
    exc: BaseException | None,
    end: Callable[[BaseException | None], None],
    *,
    force: bool = False,
) -> None:
    """Send the kept writes at the end of a step or run (``force``: and the spool). If what it
    wrote is refused, the block failed: ``end`` writes it FAILED with the refusal as its error,
    and the refusal is raised; unless the block is already ending in an exception of its own,
    which goes on, and the refusal is logged."""
    try:
        if force:
            trail.flush(force=True)
        else:
            trail.send_pending()
    except ModeltrailError as refused:
        if exc is not None:
            log.error("modeltrail: %s", refused.detail)
            return
        end(refused)
        raise


__all__ = ["Run", "Step", "current_run"]
