"""Why a run started (thesis Table 6.11, FR7). A trigger becomes the run's ``event`` artifact."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from modeltrail.sdk.collect.trigger import (
    CODE_CHANGE,
    DATA_CHANGE,
    EXTERNAL,
    MANUAL,
    SCHEDULE,
    detect,
)


@dataclass(frozen=True)
class Trigger:
    """What started a run: ``cause`` is one of manual, schedule, data change, code change,
    external; ``source`` says who noticed (a user, a cron, a sensor, a CI system); ``details``
    are kept as the event's attributes."""

    cause: str
    source: str = "sdk"
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def manual(cls, by: str | None = None) -> Trigger:
        if by is None:
            try:
                by = getpass.getuser()
            except Exception:
                by = "unknown"
        return cls(MANUAL, "user", {"user": by})

    @classmethod
    def schedule(
        cls, cron: str | None = None, *, name: str | None = None, source: str = "scheduler"
    ) -> Trigger:
        return cls(SCHEDULE, source, _clean({"cron": cron, "schedule": name}))

    @classmethod
    def data_change(
        cls,
        uri: str | None = None,
        *,
        dataset: str | None = None,
        detail: str | None = None,
        source: str = "data change detector",
        **extra: Any,
    ) -> Trigger:
        return cls(
            DATA_CHANGE, source, _clean({"uri": uri, "dataset": dataset, "detail": detail, **extra})
        )

    @classmethod
    def code_change(
        cls,
        commit: str | None = None,
        *,
        repository: str | None = None,
        source: str = "version control",
        **extra: Any,
    ) -> Trigger:
        return cls(
            CODE_CHANGE, source, _clean({"commit": commit, "repository": repository, **extra})
        )

    @classmethod
    def external(cls, source: str, **details: Any) -> Trigger:
        return cls(EXTERNAL, source, _clean(details))

    @classmethod
    def from_environment(cls) -> Trigger:
        """The trigger a scheduler or CI system announces in the environment, else manual."""
        found = detect()
        return cls(*found) if found is not None else cls.manual()

    def name(self) -> str:
        return self.cause.replace(" ", "-")

    def attributes(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "source": self.source,
            "time": datetime.now(UTC).isoformat(),
            **self.details,
        }


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


__all__ = ["CODE_CHANGE", "DATA_CHANGE", "EXTERNAL", "MANUAL", "SCHEDULE", "Trigger"]
