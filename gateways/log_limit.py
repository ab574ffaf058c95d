"""Keeps a gateway that repeats itself from flooding the hub's logs.

The pinned CTP library, facing a front that accepts and closes connections, reconnects
and logs "行情服务器连接断开" hundreds of times a second. ``RepeatLimiter`` passes the first
``burst`` records of a kind (the message with its numbers blanked) per ``window`` seconds
and swallows the rest; the first record of the next window says how many were swallowed.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

_NUMBERS = re.compile(r"\d+")


class RepeatLimiter(logging.Filter):
    def __init__(
        self, burst: int = 5, window: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.clock = clock
        # kind → (window start, records seen in the window)
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, record.levelno, _NUMBERS.sub("N", record.getMessage()))
        now = self.clock()
        start, count = self._seen.get(kind, (now, 0))
        if now - start >= self.window:
            swallowed = count - self.burst
            if swallowed > 0:
                record.msg = (
                    f"{record.getMessage()} (and {swallowed} more like it in the last {self.window:.0f} s)"
                )
                record.args = None
            start, count = now, 0
        count += 1
        self._seen[kind] = (start, count)
        if len(self._seen) > 1000:
            self._seen.clear()  # many distinct messages: forget rather than grow
        return count <= self.burst
