"""The SDK under test, in each mode: embedded SQLite, embedded PostgreSQL, HTTP to a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import modeltrail as mt
from conftest import ServerProcess, _empty  # the root conftest: fixtures shared by every test
from modeltrail.services.metadata import Metadata


@pytest.fixture(scope="session")
def shared_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, Metadata]]:
    """One real server process for the HTTP mode of the suite, emptied before each test
    (starting a process per test would cost more than the tests)."""
    directory = tmp_path_factory.mktemp("sdk-server")
    url = f"sqlite:///{directory / 'server.db'}"
    proc = ServerProcess(url, cwd=directory)
    meta = Metadata.open(url)
    yield proc, meta
    meta.close()
    proc.stop()


@pytest.fixture(params=["sqlite", "postgresql", "http"])
def trail(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[mt.Trail]:
    """A client in each mode, working in an empty directory (spool and hash cache live there)."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "MODELTRAIL_URL",
        "MODELTRAIL_RUN",
        "MODELTRAIL_TRIGGER",
        "MODELTRAIL_SPOOL",
        "MODELTRAIL_ON_UNREACHABLE",
        "GITHUB_ACTIONS",
        "GITLAB_CI",
        "JENKINS_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    if request.param == "sqlite":
        target = f"sqlite:///{tmp_path / 'sdk.db'}"
    elif request.param == "postgresql":
        _empty(request.getfixturevalue("postgres_metadata"))
        target = request.getfixturevalue("postgres_url")
    else:
        proc, meta = request.getfixturevalue("shared_server")
        _empty(meta)
        target = proc.url
    client = mt.connect(target, on_unreachable="raise")
    yield client
    client.close()


class Store:
    """Reads what the SDK wrote, straight from the API."""

    def __init__(self, trail: mt.Trail) -> None:
        self.conn = trail.conn

    def get(self, path: str, **params) -> dict:
        return self.conn.get(f"/api/v1/{path}", **params)

    def all(self, plural: str, *filters: str) -> list[dict]:
        return self.get(plural, filter=list(filters), limit=1000, sort="createTime")["items"]


@pytest.fixture
def store(trail: mt.Trail) -> Store:
    return Store(trail)
