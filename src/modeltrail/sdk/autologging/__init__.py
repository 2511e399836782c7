"""Autologging: parameters and metric series of the frameworks users train with, recorded
without being asked, into the step (else the run) whose ``with`` block encloses the training.

``modeltrail.autolog()`` patches each framework it knows that is installed: at once if the
pipeline imported it already, else when it imports it (nothing is imported here). Training
outside a run records nothing; a failure to record never fails the training (it is logged
as a warning).

- scikit-learn: every estimator's ``fit`` (the outermost of nested fits): its parameters,
  and on the training data the metrics MLflow's autolog records (``training_score``,
  accuracy, precision, recall, F1 and log loss for a classifier, MSE, RMSE, MAE and R² for
  a regressor).
- XGBoost and LightGBM: ``train`` (which their scikit-learn estimators use too): the booster
  parameters and the number of rounds, and each evaluation metric of each evaluation set as
  a series, one point per iteration (``validation_0-logloss``, ``valid_0-l2``), through the
  frameworks' own callbacks.
- PyTorch: ``modeltrail.epochs`` (``sdk.autologging.torch``), one line in place of
  ``range(n)``.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any, Protocol

from modeltrail.sdk.steps import current_step
from modeltrail.sdk.tracking import current_run

log = logging.getLogger("modeltrail.sdk.autologging")

# framework -> (module whose import makes it patchable, the patch in this package)
FRAMEWORKS: dict[str, tuple[str, str]] = {
    "sklearn": ("sklearn", "modeltrail.sdk.autologging.sklearn"),
    "xgboost": ("xgboost", "modeltrail.sdk.autologging.xgboost"),
    "lightgbm": ("lightgbm", "modeltrail.sdk.autologging.lightgbm"),
}
_enabled: set[str] = set()
_patched: set[str] = set()


class Target(Protocol):
    """What autologging records into: a run or a step."""

    def log_params(self, params: dict[str, Any]) -> None: ...

    def log_metrics(
        self, values: dict[str, Any], *, step: int = 0, timestamp: int | None = None
    ) -> None: ...


def target() -> Target | None:
    """The step whose ``with`` block encloses this code, else the run, else None."""
    return current_step() or current_run()


def enabled(framework: str) -> bool:
    return framework in _enabled


def record(framework: str, what: str, action: Callable[[Target], None]) -> None:
    """Record into the current step or run, if autologging of ``framework`` is on and there is
    one; a failure is a warning, never the training's failure."""
    where = target() if enabled(framework) else None
    if where is None:
        return
    try:
        action(where)
    except Exception as exc:  # noqa: BLE001 - recording must not break training
        log.warning("modeltrail could not record the %s of %s: %s", what, framework, exc)


def autolog(frameworks: Sequence[str] | None = None, *, disable: bool = False) -> list[str]:
    """Record parameters and metric series of ``frameworks`` (default: all of
    ``FRAMEWORKS``) from now on; ``disable=True`` stops it. Returns the frameworks whose
    autologging is on."""
    chosen = list(frameworks) if frameworks is not None else list(FRAMEWORKS)
    unknown = [f for f in chosen if f not in FRAMEWORKS]
    if unknown:
        raise ValueError(
            f"no autologging for {', '.join(unknown)}; choose among {', '.join(FRAMEWORKS)}"
        )
    if disable:
        _enabled.difference_update(chosen)
        return sorted(_enabled)
    for framework in chosen:
        _enabled.add(framework)
        module_name, _ = FRAMEWORKS[framework]
        if module_name in sys.modules:
            _patch(framework, sys.modules[module_name])
        elif _installed(module_name):
            _after_import(module_name, functools.partial(_patch, framework))
    return sorted(_enabled)


def _installed(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):
        return False


def _patch(framework: str, module: ModuleType) -> None:
    if framework in _patched:
        return
    _patched.add(framework)
    try:
        patcher = importlib.import_module(FRAMEWORKS[framework][1])
        patcher.patch(module)
    except Exception as exc:  # noqa: BLE001 - an unknown version must not break the import
        _patched.discard(framework)
        log.warning("modeltrail cannot autolog %s: %s", framework, exc)


# ---------------------------------------------------------------- after an import

_waiting: dict[str, list[Callable[[ModuleType], None]]] = {}


class _Loader(importlib.abc.Loader):
    """The module's own loader, then the hooks waiting for it."""

    def __init__(self, loader: importlib.abc.Loader, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        for hook in _waiting.pop(self._name, []):
            hook(module)

    def __getattr__(self, name: str) -> Any:  # resources, get_code, ...: the real loader's
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of a module someone waits for."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _waiting:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader, fullname)
                return spec
        return None


_FINDER = _Finder()


def _after_import(module_name: str, hook: Callable[[ModuleType], None]) -> None:
    _waiting.setdefault(module_name, []).append(hook)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def plain_params(params: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Parameters as a configuration holds them: numbers, flags, text and null as they are,
    anything else (an object, a function) as text."""
    out: dict[str, Any] = {}
    for key, value in params:
        if value is None or isinstance(value, bool | int | float | str):
            out[str(key)] = value
        elif hasattr(value, "item") and callable(value.item):  # numpy scalars
            try:
                out[str(key)] = value.item()
            except (TypeError, ValueError):
                out[str(key)] = str(value)
        elif isinstance(value, list | tuple) and all(
            v is None or isinstance(v, bool | int | float | str) for v in value
        ):
            out[str(key)] = list(value)
        else:
            out[str(key)] = str(value)
    return out


__all__ = ["FRAMEWORKS", "Target", "autolog", "enabled", "plain_params", "record", "target"]
