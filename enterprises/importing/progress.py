from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 30


class Progress:
    """A progress bar on a terminal (share of the file read, rows, rows per second, time left);
    silent when output is a file or a pipe."""

    def __init__(
        self, label: str, stream: TextIO | None = None, done: Callable[[], float] | None = None
    ):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.label = label
        self.done_share = done
        self.started = time.monotonic()
        self.last = 0.0

    def line(self, rows: int, elapsed: float) -> str:
        rate = rows / max(elapsed, 1e-6)
        share = self.done_share() if self.done_share else None
        if share is None:
            return f"{self.label}: {rows:,} 行  {rate:,.0f} 行/秒"
        filled = int(share * WIDTH)
        left = elapsed * (1 - share) / share if share > 0 else 0
        bar = "█" * filled + "·" * (WIDTH - filled)
        return (
            f"{self.label} [{bar}] {share:4.0%}  {rows:,} 行  {rate:,.0f} 行/秒  "
            f"剩余约 {left:,.0f} 秒"
        )

    def __call__(self, rows: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        self.last = now
        self.stream.write("\r" + self.line(rows, now - self.started) + " ")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
