"""Plugins the tests switch on by module path."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from modeltrail.plugins import hookimpl


class Enricher:
    """Stamps every new artifact and remembers what was stored."""

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {}
        self.stored: list[tuple[str, str, str]] = []

    @hookimpl
    def modeltrail_start(self, metadata: Any, settings: dict[str, Any]) -> None:
        self.settings = settings

    @hookimpl
    def modeltrail_enrich(self, entity: str, action: str, data: BaseModel) -> BaseModel | None:
        if entity == "artifact" and action == "create":
            stamp = self.settings.get("stamp", "sample")
            return data.model_copy(
                update={"annotations": {**data.annotations, "enriched-by": stamp}}
            )
        return None

    @hookimpl
    def modeltrail_stored(self, entity: str, action: str, result: BaseModel) -> None:
        self.stored.append((entity, action, str(result.id)))

    @hookimpl
    def modeltrail_status(self) -> dict[str, Any]:
        return {"stored": len(self.stored)}


class Broken:
    """Fails in every hook."""

    @hookimpl
    def modeltrail_enrich(self, entity: str, action: str, data: BaseModel) -> BaseModel | None:
        raise RuntimeError("enrich exploded")

    @hookimpl
    def modeltrail_stored(self, entity: str, action: str, result: BaseModel) -> None:
        raise RuntimeError(f"stored exploded on {entity}")


class Invalid:
    """Returns what no client could send: the manager must refuse it."""

    @hookimpl
    def modeltrail_enrich(self, entity: str, action: str, data: BaseModel) -> BaseModel | None:
        if entity == "artifact":
            return data.model_copy(update={"annotations": {"x": 1}})  # not a string
        return None
