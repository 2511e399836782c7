"""XGBoost and LightGBM alike: wrap ``train`` (the scikit-learn estimators of both call it
too) so that it records its parameters and gets one more callback, which records each
evaluation result of each iteration as a point of a series named ``DATA-METRIC``."""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

from modeltrail.sdk.autologging import Target, enabled, log, plain_params, record, target

_inside_train: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "modeltrail_boosting_train", default=False
)

# (framework, the series target) -> the callback to add to the training
MakeCallback = Callable[[str, Target], Any]


def patch_train(
    framework: str, modules: list[ModuleType], original: Any, make_callback: MakeCallback
) -> None:
    """Replace ``original`` by its recording wrapper in each of ``modules`` that holds it."""
    signature = inspect.signature(original)

    @functools.wraps(original)
    def train(*args: Any, **kwargs: Any) -> Any:
        where = target() if enabled(framework) and not _inside_train.get() else None
        if where is None:
            return original(*args, **kwargs)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:  # the framework will say what is wrong with the call
            return original(*args, **kwargs)
        given = bound.arguments
        params = given.get("params") or {}
        rounds = given.get("num_boost_round", signature.parameters["num_boost_round"].default)
        pairs = params.items() if isinstance(params, dict) else list(params)

        def parameters(w: Target) -> None:
            w.log_params({**plain_params(pairs), "num_boost_round": rounds})

        record(framework, "parameters", parameters)
        given["callbacks"] = [*(given.get("callbacks") or []), make_callback(framework, where)]
        token = _inside_train.set(True)
        try:
            return original(*bound.args, **bound.kwargs)
        finally:
            _inside_train.reset(token)

    train.__modeltrail__ = True  # type: ignore[attr-defined]
    for module in modules:
        if getattr(module, "train", None) is original:
            module.train = train  # type: ignore[attr-defined]


def log_point(framework: str, where: Target, values: dict[str, Any], step: int) -> None:
    """One iteration's evaluation results into ``where`` (a failure is a warning)."""
    if values:
        try:
            where.log_metrics(values, step=step)
        except Exception as exc:  # noqa: BLE001 - recording must not break training
            log.warning("modeltrail could not record the metrics of %s: %s", framework, exc)
