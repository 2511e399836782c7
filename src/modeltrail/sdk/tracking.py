"""Runs as context managers: what ran, when, on what, producing what, and how it ended (its
steps are ``steps.Step``)."""

from __future__ import annotations

import contextvars
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modeltrail.errors import NotFound
from modeltrail.sdk.artifacts import Artifact, ArtifactSpec, plain_json
from modeltrail.sdk.buffer import Write
from modeltrail.sdk.collect.environment import environment
from modeltrail.sdk.collect.executable import CodeInfo, caller_frame, command_line, of_script
from modeltrail.sdk.recording import (
    API,
    Trail,
    add_params,
    now,
    send_kept,
    send_points,
    write_end,
)
from modeltrail.sdk.steps import Step
from modeltrail.sdk.triggers import Trigger

_current: contextvars.ContextVar[Run | None] = contextvars.ContextVar(
    "modeltrail_run", default=None
)


def current_run() -> Run | None:
    """The run whose ``with`` block encloses this code, if any."""
    return _current.get()


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
        self.producers: dict[str, str] = {}
        self._token: contextvars.Token[Run | None] | None = None
        self.first_step_pending = True
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
            self.first_step_pending = bool(steps is not None and not steps["items"])
        else:
            self.event_id = os.environ.get("MODELTRAIL_RUN_EVENT") or None
            self.first_step_pending = False
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
        refused = send_points(self.trail, exc)
        self._end(exc or refused)  # kept with the run's other writes
        if self._token is not None:
            _current.reset(self._token)
        send_kept(self.trail, exc or refused, self._end, force=True)
        if refused is not None:
            raise refused

    def _end(self, exc: BaseException | None) -> None:
        if not self.joined:  # else its status is its owner's
            write_end(self.trail, "run", self.id, exc)

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
        if add_params(self.config, params):
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


__all__ = ["Run", "current_run"]
