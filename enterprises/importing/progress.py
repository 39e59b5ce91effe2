from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """A one-line progress counter on a terminal; silent when output is a file or a pipe."""

    def __init__(self, label: str, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.label = label
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, rows: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        self.last = now
        rate = rows / max(now - self.started, 1e-6)
        self.stream.write(f"\r{self.label}: {rows:,} 行  {rate:,.0f} 行/秒 ")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
