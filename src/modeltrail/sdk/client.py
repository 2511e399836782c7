"""``modeltrail.connect()``: the client a pipeline talks to.

A ``Trail`` is a ``Catalog`` (the store's entities, ``catalog``) over a ``Delivery`` (how
requests reach the store: kept, batched, spooled, ``delivery``), with runs and steps on top.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any, TypeVar

from modeltrail.sdk.artifacts import Artifact, plain_json
from modeltrail.sdk.catalog import Catalog
from modeltrail.sdk.collect.executable import of_function
from modeltrail.sdk.tracking import Run, current_run
from modeltrail.sdk.triggers import Trigger

F = TypeVar("F", bound=Callable[..., Any])


class Trail(Catalog):
    """A connection to one store, with tracking on top (``run``, ``step``, ``annotate``)."""

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

    def __enter__(self) -> Trail:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def connect(target: str | None = None, **options: Any) -> Trail:
    """A client for a server URL, a database (a path, a ``sqlite:///`` or ``postgresql://`` URL,
    opened in-process), or ``None``: ``MODELTRAIL_URL``, else ``modeltrail.db`` in the working
    directory. Options: those of ``Delivery`` (how requests are kept, batched and retried)."""
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
