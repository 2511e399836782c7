"""The collectors: each finds what it promises, from real files, repositories and objects."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import modeltrail as mt
from modeltrail.sdk.collect import environment, executable, files, frames, trigger
from modeltrail.sdk.collect import sklearn as sk


@pytest.fixture(autouse=True)
def _workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    executable.git_info.cache_clear()


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_script_in_a_git_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "remote", "add", "origin", "https://example.org/team/pipelines.git")
    script = repo / "pipeline" / "prepare.py"
    script.parent.mkdir()
    script.write_text("import sys\nprint('prepare')\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "first")
    commit = git(repo, "rev-parse", "HEAD")
    probe = (
        "import json, modeltrail.sdk.collect.executable as e\n"
        "info = e.of_script('prepare')\n"
        "print(json.dumps({'name': info.name, 'version': info.version, 'uri': info.uri,\n"
        "                  **info.annotations}))\n"
    )
    script.write_text(script.read_text() + probe)

    def collect() -> dict:
        env = {**os.environ, "PYTHONPATH": str(Path(executable.__file__).parents[3])}
        out = subprocess.run(
            [sys.executable, str(script), "--fast"],
            cwd=repo,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return json.loads(out.splitlines()[-1])

    info = collect()
    source = script.read_text()
    assert info["name"] == "prepare:prepare" and info["uri"] == "pipeline/prepare.py"
    assert (
        info["sha256"] == hashlib.sha256(source.encode()).hexdigest()
        and info["version"] == info["sha256"][:12]
    )
    assert (
        info["git.commit"] == commit and info["git.url"] == "https://example.org/team/pipelines.git"
    )
    assert info["git.dirty"] == "true"  # the probe is not committed
    git(repo, "commit", "-qam", "probe")
    info = collect()
    assert info["git.dirty"] == "false" and info["git.commit"] != commit


def test_function_source_hash_and_qualified_name() -> None:
    def train(x: int) -> int:
        return x + 1

    info = executable.of_function(train)
    assert (
        info.name == "test_sdk_collect.test_function_source_hash_and_qualified_name.<locals>.train"
    )
    assert (
        info.annotations["sha256"]
        == hashlib.sha256(b"    def train(x: int) -> int:\n        return x + 1\n").hexdigest()
    )
    assert info.annotations["path"] == __file__
    assert "pytest" in executable.command_line() or "py" in executable.command_line()


def test_environment_names_python_host_user_and_imported_packages() -> None:
    env = environment.environment()
    import platform

    assert env["env.python"] == platform.python_version()
    assert env["env.host"] and env["env.user"] and env["env.platform"]
    assert env["env.package.scikit-learn"] and env["env.package.numpy"] == np.__version__
    assert "env.package.tensorflow" not in env  # installed or not, never imported here


@pytest.mark.parametrize(
    ("env", "labels", "cause", "source", "details"),
    [
        (
            {"MODELTRAIL_TRIGGER": "data-change:s3://bucket/emnist"},
            {},
            "data change",
            "MODELTRAIL_TRIGGER",
            {"detail": "s3://bucket/emnist"},
        ),
        (
            {"MODELTRAIL_TRIGGER": '{"cause": "code change", "commit": "abc"}'},
            {},
            "code change",
            "MODELTRAIL_TRIGGER",
            {"commit": "abc"},
        ),
        (
            {},
            {
                "workflows.argoproj.io/cron-workflow": "nightly",
                "workflows.argoproj.io/workflow": "nightly-1",
            },
            "schedule",
            "argo-cron-workflow",
            {"cronWorkflow": "nightly", "workflow": "nightly-1"},
        ),
        (
            {"ARGO_CRON_WORKFLOW": "hourly"},
            {},
            "schedule",
            "argo-cron-workflow",
            {"cronWorkflow": "hourly"},
        ),
        (
            {},
            {"events.argoproj.io/sensor": "minio-sensor", "events.argoproj.io/trigger": "retrain"},
            "external",
            "argo-events-sensor",
            {"sensor": "minio-sensor", "trigger": "retrain"},
        ),
        (
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_SHA": "f00",
                "GITHUB_REPOSITORY": "org/repo",
            },
            {},
            "code change",
            "github-actions",
            {"event": "push", "commit": "f00", "repository": "https://github.com/org/repo"},
        ),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "schedule"},
            {},
            "schedule",
            "github-actions",
            {"event": "schedule", "repository": None},
        ),
        (
            {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "web", "CI_COMMIT_SHA": "b4r"},
            {},
            "manual",
            "gitlab-ci",
            {"event": "web", "commit": "b4r"},
        ),
        (
            {"JENKINS_URL": "http://ci", "BUILD_CAUSE": "TIMERTRIGGER", "BUILD_NUMBER": "7"},
            {},
            "schedule",
            "jenkins",
            {"event": "TIMERTRIGGER", "ciRun": "7"},
        ),
    ],
)
def test_trigger_from_the_environment(env, labels, cause, source, details) -> None:
    found = trigger.detect(env, labels)
    assert found is not None and (found.cause, found.source) == (cause, source)
    for key, value in details.items():
        assert found.details.get(key) == value


def test_no_announced_trigger_means_manual(tmp_path: Path) -> None:
    assert trigger.detect({}, {}) is None
    assert mt.Trigger.from_environment().cause == "manual" or os.environ.get("MODELTRAIL_TRIGGER")


def test_labels_file_of_the_downward_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    labels = tmp_path / "labels"
    labels.write_text('app="train"\nworkflows.argoproj.io/cron-workflow="weekly"\n')
    monkeypatch.setenv("MODELTRAIL_POD_LABELS", str(labels))
    assert trigger.read_labels()["workflows.argoproj.io/cron-workflow"] == "weekly"
    found = trigger.detect({}, None)
    assert (
        found is not None
        and found.cause == "schedule"
        and found.details["cronWorkflow"] == "weekly"
    )


def test_file_hash_streams_and_is_cached_by_path_mtime_and_size(tmp_path: Path) -> None:
    data = tmp_path / "big.bin"
    content = os.urandom(3 * files.CHUNK + 17)
    data.write_bytes(content)
    assert files.hash_file(data) == hashlib.sha256(content).hexdigest()
    cache = json.loads(files.cache_path().read_text())
    (key,) = cache
    assert key.startswith(str(data.resolve()))
    cache[key] = "cached"
    files.cache_path().write_text(json.dumps(cache))
    assert files.hash_file(data) == "cached"  # not read again
    data.write_bytes(content[:-1] + b"x")  # new content, new mtime
    assert files.hash_file(data) == hashlib.sha256(content[:-1] + b"x").hexdigest()
    assert (
        files.hash_file(data, progress=True, use_cache=False)
        == hashlib.sha256(content[:-1] + b"x").hexdigest()
    )


def test_directory_dataset(tmp_path: Path) -> None:
    root = tmp_path / "images"
    (root / "a").mkdir(parents=True)
    (root / "a" / "1.png").write_bytes(b"one")
    (root / "2.png").write_bytes(b"two!")
    first = files.describe_path(root)
    assert first["type"] == "Directory" and first["size"] == 7 and first["files"] == 2
    (root / "2.png").write_bytes(b"TWO!")
    assert files.describe_path(root)["sha256"] != first["sha256"]
    spec = mt.dataset(root, classes=["cat", "dog"])
    assert spec.name == "images" and spec.uri == str(root.resolve())
    assert spec.attributes["classes"] == ["cat", "dog"] and spec.annotations["classes"] == "2"


def test_dataframes_and_arrays() -> None:
    frame = pd.DataFrame({"pixel": [0.0, 1.5, 3.0], "label": ["a", "b", "c"]})
    described = frames.describe(frame)
    assert described["shape"] == [3, 2] and described["rows"] == 3
    assert described["columns"] == ["pixel", "label"]
    assert described["dtypes"]["pixel"] == "float64"
    assert frames.describe(frame.copy())["sha256"] == described["sha256"]
    changed = frame.copy()
    changed.loc[1, "pixel"] = 1.25
    assert frames.describe(changed)["sha256"] != described["sha256"]
    array = np.arange(12, dtype=np.int32).reshape(3, 4)
    described = frames.describe(array)
    assert described == {
        **described,
        "type": "ndarray",
        "shape": [3, 4],
        "dtype": "int32",
        "rows": 3,
    }
    assert frames.describe(np.asfortranarray(array))["sha256"] == described["sha256"]
    assert frames.describe(array.astype(np.int64))["sha256"] != described["sha256"]
    assert mt.dataset(frame, name="table").attributes["columns"] == ["pixel", "label"]


def test_scikit_learn_estimator() -> None:
    import sklearn

    x = np.random.default_rng(0).normal(size=(30, 5)).astype(np.float32)
    y = np.arange(30) % 3
    clf = LogisticRegression(C=0.3, max_iter=50).fit(x, y)
    described = sk.describe(clf, sample=x)
    assert described["type"] == "LogisticRegression"
    assert described["framework"] == {"name": "scikit-learn", "version": sklearn.__version__}
    assert (
        described["hyperParameters"]["C"] == 0.3 and described["hyperParameters"]["max_iter"] == 50
    )
    assert described["inputSchema"] == {"n_features": 5, "dtypes": "float32"}
    assert described["outputSchema"] == {"classes": [0, 1, 2]}
    forest = RandomForestClassifier(n_estimators=3).fit(pd.DataFrame(x, columns=list("abcde")), y)
    assert sk.describe(forest)["inputSchema"]["features"] == list("abcde")
    spec = mt.model(forest, hyperparameters={"learning-rate": 0.1})
    assert spec.kind == "model" and spec.name == "RandomForestClassifier"
    assert spec.attributes["hyperParameters"]["n_estimators"] == 3
    assert spec.attributes["hyperParameters"]["learning-rate"] == 0.1


def test_torch_is_optional() -> None:
    from modeltrail.sdk.collect import torch as th

    assert not th.is_module(object())
    if "torch" not in sys.modules:
        assert mt.model(object()).attributes == {"type": "object"}


def test_torch_module_described_when_torch_is_there(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch is not a dependency; a stand-in with its API shows what the collector reads."""
    import types

    from modeltrail.sdk.collect import torch as th

    class Parameter:
        def __init__(self, n: int, trainable: bool = True) -> None:
            self.n, self.requires_grad = n, trainable

        def numel(self) -> int:
            return self.n

    class Module:
        def parameters(self):
            return iter([Parameter(100), Parameter(10), Parameter(5, trainable=False)])

    class Net(Module):
        pass

    fake = types.ModuleType("torch")
    fake.__version__ = "2.9.0"
    fake.nn = types.SimpleNamespace(Module=Module)
    monkeypatch.setitem(sys.modules, "torch", fake)
    optimizer = types.SimpleNamespace(param_groups=[{"params": [], "lr": 0.01, "momentum": 0.9}])
    assert th.is_module(Net())
    spec = mt.model(Net(), optimizer=optimizer)
    assert spec.attributes["framework"] == {"name": "pytorch", "version": "2.9.0"}
    assert spec.attributes["parameters"] == 115 and spec.attributes["trainableParameters"] == 110
    assert spec.attributes["hyperParameters"] == {
        "optimizer": "SimpleNamespace",
        "lr": 0.01,
        "momentum": 0.9,
    }


def test_a_missing_file_is_said_and_refused_when_it_must_exist(tmp_path: Path) -> None:
    gone = tmp_path / "not-there.csv"
    with pytest.warns(mt.MissingFileWarning, match="not-there.csv does not exist"):
        spec = mt.dataset(gone)
    assert spec.attributes == {"type": "Missing"}
    with pytest.raises(FileNotFoundError, match="not-there.csv"):
        mt.dataset(gone, must_exist=True)
    gone.write_text("a,b\n")
    assert mt.dataset(gone, must_exist=True).attributes["type"] == "File"
