"""The committed OpenAPI document, TypeScript client and UI bundle are never stale.

Fails when the API changed without `npm run regen` in web/, when web/ sources changed without a
rebuild, or when the committed bundle is not what the sources build to.
"""

from __future__ import annotations

import fcntl
import filecmp
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from conftest import ROOT

WEB = ROOT / "web"
UI = ROOT / "src" / "modeltrail" / "ui"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"web_{name}", WEB / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_openapi_document_is_current() -> None:
    fresh = _script("dump_openapi").openapi_document()
    committed = (WEB / "openapi.json").read_text(encoding="utf-8")
    assert json.loads(committed) == json.loads(fresh), (
        "the API changed: run `npm run regen` in web/"
    )
    assert committed == fresh


def test_entity_module_is_current() -> None:
    fresh = _script("dump_openapi").entities_module()
    committed = (WEB / "src" / "api" / "entities.ts").read_text(encoding="utf-8")
    assert committed == fresh, "the entity registry changed: run `npm run regen` in web/"


def test_bundle_was_built_from_the_committed_sources() -> None:
    stamp = json.loads((UI / "build-stamp.json").read_text())
    assert stamp["sources"] == _script("stamp").source_hash(), (
        "web/ changed: run `npm run build` in web/"
    )
    assert (UI / "index.html").is_file()


def _commands(scripts: dict[str, str], name: str) -> list[str]:
    """The commands `npm run NAME` runs, with the npm scripts it calls expanded."""
    commands = []
    for command in scripts[name].split("&&"):
        called = command.split()
        if called[:2] == ["npm", "run"]:
            commands += _commands(scripts, called[2])
        else:
            commands.append(command.strip())
    return commands


def test_regen_rewrites_everything_the_api_is_written_into() -> None:
    """`npm run regen` after an API change leaves no generated file stale: the API reference
    (tests/test_docs.py) as well as the OpenAPI document and the client."""
    scripts = json.loads((WEB / "package.json").read_text())["scripts"]
    regen = " ; ".join(_commands(scripts, "regen"))
    for writer in (
        "scripts/dump_openapi.py",
        "../scripts/gen_api_reference.py",
        "openapi-typescript",
    ):
        assert writer in regen, f"`npm run regen` does not run {writer}: {regen}"
    assert (
        WEB / "../scripts/gen_api_reference.py"
    ).resolve() == ROOT / "scripts" / "gen_api_reference.py"


@pytest.fixture(scope="module")
def node_modules() -> Iterator[Path]:
    """web/node_modules, installed with `npm ci` from the lock file when missing."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed; the build stamp above still guards the bundle")
    with (WEB / ".npm-ci.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers share web/
        if not (WEB / "node_modules" / ".bin" / "vite").exists():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=WEB,
                check=True,
                timeout=600,
                capture_output=True,
            )
        yield WEB / "node_modules"


def _bin(modules: Path, name: str) -> str:
    return str(modules / ".bin" / name)


def test_generated_client_is_current(node_modules: Path, tmp_path: Path) -> None:
    out = tmp_path / "schema.d.ts"
    subprocess.run(
        [_bin(node_modules, "openapi-typescript"), "openapi.json", "-o", str(out)],
        cwd=WEB,
        check=True,
        capture_output=True,
        timeout=120,
    )
    committed = (WEB / "src" / "api" / "schema.d.ts").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed, (
        "the client is stale: run `npm run regen` in web/"
    )


@pytest.mark.parametrize("project", ["tsconfig.json", "tsconfig.node.json"])
def test_sources_type_check(node_modules: Path, project: str) -> None:
    """``vite build`` drops the types without checking them: a merge that leaves a name
    undefined builds, and fails only in the browser, on the view that uses it."""
    checked = subprocess.run(
        [_bin(node_modules, "tsc"), "--noEmit", "-p", project],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, f"`npm run typecheck` in web/ fails:\n{checked.stdout[-4000:]}"


def test_committed_bundle_is_what_the_sources_build(node_modules: Path, tmp_path: Path) -> None:
    out = tmp_path / "ui"
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(
        [
            _bin(node_modules, "vite"),
            "build",
            "--outDir",
            str(out),
            "--emptyOutDir",
            "--logLevel",
            "error",
        ],
        cwd=WEB,
        check=True,
        capture_output=True,
        timeout=180,
        env=env,
    )
    built = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(UI).as_posix()
        for p in UI.rglob("*")
        if p.is_file() and p.name != "build-stamp.json"
    )
    assert built == committed, "the bundle is stale: run `npm run build` in web/"
    for name in built:
        assert filecmp.cmp(out / name, UI / name, shallow=False), (
            f"{name} differs: run `npm run build` in web/"
        )
