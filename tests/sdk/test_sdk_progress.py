"""The one byte progress bar of hashing and of transfers: drawn on the console it is given,
and, when asked, only where that console is a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from modeltrail.sdk.progress import byte_progress


def test_a_bar_counts_bytes_on_the_console_it_is_given() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with byte_progress(12 << 20, "uploading 1 file", console=console) as advance:
        assert advance is not None
        advance(6 << 20)
        console.file.flush()
    drawn = out.getvalue()
    assert "uploading 1 file" in drawn and "12.6 MB" in drawn


def test_only_on_a_terminal_nothing_is_drawn_into_a_pipe() -> None:
    out = io.StringIO()
    piped = Console(file=out, force_terminal=False)
    with byte_progress(12 << 20, "downloading", console=piped, only_on_terminal=True) as advance:
        assert advance is None
    assert out.getvalue() == ""
    with byte_progress(12 << 20, "hashing", console=piped) as advance:
        assert advance is not None
        advance(12 << 20)
