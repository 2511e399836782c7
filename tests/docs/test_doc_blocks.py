"""Every command and code block of README.md and docs/*.md runs as written, on a fresh store.

Each document gets a fresh directory (a copy of ``examples/`` in it, as in a checkout) and a
fresh server on an SQLite file. Its blocks run in order, in one shell session: what a block
exports and the directory it ends in carry over to the next, as when a reader types them one
after another. ``.venv/bin/`` holds the installed ``modeltrail`` and ``python``; its ``pip``
installs nothing but checks that what a doc installs is there (the test extra has it all).

Where a doc speaks of the default address, the block is run against the test's server:
``127.0.0.1:8080`` becomes the server's address, a line that starts a server in the background
(``modeltrail server &``) is left to the fixture, and the case study's model server gets a free
port (``run_all.py --port``). Nothing else is rewritten. A block that cannot run says why in the
doc (see ``blocks.py``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, SRC, ServerProcess, free_port
from docs import blocks

ALL = [b for path in blocks.DOCS for b in blocks.blocks(path)]
RUN = [b for b in ALL if b.lang in blocks.RUNNABLE and b.illustrative is None]
DOCS_THAT_RUN = sorted({b.path for b in RUN}, key=lambda p: (p.name != "README.md", p.name))

PIP_SHIM = '''\
"""pip for the docs' blocks: installs nothing, checks that what is asked for is installed."""
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from packaging.requirements import Requirement

root = {root!r}
args = sys.argv[1:]
if args[:1] != ["install"]:
    sys.exit(f"pip shim: only 'pip install' is expected in the docs, not {{args}}")
extras = tomllib.load(open(root + "/pyproject.toml", "rb"))["project"]["optional-dependencies"]
for arg in args[1:]:
    if arg.startswith("-") and arg != "-e":
        continue
    if arg == "-e":
        continue
    if arg.startswith("."):
        wanted = arg[arg.index("[") + 1 : -1].split(",") if "[" in arg else []
        missing = [e for e in wanted if e not in extras]
        if missing:
            sys.exit(f"pip shim: modeltrail has no extra {{missing}}")
        continue
    req = Requirement(arg)
    if req.name == "modeltrail":
        missing = [e for e in req.extras if e not in extras]
        if missing:
            sys.exit(f"pip shim: modeltrail has no extra {{missing}}")
        continue
    try:
        have = version(req.name)
    except PackageNotFoundError:
        sys.exit(f"pip shim: {{req.name}} is not installed in the test environment")
    if have not in req.specifier:
        sys.exit(f"pip shim: {{req.name}} {{have}} does not satisfy {{req}}")
print("pip shim: already installed:", " ".join(args[1:]))
'''


def test_every_block_is_written_down_so_that_it_can_be_checked() -> None:
    wrong = [f"{b.where}: {p}" for b in ALL for p in blocks.problems(b)]
    assert not wrong, "\n".join(wrong)
    assert len(RUN) >= 10, [b.where for b in RUN]


def test_a_mark_needs_a_block_and_a_reason(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- illustrative: needs a cluster of its own -->\n\ntext\n")
    with pytest.raises(blocks.DocError):
        blocks.blocks(doc)
    doc.write_text("<!-- illustrative: -->\n```bash\nmodeltrail flags\n```\n")
    (block,) = blocks.blocks(doc)
    assert block.illustrative == "" and blocks.problems(block)
    doc.write_text("```\nmodeltrail flags\n```\n```text\nmodeltrail flags\n```\n")
    assert all(blocks.problems(b) for b in blocks.blocks(doc))


class Session:
    """One reader's shell in a fresh directory, against a fresh server."""

    def __init__(self, home: Path, server: ServerProcess) -> None:
        self.home = home
        self.server = server
        self.state = home / ".state.sh"
        self.count = 0
        shutil.copytree(ROOT / "examples", home / "examples")
        bin_dir = home / ".venv" / "bin"
        bin_dir.mkdir(parents=True)
        python = shlex.quote(sys.executable)
        self._script(bin_dir / "modeltrail", f'exec {python} -m modeltrail "$@"')
        for name in ("python", "python3"):
            self._script(bin_dir / name, f'exec {python} "$@"')
        (home / ".pip_shim.py").write_text(PIP_SHIM.format(root=str(ROOT)))
        self._script(
            bin_dir / "pip",
            f'exec {python} {shlex.quote(str(home / ".pip_shim.py"))} "$@"',
        )
        keep = {k: v for k, v in os.environ.items() if not k.startswith("MODELTRAIL_")}
        self.env = {
            **keep,
            "HOME": str(home),
            "PATH": f"{bin_dir}{os.pathsep}{keep.get('PATH', '')}",
            "PYTHONPATH": str(SRC),
            "COLUMNS": "200",
            "NO_COLOR": "1",
        }

    @staticmethod
    def _script(path: Path, line: str) -> None:
        path.write_text(f"#!/bin/sh\n{line}\n")
        path.chmod(0o755)

    def adapt(self, text: str) -> str:
        """The few rewrites the module docstring names, and nothing else."""
        text = text.replace("127.0.0.1:8080", f"127.0.0.1:{self.server.port}")
        text = re.sub(
            r"^\s*modeltrail server\b[^\n&]*&[^\n]*$",
            ": # the test's fixture serves this store",
            text,
            flags=re.M,
        )
        return re.sub(r"\brun_all\.py\b", f"run_all.py --port {free_port()}", text)

    def shell(self, block: blocks.Block) -> subprocess.CompletedProcess[str]:
        self.count += 1
        if block.lang == "python":
            script = self.home / f".block-{self.count}.py"
            script.write_text(self.adapt(block.text))
            body = f"python {shlex.quote(str(script))}"
        else:
            body = self.adapt(block.text)
        wrapper = "\n".join(
            [
                "set -eo pipefail",
                f"[ -f {self.state} ] && source {self.state}",
                body,
                f'{{ export -p; echo cd "$(pwd)"; }} > {self.state}',
            ]
        )
        return subprocess.run(
            ["bash", "-c", wrapper],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def http(self, block: blocks.Block) -> list[str]:
        failed = []
        for line in block.text.splitlines():
            if not line.strip():
                continue
            method, target = line.split(maxsplit=1)
            answer = httpx.request(method, self.server.url + target, timeout=60)
            if answer.status_code >= 300:
                failed.append(f"{line} -> {answer.status_code} {answer.text[:500]}")
        return failed


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    home = tmp_path / "reader"
    home.mkdir()
    server = ServerProcess(f"sqlite:///{tmp_path / 'server.db'}", cwd=tmp_path)
    try:
        yield Session(home, server)
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize(
    "doc", DOCS_THAT_RUN, ids=[p.relative_to(ROOT).as_posix() for p in DOCS_THAT_RUN]
)
def test_the_blocks_of_a_doc_run_as_written(doc: Path, session: Session) -> None:
    for block in (b for b in RUN if b.path == doc):
        if block.lang == "http":
            failed = session.http(block)
            assert not failed, f"{block.where}:\n" + "\n".join(failed)
            continue
        result = session.shell(block)
        assert result.returncode == 0, (
            f"{block.where} failed ({result.returncode}):\n{block.text}\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
        )
