"""``/api/3.0/mlflow/server-info``: what MLflow 3's client asks of the server before it sends a
large file in parts or uses a workspace (the real client's use of it is in
``tests/integration/test_mlflow_artifacts.py``)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from modeltrail.services.metadata import Metadata


def test_uploads_in_parts_are_offered_only_where_files_are_kept(
    client: TestClient, metadata: Metadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELTRAIL_ARTIFACTS_ROOT", raising=False)
    answer = client.get("/api/3.0/mlflow/server-info")
    assert answer.status_code == 200
    # An SQLite store keeps files next to its database; a PostgreSQL store opened without an
    # artifacts root keeps none, and a client told otherwise would start uploads that fail.
    keeps_files = metadata.db.dialect == "sqlite"
    assert answer.json() == {
        "store_type": None,
        "workspaces_enabled": False,
        "trace_archival_enabled": False,
        "multipart_uploads_enabled": keeps_files,
        "multipart_downloads_enabled": False,
        "presigned_upload_run_id_supported": False,
        "presigned_upload_model_id_supported": False,
        "features_enabled": {"gateway": False},
    }


def test_other_mlflow_3_paths_are_missing_in_mlflows_shape(client: TestClient) -> None:
    answer = client.get("/api/3.0/mlflow/traces/tr-1")
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
