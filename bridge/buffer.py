"""The bounded hand-off between the bridge's hub reader (a thread) and its NATS publisher
(the asyncio loop): a deque under a lock, with a wake-up for the loop."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(slots=True)
class Entry:
    """One message for JetStream, and where it came from on the hub."""

    subject: str
    payload: bytes
    headers: dict[str, str]
    topic: str
    epoch: int
    seq: int
    recv_ns: int


class Handoff:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: deque[Entry] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop, wake: asyncio.Event) -> None:
        self._loop, self._wake = loop, wake

    def put(self, entry: Entry) -> bool:
        """False when full (the caller lets go of the hub and resumes later)."""
        with self._lock:
            if len(self._items) >= self.capacity:
                return False
            was_empty = not self._items
            self._items.append(entry)
        if was_empty and self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)
        return True

    def take(self, limit: int) -> list[Entry]:
        with self._lock:
            count = min(limit, len(self._items))
            return [self._items.popleft() for _ in range(count)]

    def oldest_recv_ns(self) -> int | None:
        with self._lock:
            return self._items[0].recv_ns if self._items else None

    def __len__(self) -> int:
        return len(self._items)
