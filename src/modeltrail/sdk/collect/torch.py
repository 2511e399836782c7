"""PyTorch modules, only when torch is installed and already imported by the pipeline."""

from __future__ import annotations

import sys
from typing import Any


def is_module(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.nn.Module)


def describe(module: Any, optimizer: Any = None) -> dict[str, Any]:
    """type, framework, parameter count, and the optimizer's class and hyperparameters."""
    import torch

    hyper: dict[str, Any] = {}
    attributes: dict[str, Any] = {
        "type": type(module).__name__,
        "class": f"{type(module).__module__}.{type(module).__qualname__}",
        "framework": {"name": "pytorch", "version": torch.__version__},
        "parameters": int(sum(p.numel() for p in module.parameters())),
        "trainableParameters": int(sum(p.numel() for p in module.parameters() if p.requires_grad)),
    }
    if optimizer is not None:
        hyper["optimizer"] = type(optimizer).__name__
        groups = getattr(optimizer, "param_groups", [])
        if groups:
            for key, value in groups[0].items():
                if key != "params" and (
                    value is None or isinstance(value, bool | int | float | str)
                ):
                    hyper[key] = value
    attributes["hyperParameters"] = hyper
    return attributes
