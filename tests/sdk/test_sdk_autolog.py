# ruff: noqa: F811 - pytest fixtures imported by name
"""Autologging with the real frameworks on small data: scikit-learn, XGBoost, LightGBM and
PyTorch (when it is installed) record their parameters into the configuration and their
metrics as series of the enclosing step, else run; nothing is imported eagerly."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sdk_fixtures import shared_server, store, trail  # noqa: F401 - fixtures
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import modeltrail as mt
from conftest import SRC


@pytest.fixture(autouse=True)
def autologging() -> Iterator[None]:
    mt.autolog()
    yield
    mt.autolog(disable=True)


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[mt.Trail]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELTRAIL_URL", raising=False)
    monkeypatch.delenv("MODELTRAIL_RUN", raising=False)
    client = mt.connect(f"sqlite:///{tmp_path / 'sdk.db'}", on_unreachable="raise")
    yield client
    client.close()


def get(trail: mt.Trail, path: str, **params: Any) -> Any:
    return trail.conn.get(f"/api/v1/{path}", **params)


def series(trail: mt.Trail, run: str, key: str) -> dict[str, Any]:
    answer: dict[str, Any] = get(trail, f"runs/{run}/metrics/{key}")
    return answer


def keys(trail: mt.Trail, run: str) -> set[str]:
    return {m["key"] for m in get(trail, f"runs/{run}/metrics")["metrics"]}


def classification() -> tuple[Any, Any]:
    return make_classification(n_samples=120, n_features=5, random_state=0)


def test_sklearn_classifier_in_a_step(trail: mt.Trail, store: Any) -> None:
    x, y = classification()
    with (
        trail.run(experiment="autolog", config={"seed": 1}) as run,
        run.step("train", kind="train", config={"C": "mine"}) as step,
    ):
        LogisticRegression(C=0.5, max_iter=200).fit(x, y)
    configuration = store.get(f"executions/{step.id}")["configuration"]
    assert configuration["max_iter"] == 200 and configuration["solver"] == "lbfgs"
    assert configuration["C"] == "mine"  # what the step was given wins
    assert store.get(f"runs/{run.id}")["configuration"] == {"seed": 1}
    metrics = {m["key"]: m for m in store.get(f"runs/{run.id}/metrics")["metrics"]}
    assert set(metrics) == {
        "training_accuracy_score",
        "training_precision_score",
        "training_recall_score",
        "training_f1_score",
        "training_log_loss",
        "training_score",
    }
    assert 0.8 < metrics["training_accuracy_score"]["latest"] <= 1.0
    assert metrics["training_score"]["latest"] == metrics["training_accuracy_score"]["latest"]
    # The step's final values, as lineage shows them.
    outputs = store.get(f"executions/{step.id}")["outputArtifacts"]
    names = {store.get(f"artifacts/{o}")["name"] for o in outputs}
    assert "training_f1_score" in names


def test_sklearn_regressor_in_the_run_and_nested_fits_record_once(local: mt.Trail) -> None:
    x, y = make_regression(n_samples=80, n_features=3, noise=0.1, random_state=0)
    with local.run(experiment="autolog") as run:
        make_pipeline(StandardScaler(), LinearRegression()).fit(x, y)
    configuration = get(local, f"runs/{run.id}")["configuration"]
    assert "steps" in configuration and "fit_intercept" not in configuration  # outer fit only
    assert keys(local, run.id) == {
        "training_mean_squared_error",
        "training_root_mean_squared_error",
        "training_mean_absolute_error",
        "training_r2_score",
        "training_score",
    }
    assert series(local, run.id, "training_r2_score")["values"][0] > 0.99


def test_nothing_is_recorded_outside_a_run_or_when_disabled(local: mt.Trail) -> None:
    x, y = classification()
    LogisticRegression().fit(x, y)  # no run: nothing to record into, nothing fails
    mt.autolog(["sklearn"], disable=True)
    with local.run(experiment="autolog") as run:
        LogisticRegression().fit(x, y)
    assert keys(local, run.id) == set()
    assert get(local, f"runs/{run.id}")["configuration"] == {}
    with pytest.raises(ValueError, match="no autologging for keras"):
        mt.autolog(["keras"])


def test_a_failure_to_record_is_a_warning_not_the_training_s(
    local: mt.Trail, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    x, y = classification()
    with local.run(experiment="autolog") as run:

        def broken(params: dict[str, Any]) -> None:
            raise RuntimeError("the store is away")

        monkeypatch.setattr(run, "log_params", broken)
        with caplog.at_level(logging.WARNING, logger="modeltrail.sdk.autologging"):
            model = LogisticRegression().fit(x, y)
    assert model.coef_.shape == (1, 5)
    assert "the store is away" in caplog.text


def test_xgboost_parameters_and_each_iteration_s_evaluation(local: mt.Trail) -> None:
    xgb = pytest.importorskip("xgboost")
    x, y = classification()
    train, valid = xgb.DMatrix(x[:90], label=y[:90]), xgb.DMatrix(x[90:], label=y[90:])
    params = {"objective": "binary:logistic", "max_depth": 2, "eta": 0.3, "eval_metric": "logloss"}
    with local.run(experiment="autolog") as run, run.step("boost", kind="train") as step:
        xgb.train(params, train, num_boost_round=7, evals=[(train, "train"), (valid, "eval")])
    configuration = get(local, f"executions/{step.id}")["configuration"]
    assert configuration["max_depth"] == 2 and configuration["num_boost_round"] == 7
    loss = series(local, run.id, "eval-logloss")
    assert loss["steps"] == list(range(7))
    assert series(local, run.id, "train-logloss")["values"][-1] < loss["values"][0]
    # The scikit-learn estimator goes through xgboost.train too.
    with local.run(experiment="autolog") as run:
        xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(x, y, eval_set=[(x, y)])
    assert series(local, run.id, "validation_0-logloss")["steps"] == list(range(5))
    assert get(local, f"runs/{run.id}")["configuration"]["num_boost_round"] == 5


def test_lightgbm_parameters_and_each_iteration_s_evaluation(local: mt.Trail) -> None:
    lgb = pytest.importorskip("lightgbm")
    x, y = make_regression(n_samples=200, n_features=4, noise=0.1, random_state=0)
    train = lgb.Dataset(x[:150], label=y[:150])
    valid = lgb.Dataset(x[150:], label=y[150:], reference=train)
    params = {"objective": "regression", "num_leaves": 7, "verbose": -1, "metric": ["l2", "l1"]}
    with local.run(experiment="autolog") as run:
        lgb.train(params, train, num_boost_round=6, valid_sets=[valid], valid_names=["valid"])
    configuration = get(local, f"runs/{run.id}")["configuration"]
    assert configuration["num_leaves"] == 7 and configuration["metric"] == ["l2", "l1"]
    assert keys(local, run.id) == {"valid-l2", "valid-l1"}
    l2 = series(local, run.id, "valid-l2")
    assert l2["steps"] == list(range(6)) and l2["values"][-1] < l2["values"][0]
    with local.run(experiment="autolog") as run:
        xc, yc = classification()
        lgb.LGBMClassifier(n_estimators=4, verbose=-1).fit(xc, yc, eval_X=(xc,), eval_y=(yc,))
    assert series(local, run.id, "valid_0-binary_logloss")["steps"] == list(range(4))


class FakeTensor:
    def __init__(self, value: float) -> None:
        self.value = value

    def detach(self) -> FakeTensor:
        return self

    def numel(self) -> int:
        return 1

    def __float__(self) -> float:
        return self.value


class FakeLoss:
    """A loss function as PyTorch's modules are: forward hooks, called on a batch."""

    def __init__(self) -> None:
        self.hooks: list[Any] = []

    def register_forward_hook(self, hook: Any) -> Any:
        self.hooks.append(hook)
        owner = self

        class Handle:
            def remove(self) -> None:
                owner.hooks.remove(hook)

        return Handle()

    def __call__(self, value: float) -> FakeTensor:
        out = FakeTensor(value)
        for hook in self.hooks:
            hook(self, (value,), out)
        return out


