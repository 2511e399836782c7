"""scikit-learn: each estimator's parameters and training metrics, when it is fit.

Only the outermost ``fit`` records: a pipeline's, a search's or an ensemble's inner fits
are part of it. The metrics are those MLflow's scikit-learn autolog records, under its names,
computed on the data ``fit`` was given (as a point at step 0 of the step's or run's series).
"""

from __future__ import annotations

import contextvars
import functools
import math
from types import ModuleType
from typing import Any

from modeltrail.sdk.autologging import Target, enabled, plain_params, record

FRAMEWORK = "sklearn"
_inside_fit: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "modeltrail_sklearn_fit", default=False
)


def patch(sklearn: ModuleType) -> None:
    """Wrap the ``fit`` of every estimator, where it is defined (a base class of several)."""
    from sklearn.utils import all_estimators

    owners: dict[int, type] = {}
    for _, estimator in all_estimators():
        for klass in estimator.__mro__:
            if "fit" in klass.__dict__:
                owners[id(klass)] = klass
                break
    for klass in owners.values():
        fit = klass.__dict__["fit"]
        if callable(fit) and not getattr(fit, "__modeltrail__", False):
            setattr(klass, "fit", _wrapped(fit))  # noqa: B010 - the class's own attribute


def _wrapped(fit: Any) -> Any:
    @functools.wraps(fit)
    def fit_and_record(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _inside_fit.get() or not enabled(FRAMEWORK):
            return fit(self, *args, **kwargs)
        token = _inside_fit.set(True)
        try:
            result = fit(self, *args, **kwargs)
        finally:
            _inside_fit.reset(token)
        record(FRAMEWORK, "fit", lambda where: _record(where, self, args, kwargs))
        return result

    fit_and_record.__modeltrail__ = True  # type: ignore[attr-defined]
    return fit_and_record


def _record(where: Target, estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    where.log_params(plain_params(estimator.get_params(deep=False).items()))
    x = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if x is None or y is None:
        return
    values = training_metrics(estimator, x, y, kwargs.get("sample_weight"))
    if values:
        where.log_metrics(values, step=0)


def training_metrics(estimator: Any, x: Any, y: Any, weight: Any = None) -> dict[str, float]:
    """The metrics of ``estimator`` on (x, y), named as MLflow names them; one that cannot be
    computed for this estimator or these targets is left out."""
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}

    def put(name: str, compute: Any) -> None:
        try:
            value = float(compute())
        except Exception:  # noqa: BLE001 - a metric that does not apply is left out
            return
        if not math.isnan(value):
            out[name] = value

    if not (is_classifier(estimator) or is_regressor(estimator)):
        return out
    try:
        predicted = estimator.predict(x)
    except Exception:  # noqa: BLE001 - an estimator that does not predict has no metrics
        return out
    if is_classifier(estimator):
        binary = len(getattr(estimator, "classes_", [])) == 2
        average = "binary" if binary else "weighted"
        w = weight
        put(
            "training_accuracy_score", lambda: metrics.accuracy_score(y, predicted, sample_weight=w)
        )
        for name, fn in (
            ("training_precision_score", metrics.precision_score),
            ("training_recall_score", metrics.recall_score),
            ("training_f1_score", metrics.f1_score),
        ):
            put(
                name,
                lambda fn=fn: fn(y, predicted, average=average, sample_weight=w, zero_division=0),
            )
        if hasattr(estimator, "predict_proba"):
            put(
                "training_log_loss",
                lambda: metrics.log_loss(
                    y, estimator.predict_proba(x), sample_weight=w, labels=estimator.classes_
                ),
            )
    else:
        mse = metrics.mean_squared_error
        put("training_mean_squared_error", lambda: mse(y, predicted, sample_weight=weight))
        put(
            "training_root_mean_squared_error",
            lambda: math.sqrt(mse(y, predicted, sample_weight=weight)),
        )
        put(
            "training_mean_absolute_error",
            lambda: metrics.mean_absolute_error(y, predicted, sample_weight=weight),
        )
        put("training_r2_score", lambda: metrics.r2_score(y, predicted, sample_weight=weight))
    if weight is None:
        put("training_score", lambda: estimator.score(x, y))
    else:
        put("training_score", lambda: estimator.score(x, y, sample_weight=weight))
    return out
