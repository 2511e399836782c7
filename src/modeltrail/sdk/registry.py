"""Registered models as the SDK answers them: ``trail.register(...)``, ``trail.model(...)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelVersion:
    """A version of a registered model: its number and the artifact it is."""

    model: str
    version: int
    artifact: str
    aliases: list[str] = field(default_factory=list, compare=False)
    metrics: dict[str, Any] = field(default_factory=dict, compare=False)
    run: str | None = None

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``, which names this version everywhere."""
        return f"models:/{self.model}/{self.version}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelVersion:
        run = data.get("run")
        return cls(
            model=data["model"],
            version=int(data["version"]),
            artifact=str(data["artifact"]["id"]),
            aliases=list(data.get("aliases") or []),
            metrics=dict(data.get("metrics") or {}),
            run=str(run["id"]) if run else None,
        )
