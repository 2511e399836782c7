"""MLflow's API where the app is served under a prefix, behind a proxy that strips it
(``uvicorn --root-path /trail``) or mounted in another ASGI app: the request's path holds the
prefix, and the server still answers as it does at the root (the guard's side of this is in
``tests/server/test_auth.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from modeltrail.server.app import create_app
from modeltrail.services.metadata import Metadata

MLFLOW = "/trail/api/2.0/mlflow"
PROXY = "/trail/api/2.0/mlflow-artifacts/artifacts"

Check = Callable[[httpx.AsyncClient], Awaitable[None]]


@pytest.fixture(params=["root_path", "mount"])
def under_prefix(
    request: pytest.FixtureRequest, file_metadata: Metadata
) -> Callable[[Check], None]:
    """Run a check with a client of the app served under ``/trail``, each way in turn."""
    app = create_app(file_metadata)
    if request.param == "mount":
        transport = httpx.ASGITransport(Starlette(routes=[Mount("/trail", app=app)]))
    else:
        transport = httpx.ASGITransport(app, root_path="/trail")

    def run(check: Check) -> None:
        async def with_client() -> None:
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                await check(c)

        asyncio.run(with_client())

    return run


@pytest.mark.parametrize("blob_store", ["local"], indirect=True)
def test_errors_are_in_mlflows_shape(under_prefix: Callable[[Check], None]) -> None:
    async def check(c: httpx.AsyncClient) -> None:
        # One raised by a route, one by routing (no such path) and one by the guard on the
        # request's headers (a body that is not JSON).
        missing = await c.get(f"{MLFLOW}/experiments/get", params={"experiment_id": "404"})
        assert missing.status_code == 404, missing.text
        assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", missing.text
        nowhere = await c.get(f"{MLFLOW}/no-such-endpoint")
        assert nowhere.status_code == 404, nowhere.text
        assert nowhere.json()["error_code"] == "ENDPOINT_NOT_FOUND", nowhere.text
        text = await c.post(
            f"{MLFLOW}/runs/create", content=b"x", headers={"content-type": "text/plain"}
        )
        assert text.status_code == 415, text.text
        assert "error_code" in text.json(), text.text

    under_prefix(check)


@pytest.mark.parametrize("blob_store", ["local"], indirect=True)
def test_files_of_any_type_upload_through_the_proxy(under_prefix: Callable[[Check], None]) -> None:
    data = bytes(range(256)) * 64

    async def check(c: httpx.AsyncClient) -> None:
        made = await c.post(f"{MLFLOW}/runs/create", json={"experiment_id": "0"})
        assert made.status_code == 200, made.text
        rid = made.json()["run"]["info"]["run_id"]
        url = f"{PROXY}/0/{rid}/artifacts/weights.bin"
        put = await c.put(url, content=data, headers={"content-type": "application/octet-stream"})
        assert put.status_code == 200, put.text
        got = await c.get(url)
        assert got.status_code == 200, got.text
        assert got.content == data

    under_prefix(check)
