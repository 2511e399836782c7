"""A progress bar of bytes (hashing, uploading, downloading), drawn with Rich."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# Told the number of bytes each time some have been handled.
Advance = Callable[[int], None]


@contextmanager
def byte_progress(
    total: int,
    description: str,
    *,
    console: Console | None = None,
    only_on_terminal: bool = False,
) -> Iterator[Advance | None]:
    """A bar for ``total`` bytes on ``console`` (Rich's own when None), removed when done:
    what to tell of each byte handled. None (no bar) when ``only_on_terminal`` and the
    console is not a terminal, so that what is printed to a file or a pipe stays clean."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    if only_on_terminal and not bar.console.is_terminal:
        yield None
        return
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
