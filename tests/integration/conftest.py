"""A real ``modeltrail server`` for MLflow's own client, on SQLite and on PostgreSQL, shared
by the modules that drive it (``server``, ``client``). Each module gets a server of its own."""

from __future__ import annotations

from collections.abc import Iterator

import mlflow
import pytest
from mlflow import MlflowClient

from conftest import ServerProcess, fresh_postgres_database


@pytest.fixture(scope="module")
def server_options() -> tuple[str, ...]:
    """What ``server`` is started with besides its store; a module that needs more (an admin
    token) overrides this fixture."""
    return ()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    server_options: tuple[str, ...],
) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("mlflow-server")
    if request.param == "sqlite":
        proc = ServerProcess(f"sqlite:///{tmp / 'store.db'}", *server_options, cwd=tmp)
        yield proc
        proc.stop()
        return
    # A server on PostgreSQL keeps files under --artifacts-root.
    with fresh_postgres_database("mlflow") as url:
        proc = ServerProcess(url, *server_options, "--artifacts-root", str(tmp / "files"), cwd=tmp)
        yield proc
        proc.stop()


@pytest.fixture
def client(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowClient]:
    """MLflow's client on ``server``, as a user's code sets it up (the tracking URI)."""
    # A server error would otherwise be retried for minutes before the test sees it.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    mlflow.set_tracking_uri(server.url)
    yield MlflowClient(server.url)
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
