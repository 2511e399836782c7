"""The fenced code blocks of README.md and docs/*.md, and which of them run.

A block whose language is ``bash``, ``python`` or ``http`` (lines ``GET /api/v1/...``, each of
which must answer 2xx) is run by ``test_doc_blocks``. A
block that cannot run as written (it needs a cluster, starts a server that runs until it is
stopped, or is an outline with ``...`` in it) says so in the doc's source, in an HTML comment on
the line before its fence, which a reader of the rendered page does not see:

    <!-- illustrative: needs an Argo server -->
    ```bash
    modeltrail argo import --server https://argo-server:2746 ...
    ```

Every other block (``json``, ``yaml``, ``toml``, ``text``) shows data or output and is not run;
a block of commands must not hide among them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = {"bash", "python", "http"}
SHOWN = {"json", "yaml", "toml", "text"}
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\S*)\s*$")
MARK = re.compile(r"^\s*<!--\s*illustrative:(?P<reason>.*?)-->\s*$")
# The first word of a line that is a command, wherever it is shown.
COMMANDS = re.compile(r"^(\$ )?(modeltrail|pip|python3?|curl|npm|cd|export|helm|kubectl)\b")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    illustrative: str | None  # the reason given, or None for a block that runs

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


class DocError(ValueError):
    pass


def blocks(path: Path) -> list[Block]:
    """Every fenced block of the file, with the marker before it, if any."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        mark = MARK.match(lines[i])
        fence = FENCE.match(lines[i])
        if mark:
            nxt = FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
            if nxt is None:
                raise DocError(f"{path.name}:{i + 1}: a mark that is not right before a fence")
        if not fence:
            i += 1
            continue
        indent = len(fence.group("indent"))
        end = i + 1
        while end < len(lines) and not re.match(rf"^ {{{indent}}}```\s*$", lines[end]):
            end += 1
        if end == len(lines):
            raise DocError(f"{path.name}:{i + 1}: a fence that is never closed")
        previous = MARK.match(lines[i - 1]) if i else None
        body = "\n".join(line[indent:] for line in lines[i + 1 : end])
        found.append(
            Block(
                path=path,
                line=i + 1,
                lang=fence.group("lang"),
                text=body + "\n",
                illustrative=previous.group("reason").strip() if previous else None,
            )
        )
        i = end + 1
    return found


def problems(block: Block) -> list[str]:
    """What is wrong with how the block is written down, if anything."""
    wrong = []
    if block.lang not in RUNNABLE | SHOWN:
        wrong.append(
            f"name the block's language, one of {sorted(RUNNABLE | SHOWN)} (got {block.lang!r})"
        )
    if block.illustrative is not None:
        if block.lang not in RUNNABLE:
            wrong.append("only a block that would run can be marked illustrative")
        if len(block.illustrative.split()) < 3:
            wrong.append("an illustrative block says why it does not run, in a few words")
    if block.lang == "text":
        commands = [line for line in block.text.splitlines() if COMMANDS.match(line)]
        if commands:
            wrong.append(f"commands in a text block must be a bash block: {commands[0]!r}")
    return wrong
