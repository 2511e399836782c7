"""How every route reads its input: JSON bodies, query and path parameters, as Unicode.

Every route of the app is a ``TextCheckedRoute``: the JSON body that FastAPI parses for it
goes through ``domain.text.loads`` (UTF-8 only; a lone surrogate in any key or value, at any
depth, is a 422 naming its pointer), and its query and path parameters are checked the same
way before the route runs. Nothing reaches a service, and so nothing is written, before this.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from modeltrail.domain import text


class TextCheckedRequest(Request):
    """A request whose JSON body is parsed by ``domain.text.loads``."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = text.loads(await self.body())
        return self._json


def check_parameters(request: Request) -> None:
    """Refuse query and path parameters that are not valid Unicode, naming each."""
    errors: list[dict[str, Any]] = []
    for where, items in (
        ("query", request.query_params.multi_items()),
        ("path", list(request.path_params.items())),
    ):
        for name, value in items:
            for error in text.invalid_text({name: value}):
                errors.append({**error, "in": where})
    if errors:
        fields = ", ".join(e["pointer"] for e in errors[:5])
        raise text.InvalidText(
            f"the parameters: text that is not valid Unicode at {fields}", errors=errors
        )


class TextCheckedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            # Starlette decodes a URL with U+FFFD for what is not UTF-8, so a parameter holds
            # a lone surrogate only when the request was built in-process (the embedded
            # store, a test client); the check costs a few string tests.
            check_parameters(request)
            return await handle(TextCheckedRequest(request.scope, request.receive, request._send))

        return checked
