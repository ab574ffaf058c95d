"""The loopback world for tests: the simulated exchange and the loopback front as real
processes, pinned vn.py gateways in real worker processes, and the real ``TickHub`` (its
own thread) in between them and a client."""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from aggregation.hub import TickHub
from aggregation.wire import KIND_LOG, KIND_TICK, pack, split_tick_frame, unpack
from gateways.depthtee.build import main as build_tee
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
SSE_ALL = [f"{c['symbol']}.SSE" for c in CONTRACTS if c["exchange"] == "SSE"]
# (receive ns, account, topic, key, body) of one tick frame a worker pushed.
Tick = tuple[int, str, bytes, bytes, bytes]


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


def worker_spec(
    world: LoopbackWorld,
    account: str,
    gateway_type: str,
    ingest: str,
    control: str,
    subscriptions: list[str],
    password: str,
    **settings: Any,
) -> dict[str, Any]:
    """The spec ``python -m gateways.worker`` reads on stdin, for a login to ``world``'s front."""
    return {
        "account": account,
        "gateway_type": gateway_type,
        "settings": {
            "userID": account,
            "password": password,
            "brokerID": "9999",
            "mdAddress": world.md_address,
            "loopback": True,
            **settings,
        },
        "ingest": ingest,
        "control": control,
        "workdir": str(world.tmp / "flows" / account),
        "subscriptions": subscriptions,
        "contracts": CONTRACTS,
        "calendar": None,
        "max_skew": 60,
        "log_level": "INFO",
    }


def broker_spec(
    world: LoopbackWorld,
    hub: InProcessHub,
    account: str,
    gateway_type: str = "ctp",
    subscriptions: list[str] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    return worker_spec(
        world,
        account,
        gateway_type,
        hub.ingest_addr,
        hub.control_addr,
        subscriptions if subscriptions is not None else FUTURES,
        "pw-loop-secret",
        **settings,
    )


class LoopbackWorkers:
    """Real worker processes (``python -m gateways.worker``), one per account, logged in to one
    loopback front and pushing to one PULL socket here; a PUB here is their control socket.
    ``accounts`` maps each account to its flavour (``ctp`` subscribes to ``FUTURES``, ``sopt``
    to ``SSE_ALL``) and the environment switches it runs with."""

    # The depth paths' switches: a worker gets only those its test names, not the caller's.
    SWITCHES = ("MDHUB_DEPTH_TEE", "MDHUB_VNPY_TICKS")

    def __init__(
        self, world: LoopbackWorld, tmp: Path, accounts: dict[str, tuple[str, dict[str, str]]], password: str
    ) -> None:
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.ingest = f"ipc://{tmp}/ingest.ipc"
        self.control = f"ipc://{tmp}/control.ipc"
        self.pull = self.ctx.socket(zmq.PULL)
        self.pull.bind(self.ingest)
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.bind(self.control)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, list[str]] = defaultdict(list)
        clean = {k: v for k, v in os.environ.items() if k not in self.SWITCHES}
        for account, (flavour, env) in accounts.items():
            subscriptions = FUTURES if flavour == "ctp" else SSE_ALL
            spec = worker_spec(world, account, flavour, self.ingest, self.control, subscriptions, password)
            proc = subprocess.Popen(
                [sys.executable, "-m", "gateways.worker"],
                cwd=PROJECT,
                env=clean | env,
                stdin=subprocess.PIPE,
                stdout=(tmp / f"{account}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(spec).encode())
            proc.stdin.close()
            self.procs[account] = proc

    def read(self, seconds: float) -> list[Tick]:
        """The ticks of the next ``seconds``; logs are kept in ``self.logs``."""
        out = []
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if not self.pull.poll(int(left * 1000) + 1):
                continue
            parts = self.pull.recv_multipart()
            if parts[0][:1] == KIND_TICK:
                account, topic, key, body = split_tick_frame(parts[0])
                out.append((time.time_ns(), account.decode(), topic, key, body))
            elif parts[0] == KIND_LOG:
                self.logs[parts[1].decode()].append(unpack(parts[2])["msg"])
        return out

    def command(self, account: str, **command: Any) -> None:
        self.pub.send_multipart([account.encode(), pack(command)])

    def wait_logged_in(self, world: LoopbackWorld, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            connections = world.control(cmd="status")["connections"]
            ready = {c["user"] for c in connections if c["logged_in"] and c["subscribed"]}
            if ready >= set(self.procs):
                return
            self.read(0.3)  # the wait drains what the first workers in already push
        pytest.fail(f"workers not logged in: {world.control(cmd='status')}")

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.ctx.destroy(linger=0)


@contextmanager
def workers_on_loopback(
    tmp: Path,
    accounts: dict[str, tuple[str, dict[str, str]]],
    password: str,
    prepare: Callable[[LoopbackWorld], None] | None = None,
) -> Iterator[tuple[LoopbackWorld, LoopbackWorkers]]:
    """A loopback front (4 snapshots/s a contract, no replay) and ``accounts`` logged in to it;
    ``prepare`` sets the front up before any worker starts (per-user quirks)."""
    build_tee()  # idempotent: builds the loopback libraries too when they are not yet
    world = LoopbackWorld(tmp, rate=4.0, quirks={"replay": False})
    world.start()
    try:
        if prepare is not None:
            prepare(world)
        workers = LoopbackWorkers(world, tmp, accounts, password)
        try:
            workers.wait_logged_in(world)
            yield world, workers
        finally:
            workers.stop()
    finally:
        world.stop()


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
