"""The loopback world for tests: the simulated exchange and the loopback front as real
processes, pinned vn.py gateways in real worker processes, and the real ``TickHub`` (its
own thread) in between them and a client."""

from __future__ import annotations

import json
import logging
import queue
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import zmq

from aggregation.hub import TickHub
from gateways.loopback.build import main as build_loopback
from gateways.loopback.front import send_control
from gateways.manager import ProcessManager
from gateways.simexchange import SNAP_TOPIC, contract_universe
from tests.zmq_helpers import free_port, wait_for

PROJECT = Path(__file__).resolve().parent.parent
CONTRACTS = [
    {"symbol": p.symbol, "exchange": p.exchange, "name": p.name, "pricetick": p.tick, "size": p.multiplier}
    | ({"product": "期权"} if p.exchange == "SSE" else {})
    for p in contract_universe(13)
]
SSE = next(f"{c['symbol']}.SSE" for c in CONTRACTS if c["exchange"] == "SSE")
FUTURES = [f"{c['symbol']}.{c['exchange']}" for c in CONTRACTS if c["exchange"] != "SSE"]


class LoopbackWorld:
    """``python -m gateways.simexchange serve`` and ``python -m gateways.loopback.front serve``."""

    def __init__(
        self,
        tmp_path: Path,
        rate: float = 4.0,
        clock_offset: float = 0.0,
        quirks: dict[str, Any] | None = None,
    ) -> None:
        self.tmp = tmp_path
        self.sim_addr = f"ipc://{tmp_path}/sim.ipc"
        self.sim_control = f"ipc://{tmp_path}/simctl.ipc"
        self.control_addr = f"ipc://{tmp_path}/loopctl.ipc"
        self.port = free_port()
        self.md_address = f"tcp://127.0.0.1:{self.port}"
        self.rate = rate
        self.clock_offset = clock_offset
        self.quirks = quirks or {}
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        build_loopback()  # idempotent: a no-op once ./dev setup has built the libraries
        py = sys.executable
        sim = ["-m", "gateways.simexchange", "serve", "--pub", self.sim_addr, "--control", self.sim_control]
        self.procs.append(self._spawn([py, *sim, "--rate", str(self.rate), "--seed", "7"], "sim.log"))
        front = [
            "-m",
            "gateways.loopback.front",
            "serve",
            "--listen",
            self.md_address,
            "--sim",
            self.sim_addr,
        ]
        options = ["--control", self.control_addr, "--clock-offset", str(self.clock_offset)]
        self.procs.append(
            self._spawn([py, *front, *options, "--quirks", json.dumps(self.quirks)], "front.log")
        )
        wait_for(lambda: self.control(cmd="status", timeout=0.5).get("ok"), timeout=15)

    def _spawn(self, argv: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / log_name).open("wb")
        return subprocess.Popen(argv, cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT)

    def control(self, timeout: float = 3.0, **request: Any) -> dict[str, Any]:
        return send_control(self.control_addr, timeout=timeout, **request)

    def front_log(self) -> str:
        return (self.tmp / "front.log").read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def broker_spec(
    world: LoopbackWorld,
    hub: InProcessHub,
    account: str,
    gateway_type: str = "ctp",
    subscriptions: list[str] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    return {
        "account": account,
        "gateway_type": gateway_type,
        "settings": {
            "userID": account,
            "password": "pw-loop-secret",
            "brokerID": "9999",
            "mdAddress": world.md_address,
            "loopback": True,
            **settings,
        },
        "ingest": hub.ingest_addr,
        "control": hub.control_addr,
        "workdir": str(world.tmp / "flows" / account),
        "subscriptions": subscriptions if subscriptions is not None else FUTURES,
        "contracts": CONTRACTS,
        "calendar": None,
        "max_skew": 60,
        "log_level": "INFO",
    }


class _ListHandler(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class InProcessHub(threading.Thread):
    """The real ``TickHub`` pumped on a thread of its own (it owns its sockets), and a
    client SUB reading its XPUB for everything (``tick.``)."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(daemon=True)
        self.ingest_addr = f"ipc://{tmp_path}/ingest.ipc"
        self.control_addr = f"ipc://{tmp_path}/control.ipc"
        self.pub_addr = f"tcp://127.0.0.1:{free_port()}"
        self.snapshot_addr = f"tcp://127.0.0.1:{free_port()}"
        self.ready = threading.Event()
        self.calls: queue.SimpleQueue[Callable[[TickHub], Any]] = queue.SimpleQueue()
        self.stopped = threading.Event()
        self.hub: TickHub | None = None
        self.manager = ProcessManager(grace=2.0)
        # The hub logs each worker record as mdhub.worker.<account>: keep them here.
        self.records: list[logging.LogRecord] = []
        self._handler = _ListHandler(self.records)
        logging.getLogger("mdhub.worker").addHandler(self._handler)
        logging.getLogger("mdhub.worker").setLevel(logging.INFO)

    def run(self) -> None:
        hub = self.hub = TickHub(
            ingest_addr=self.ingest_addr,
            pub_addr=self.pub_addr,
            snapshot_addr=self.snapshot_addr,
            control_addr=self.control_addr,
            ctx=zmq.Context.instance(),
        )
        self.ready.set()
        try:
            while not self.stopped.is_set():
                hub.poll(50)
                # Calls on the hub from the test, run here: its sockets belong to this thread.
                while not self.calls.empty():
                    self.calls.get()(hub)
        finally:
            hub.close()

    def __enter__(self) -> InProcessHub:
        self.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.manager.stop_all(timeout=4)
        self.stopped.set()
        self.join(5)
        logging.getLogger("mdhub.worker").removeHandler(self._handler)

    def status(self, account: str) -> dict[str, Any]:
        assert self.hub is not None
        source = self.hub.sources.get(account.encode())
        return dict(source.last_status) if source else {}

    def logs(self, account: str) -> list[str]:
        return [r.getMessage() for r in list(self.records) if r.name == f"mdhub.worker.{account}"]

    def wait_logged_in(self, account: str, timeout: float = 15.0) -> None:
        wait_for(lambda: self.status(account).get("logged_in"), timeout=timeout)


class Client:
    """A ZMQ SUB on the hub (``tick.``) and, optionally, on the exchange's own output."""

    def __init__(self, ctx: zmq.Context[Any], hub: InProcessHub, world: LoopbackWorld | None = None) -> None:
        self.sub = ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
        self.sub.connect(hub.pub_addr)
        self.truth_sub: zmq.Socket[Any] | None = None
        if world is not None:
            self.truth_sub = ctx.socket(zmq.SUB)
            self.truth_sub.setsockopt(zmq.LINGER, 0)
            self.truth_sub.setsockopt(zmq.SUBSCRIBE, SNAP_TOPIC)
            self.truth_sub.connect(world.sim_addr)
        self.got: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.truth: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def read(self, seconds: float, until: Any = None) -> None:
        poller = zmq.Poller()
        poller.register(self.sub, zmq.POLLIN)
        if self.truth_sub is not None:
            poller.register(self.truth_sub, zmq.POLLIN)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not (until and until()):
            for sock, _ in poller.poll(100):
                _, data = sock.recv_multipart()
                fields = msgpack.unpackb(data)
                vt_symbol = f"{fields['symbol']}.{fields['exchange']}"
                (self.truth if sock is self.truth_sub else self.got)[vt_symbol].append(fields)

    def stop_truth(self) -> None:
        if self.truth_sub is not None:
            self.truth_sub.close()
            self.truth_sub = None

    def count(self) -> int:
        return sum(map(len, self.got.values()))
