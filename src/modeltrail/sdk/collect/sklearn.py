"""scikit-learn estimators as the thesis's model kind (Table 6.9)."""

from __future__ import annotations

from typing import Any


def is_estimator(value: Any) -> bool:
    return type(value).__module__.startswith("sklearn.") and hasattr(value, "get_params")


def _plain(value: Any) -> Any:
    """Hyperparameter values the model kind accepts: numbers, flags, text, null."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        try:
            return _plain(value.item())
        except (TypeError, ValueError):
            pass
    return repr(value) if hasattr(value, "get_params") else str(value)


def _tolist(value: Any) -> list[Any]:
    return [_plain(v) for v in (value.tolist() if hasattr(value, "tolist") else list(value))]


def describe(estimator: Any, sample: Any = None) -> dict[str, Any]:
    """type, framework (name, version), hyperParameters, inputSchema and outputSchema."""
    import sklearn

    params = {k: _plain(v) for k, v in estimator.get_params(deep=False).items()}
    input_schema: dict[str, Any] = {}
    if hasattr(estimator, "n_features_in_"):
        input_schema["n_features"] = int(estimator.n_features_in_)
    if hasattr(estimator, "feature_names_in_"):
        input_schema["features"] = _tolist(estimator.feature_names_in_)
    if sample is not None:
        dtypes = getattr(sample, "dtypes", None)
        if dtypes is not None and hasattr(dtypes, "items"):
            input_schema["dtypes"] = {str(c): str(t) for c, t in dtypes.items()}
        elif getattr(sample, "dtype", None) is not None:
            input_schema["dtypes"] = str(sample.dtype)
    output_schema: dict[str, Any] = {}
    if hasattr(estimator, "classes_"):
        output_schema["classes"] = _tolist(estimator.classes_)
    elif hasattr(estimator, "n_outputs_"):
        output_schema["n_outputs"] = int(estimator.n_outputs_)
    attributes: dict[str, Any] = {
        "type": type(estimator).__name__,
        "class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "framework": {"name": "scikit-learn", "version": sklearn.__version__},
        "hyperParameters": params,
    }
    if input_schema:
        attributes["inputSchema"] = input_schema
    if output_schema:
        attributes["outputSchema"] = output_schema
    return attributes
