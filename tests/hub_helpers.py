"""A real ``TickHub`` on a thread of the test process, on real ZeroMQ sockets (for a hub as a
child process, see tests/hub_process.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import zmq

from aggregation.hub import TickHub
from tests.zmq_helpers import free_port


class RunningHub:
    """The hub polls on its own thread under ``lock``: a test that reads state the hub
    mutates while it polls (a source's ``last_status`` dict, say) takes the lock, as
    ``status_of`` does; a counter read without it is at worst one poll old."""

    def __init__(self, tmp_path: Path) -> None:
        self.pub_addr = f"tcp://127.0.0.1:{free_port()}"
        self.snap_addr = f"tcp://127.0.0.1:{free_port()}"
        self.ingest_addr = f"ipc://{tmp_path}/ingest.ipc"
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.hub = TickHub(
            self.ingest_addr,
            self.pub_addr.replace("127.0.0.1", "*"),
            self.snap_addr,
            f"ipc://{tmp_path}/control.ipc",
            ctx=self.ctx,
        )
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                self.hub.poll(10)

    def push(self) -> zmq.Socket[Any]:
        """A worker's PUSH into the hub's ingest."""
        sock: zmq.Socket[Any] = self.ctx.socket(zmq.PUSH)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.ingest_addr)
        return sock

    def sub(self, prefix: bytes = b"tick.") -> zmq.Socket[Any]:
        """A client's SUB to the hub's publisher."""
        sock: zmq.Socket[Any] = self.ctx.socket(zmq.SUB)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SUBSCRIBE, prefix)
        sock.connect(self.pub_addr)
        return sock

    def status_of(self, account: str) -> dict[str, Any]:
        """A copy of the last status the source sent (empty before its first)."""
        with self.lock:
            return dict(self.hub.source(account.encode()).last_status)

    def close(self) -> None:
        """Stops the thread, then the hub; the sockets ``push`` and ``sub`` made close with
        the context."""
        self.stop.set()
        self.thread.join(2)
        self.hub.close()
        self.ctx.destroy(linger=0)
