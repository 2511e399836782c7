"""Plugin hooks that record what they were called with, for tests of when plugins run."""

from __future__ import annotations

from pydantic import BaseModel


class Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def enrich(self, entity: str, action: str, data: BaseModel) -> BaseModel:
        self.calls.append(("enrich", entity, action))
        if entity == "experiment":
            return data.model_copy(update={"annotations": {**data.annotations, "enriched": "yes"}})
        return data

    def stored(self, entity: str, action: str, result: BaseModel) -> None:
        self.calls.append(("stored", entity, action))

    def listens(self, hook: str) -> bool:
        return True
