"""PyTorch: the epochs of a training loop, in one line.

    for epoch in mt.epochs(10, loss_fn, optimizer):     # in place of range(10)
        ...

A forward hook on the loss function collects every loss it computes: with gradients on, a
training batch's; under ``torch.no_grad()`` (evaluation), a validation batch's. At the end
of each epoch the means are logged as points of the series ``loss`` and ``val_loss`` at
``step=epoch``, with the optimizer's learning rate (``lr``); the optimizer's class and
hyperparameters and the number of epochs are added to the parameters once. Nothing here
imports torch: the loss function and the optimizer are the caller's objects.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from modeltrail.sdk.autologging import Target, log, plain_params, target


def _grad_enabled() -> bool:
    torch = sys.modules.get("torch")
    return True if torch is None else bool(torch.is_grad_enabled())


def _scalar(value: Any) -> float | None:
    """A loss as a number: a tensor's mean (one value, or the batch's), a plain number."""
    try:
        if hasattr(value, "detach"):
            value = value.detach()
            if hasattr(value, "numel") and value.numel() != 1:
                value = value.float().mean()
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return None


def optimizer_params(optimizer: Any) -> dict[str, Any]:
    """The optimizer's class and its first parameter group's hyperparameters."""
    params: dict[str, Any] = {"optimizer": type(optimizer).__name__}
    groups = getattr(optimizer, "param_groups", None) or []
    if groups:
        params.update(plain_params((k, v) for k, v in groups[0].items() if k != "params"))
    return params


class EpochLosses:
    """The losses a loss function computed since the last epoch ended."""

    def __init__(self, loss_fn: Any) -> None:
        self.train: list[float] = []
        self.val: list[float] = []
        self._handle = None
        if loss_fn is not None:
            self._handle = loss_fn.register_forward_hook(self._collect)

    def _collect(self, _module: Any, _inputs: Any, output: Any) -> None:
        value = _scalar(output)
        if value is not None:
            (self.train if _grad_enabled() else self.val).append(value)

    def take(self) -> dict[str, float]:
        out = {}
        if self.train:
            out["loss"] = sum(self.train) / len(self.train)
        if self.val:
            out["val_loss"] = sum(self.val) / len(self.val)
        self.train, self.val = [], []
        return out

    def close(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


def epochs(
    count: int, loss_fn: Any = None, optimizer: Any = None, *, start: int = 0
) -> Iterator[int]:
    """``range(start, count)``, logging each epoch's mean training and validation loss (of
    ``loss_fn``, an ``nn.Module`` such as ``nn.CrossEntropyLoss()``) and the learning rate
    (of ``optimizer``) into the step, else the run, whose ``with`` block encloses the loop.
    Outside a run it only counts."""
    losses = EpochLosses(loss_fn)
    first = target()
    if first is not None:
        params: dict[str, Any] = {"epochs": count}
        if optimizer is not None:
            params.update(optimizer_params(optimizer))
        _safely(first, lambda w: w.log_params(params))
    try:
        for epoch in range(start, count):
            yield epoch
            values = losses.take()
            groups = getattr(optimizer, "param_groups", None)
            if groups and isinstance(groups[0].get("lr"), int | float):
                values["lr"] = float(groups[0]["lr"])
            where = target()
            if where is not None and values:
                _safely(where, lambda w, v=values, e=epoch: w.log_metrics(v, step=e))
    finally:
        losses.close()


def _safely(where: Target, action: Any) -> None:
    try:
        action(where)
    except Exception as exc:  # noqa: BLE001 - recording must not break training
        log.warning("modeltrail could not record an epoch: %s", exc)