def test_epochs_log_the_mean_loss_of_each(local: mt.Trail) -> None:
    loss_fn = FakeLoss()
    optimizer = type("SGD", (), {"param_groups": [{"params": [], "lr": 0.1, "momentum": 0.9}]})()
    with local.run(experiment="autolog") as run, run.step("fit", kind="train") as step:
        for epoch in mt.epochs(3, loss_fn, optimizer):
            for batch in range(4):
                loss_fn(1.0 / (epoch + 1) + batch)
    assert loss_fn.hooks == []  # removed when the loop ends
    loss = series(local, run.id, "loss")
    assert loss["steps"] == [0, 1, 2]
    assert loss["values"] == pytest.approx([2.5, 2.0, 1.5 + 1 / 3])
    assert series(local, run.id, "lr")["values"] == [0.1, 0.1, 0.1]
    configuration = get(local, f"executions/{step.id}")["configuration"]
    assert configuration == {"epochs": 3, "optimizer": "SGD", "lr": 0.1, "momentum": 0.9}
    assert list(mt.epochs(2)) == [0, 1]  # outside a run: a range


def test_pytorch_epoch_loss_with_the_real_framework(local: mt.Trail) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1
    model = torch.nn.Linear(3, 1)
    loss_fn = torch.nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with local.run(experiment="autolog") as run:
        for _ in mt.epochs(5, loss_fn, optimizer):
            for i in range(0, 64, 16):
                optimizer.zero_grad()
                loss = loss_fn(model(x[i : i + 16]).squeeze(1), y[i : i + 16])
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                loss_fn(model(x).squeeze(1), y)
    loss, val = series(local, run.id, "loss"), series(local, run.id, "val_loss")
    assert loss["steps"] == val["steps"] == [0, 1, 2, 3, 4]
    assert val["values"][-1] < val["values"][0] and loss["values"][-1] < loss["values"][0]
    configuration = get(local, f"runs/{run.id}")["configuration"]
    assert configuration["optimizer"] == "SGD" and configuration["lr"] == 0.1


def test_frameworks_are_patched_when_imported_never_imported_by_autolog(tmp_path: Path) -> None:
    script = """
import sys
import modeltrail as mt
on = mt.autolog()
heavy = ("sklearn", "xgboost", "lightgbm", "torch")
assert not [m for m in heavy if m in sys.modules], [m for m in heavy if m in sys.modules]
import lightgbm
assert getattr(lightgbm.train, "__modeltrail__", False)
import xgboost
assert getattr(xgboost.train, "__modeltrail__", False)
import xgboost.sklearn
assert xgboost.sklearn.train is xgboost.train
from sklearn.linear_model import LogisticRegression
assert getattr(LogisticRegression.fit, "__modeltrail__", False)
print(sorted(on))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['lightgbm', 'sklearn', 'xgboost']"


def test_parameters_that_are_no_json_become_text(local: mt.Trail) -> None:
    x, y = classification()
    with local.run(experiment="autolog") as run:
        LogisticRegression(class_weight={0: 1.0, 1: np.float64(2.0)}).fit(x, y)
    configuration = get(local, f"runs/{run.id}")["configuration"]
    assert configuration["class_weight"] == "{0: 1.0, 1: np.float64(2.0)}"
