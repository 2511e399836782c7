"""LightGBM: ``lightgbm.train`` and so ``LGBMClassifier.fit`` and the others."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

from modeltrail.sdk.autologging import Target
from modeltrail.sdk.autologging.boosting import log_point, patch_train


def patch(lightgbm: ModuleType) -> None:
    # The submodules by name: the module object is the parameter, an import would rebind it.
    engine = import_module("lightgbm.engine")
    sklearn = import_module("lightgbm.sklearn")
    patch_train("lightgbm", [lightgbm, engine, sklearn], engine.train, _callback)


def _callback(framework: str, where: Target) -> Any:
    def record(env: Any) -> None:
        """Each iteration's evaluation results: (data, metric, value, higher is better)."""
        values = {f"{item[0]}-{item[1]}": item[2] for item in env.evaluation_result_list or []}
        log_point(framework, where, values, int(env.iteration - env.begin_iteration))

    record.order = 40  # type: ignore[attr-defined]  # after LightGBM's own evaluation (order 10+)
    return record
