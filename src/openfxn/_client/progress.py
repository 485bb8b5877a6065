"""A plain progress bar for uploads, for ``progress=True``."""

from __future__ import annotations

import sys
from typing import TextIO

from openfxn._client.sansio.effects import ProgressCallback

WIDTH = 30


class TextBar:
    """Draws ``label [#####.....] 45% 1.2/2.6 MB`` on one line of a stream."""

    def __init__(self, label: str = "Uploading", stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr

    def __call__(self, sent: int, total: int) -> None:
        share = sent / total if total else 1.0
        filled = round(share * WIDTH)
        bar = "#" * filled + "." * (WIDTH - filled)
        megabytes = f"{sent / 1e6:.1f}/{total / 1e6:.1f} MB"
        end = "\n" if sent >= total else ""
        self.stream.write(f"\r{self.label} [{bar}] {share:4.0%} {megabytes}{end}")
        self.stream.flush()


def progress_callback(progress: bool | ProgressCallback) -> ProgressCallback | None:
    """The callback for a ``progress`` argument: a text bar for True."""
    if progress is True:
        return TextBar()
    return progress or None
