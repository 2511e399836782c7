# ruff: noqa: F811 - pytest fixtures imported by name
"""Files through the SDK, in every mode: a model saved and loaded, a dataset uploaded and
downloaded, large files in parts, and reuse that checks the files are still there."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from sdk_fixtures import shared_server, store, trail  # noqa: F401 - fixtures
from sklearn.linear_model import LogisticRegression

import modeltrail as mt
from modeltrail.errors import NotFound
from modeltrail.sdk import files as transfer


@pytest.fixture
def files_trail(trail: mt.Trail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> mt.Trail:
    # A PostgreSQL store keeps its files where it is told (the others: next to the SQLite file).
    monkeypatch.delenv("MODELTRAIL_ARTIFACTS_ROOT", raising=False)
    if trail.conn.embedded and trail.target.startswith("postgresql"):
        monkeypatch.setenv("MODELTRAIL_ARTIFACTS_ROOT", str(tmp_path / "pg-files"))
    monkeypatch.setenv("MODELTRAIL_CACHE", str(tmp_path / "cache"))
    return trail


def _classifier() -> LogisticRegression:
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.9, 0.1], [0.1, 0.8]])
    return LogisticRegression().fit(x, [0, 1, 1, 0])


def test_a_model_is_saved_uploaded_and_loaded(files_trail: mt.Trail, store) -> None:
    clf = _classifier()
    with files_trail.run(experiment="e", pipeline="p") as run, run.step("train") as step:
        model = step.output(mt.model(clf, save=True, name="digits"))
    listed = files_trail.files(model)
    assert [f["path"] for f in listed] == ["model.joblib"]
    stored = store.get(f"artifacts/{model.id}")
    assert stored["attributes"]["format"] == "joblib"
    assert stored["attributes"]["sha256"] == listed[0]["sha256"]
    assert stored["attributes"]["size"] == listed[0]["size"]

    loaded = files_trail.load_model(model.id)
    sample = np.array([[0.95, 0.05], [0.05, 0.95]])
    assert loaded.predict(sample).tolist() == clf.predict(sample).tolist()
    assert files_trail.load_model("digits").predict(sample).tolist() == [1, 0]
    with pytest.raises(NotFound):
        files_trail.load_model("models:/nobody@champion")


def test_a_dataset_folder_is_uploaded_and_downloaded(files_trail: mt.Trail, tmp_path: Path) -> None:
    data = tmp_path / "digits"
    (data / "train").mkdir(parents=True)
    (data / "train" / "a.csv").write_text("x,y\n1,2\n")
    (data / "test.csv").write_bytes(os.urandom(100_000))
    with files_trail.run(experiment="e", pipeline="p") as run, run.step("prepare") as step:
        dataset = step.input(mt.dataset(data, upload=True))
    assert sorted(f["path"] for f in files_trail.files(dataset)) == ["test.csv", "train/a.csv"]

    out = files_trail.download(dataset, tmp_path / "copy")
    assert (out / "train" / "a.csv").read_text() == "x,y\n1,2\n"
    assert (out / "test.csv").read_bytes() == (data / "test.csv").read_bytes()
    one = files_trail.download(dataset, tmp_path / "one", path="test.csv")
    assert one == tmp_path / "one" / "test.csv"
    with pytest.raises(NotFound):
        files_trail.download(dataset, tmp_path / "none", path="nope.csv")
    # Read again by another step: the same artifact, nothing sent again.
    with files_trail.run(experiment="e", pipeline="p") as run, run.step("again") as step:
        again = step.input(mt.dataset(data, upload=True))
    assert again.id == dataset.id
    with pytest.raises(ValueError, match="path of a file or directory"):
        mt.dataset(None, upload=True)


def test_one_listing_serves_a_folder_and_the_whole_artifact(
    files_trail: mt.Trail, tmp_path: Path
) -> None:
    """``list_files`` is the one reader of an artifact's file list: the CLI, a completion's
    look-up and the client's own listing all go through it, with a folder or without."""
    data = tmp_path / "digits"
    (data / "train").mkdir(parents=True)
    (data / "train" / "a.csv").write_text("x,y\n1,2\n")
    (data / "test.csv").write_text("x,y\n")
    with files_trail.run(experiment="e", pipeline="p") as run, run.step("prepare") as step:
        dataset = step.input(mt.dataset(data, upload=True))
    conn = files_trail.conn
    every = transfer.list_files(conn, dataset.id)
    assert [f["path"] for f in every["items"]] == ["test.csv", "train/a.csv"]
    assert every["totalSize"] == 12
    folder = transfer.list_files(conn, dataset.id, prefix="train", verify=True)
    assert [f["path"] for f in folder["items"]] == ["train/a.csv"]
    assert folder["missing"] == []
    held = transfer._file_at(conn, dataset.id, "train/a.csv", folder["items"][0]["sha256"])
    assert held is not None and held["size"] == 8


def test_a_large_file_goes_in_parts(
    files_trail: mt.Trail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "MULTIPART_FROM", 1 << 20)
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(3 << 20))
    with files_trail.run(experiment="e", pipeline="p") as run, run.step("train") as step:
        model = step.output(mt.model(uri=weights, save=True, name="big"))
    [listed] = files_trail.files(model)
    assert listed["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    loaded = files_trail.load_model(model)
    assert Path(loaded).read_bytes() == weights.read_bytes()


def _blob_store(trail: mt.Trail, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    if trail.conn.embedded:
        meta = trail.conn._metadata
    else:
        meta = request.getfixturevalue("shared_server")[1]
    return meta.files.blobs


def test_reuse_runs_the_step_again_when_an_output_lost_its_file(
    files_trail: mt.Trail, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = tmp_path / "d.csv"
    data.write_text("1,2\n")
    clf = _classifier()

    def train() -> tuple[bool, mt.Artifact]:
        with files_trail.run(experiment="e", pipeline="p") as run, run.step("train") as step:
            step.input(mt.dataset(data))
            reused = step.cached()
            if reused is not None:
                return True, reused[0]
            return False, step.output(mt.model(clf, save=True, name="m"))

    ran, first = train()
    assert not ran
    ran, second = train()
    assert ran and second.id == first.id
    [held] = files_trail.files(first, verify=True)
    assert held["missing"] is False
    _blob_store(files_trail, request).delete(held["sha256"])
    assert files_trail.files(first, verify=True)[0]["missing"] is True
    ran, third = train()
    assert not ran  # the step ran again: its earlier output is no longer whole
    assert files_trail.load_model(third).predict([[1.0, 0.0]]).tolist() == [1]


def test_a_registered_model_is_loaded_by_its_alias(files_trail: mt.Trail) -> None:
    clf = _classifier()
    with files_trail.run(experiment="e", pipeline="p") as run, run.step("train") as step:
        model = step.output(mt.model(clf, save=True, name="digits"))
    conn = files_trail.conn
    conn.post("/api/v1/models", {"name": "digits-classifier"})
    conn.post("/api/v1/models/digits-classifier/versions", {"artifact": model.id})
    conn.request("PUT", "/api/v1/models/digits-classifier/aliases/champion", json={"version": 1})
    for ref in ("models:/digits-classifier@champion", "models:/digits-classifier/1"):
        loaded = mt.load_model(ref, target=files_trail.target)
        assert loaded.predict([[1.0, 0.0]]).tolist() == [1]
    with pytest.raises(NotFound, match="models:/digits-classifier@production"):
        files_trail.load_model("models:/digits-classifier@production")
