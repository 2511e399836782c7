"""``GET /plugins``: which plugins are on, and how their hooks fared."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from modeltrail.server.deps import MetadataDep

router = APIRouter(prefix="/plugins", tags=["Plugins"])


@router.get("", operation_id="listPlugins", summary="Enabled plugins, their calls and last errors")
def list_plugins(meta: MetadataDep) -> dict[str, Any]:
    status = getattr(meta.hooks, "status", None)
    return {"items": status() if status is not None else []}
