"""What runs and steps share: the client they record through (``Trail``, as they see it),
and how the end of a run's or a step's block is written and sent."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from modeltrail.errors import ModeltrailError
from modeltrail.sdk.artifacts import Artifact, ArtifactSpec, plain_json
from modeltrail.sdk.buffer import PLURAL, Write
from modeltrail.sdk.collect.executable import CodeInfo
from modeltrail.sdk.registry import ModelVersion
from modeltrail.sdk.series import MetricBuffer
from modeltrail.sdk.spool import Spool

log = logging.getLogger("modeltrail.sdk")
API = "/api/v1"


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


def add_params(config: dict[str, Any], params: dict[str, Any]) -> bool:
    """Add to ``config`` the ``params`` it does not have (as JSON has them); whether any was."""
    new = {k: v for k, v in plain_json({str(k): v for k, v in params.items()}).items()}
    added = {k: v for k, v in new.items() if k not in config}
    config.update(added)
    return bool(added)


def write_end(trail: Trail, entity: str, entity_id: str, exc: BaseException | None) -> None:
    """Write the end of a run or step: SUCCESS, or FAILED with what the exception says."""
    update: dict[str, Any] = {"status": "FAILED" if exc else "SUCCESS", "endTime": now()}
    if exc is not None:
        notes = trail._annotations.setdefault((PLURAL[entity], entity_id), {})
        notes.update(failure_annotations(exc))
        update["annotations"] = notes
    trail.write(Write("update", entity, entity_id, update))


def send_points(trail: Trail, exc: BaseException | None) -> ModeltrailError | None:
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


def send_kept(
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
