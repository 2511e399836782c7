"""XGBoost: ``xgboost.train`` and so ``XGBClassifier.fit`` and the others."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

from modeltrail.sdk.autologging import Target
from modeltrail.sdk.autologging.boosting import log_point, patch_train


def patch(xgboost: ModuleType) -> None:
    # The submodules by name: the module object is the parameter, an import would rebind it.
    training = import_module("xgboost.training")
    sklearn = import_module("xgboost.sklearn")
    patch_train("xgboost", [xgboost, training, sklearn], training.train, _callback)


def _callback(framework: str, where: Target) -> Any:
    from xgboost.callback import TrainingCallback

    class Record(TrainingCallback):
        """Each iteration's last evaluation result of each set and metric."""

        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
            values: dict[str, Any] = {}
            for data, metrics in evals_log.items():
                for metric, history in metrics.items():
                    if history:
                        last = history[-1]
                        values[f"{data}-{metric}"] = last[0] if isinstance(last, tuple) else last
            log_point(framework, where, values, epoch)
            return False

    return Record()
