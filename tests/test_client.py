"""The client library against real ZeroMQ sockets: a small fake hub runs in a thread.

The fake hub is runhub's distribution side in miniature: an XPUB for ticks and a ROUTER with a
last-value cache for snapshots, building its payloads with ``aggregation.wire`` exactly as the
worker and the hub do. A tick's content depends only on (contract, index), so two fake hubs
publish the same exchange snapshots under their own seq numbers, as two real hubs would.
"""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
from vnpy.trader.object import TickData

from aggregation import wire
from aggregation.client import HubAddress, HubClient, Subscription, normalise_topic
from aggregation.exchange_time import CHINA_TZ

ROOT = Path(__file__).resolve().parent.parent
CHINA = CHINA_TZ
# 2026-01-05 09:00:00 Asia/Shanghai.
BASE_NS = 1_767_574_800_000_000_000
SYMBOLS = ("rb2601.SHFE", "rb2605.SHFE", "ag2606.SHFE", "IF2601.CFFEX", "a2605.DCE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tick_time(i: int) -> int:
    return BASE_NS + i * 500_000_000


def body(vt_symbol: str, i: int) -> bytes:
    """The worker's body of the i-th snapshot of a contract (a map16 of vn.py fields)."""
    symbol, exchange = vt_symbol.rsplit(".", 1)
    fields: dict[str, Any] = {
        "v": wire.SCHEMA_VERSION,
        "symbol": symbol,
        "exchange": exchange,
        "name": symbol,
        "datetime": tick_time(i),
    }
    for name in wire.NUMBER_FIELDS:
        fields[name] = 0.0
    fields.update(
        volume=100.0 + i,
        turnover=3_500_000.0 + i,
        open_interest=5_000.0,
        last_price=3500.0 + i,
        last_volume=1.0,
        bid_price_1=3499.0 + i,
        ask_price_1=3501.0 + i,
        bid_volume_1=10.0,
        ask_volume_1=12.0,
    )
    fields["localtime"] = None
    fields["recv_ns"] = tick_time(i) + 1_000_000
    packed: bytes = msgpack.packb(fields)
    return packed


class FakeHub:
    """An XPUB and a snapshot ROUTER on free ports, served by a thread.

    ``publish`` queues a tick for the thread, which numbers it (``seq`` per topic, from
    ``first_seq``, or the ``seq`` given), caches it and sends it. ``auto`` publishes the
    next tick of each of those contracts in turn every ``interval`` seconds. The snapshot
    answer waits ``snapshot_delay`` seconds while publishing goes on, as a busy hub would.
    """

    def __init__(
        self,
        source: str = "sim-a",
        *,
        first_seq: int = 1,
        snapshot: bool = True,
        snapshot_delay: float = 0.0,
        ports: tuple[int, int] | None = None,
        preload: Sequence[tuple[str, int]] = (),
        auto: Sequence[str] = (),
        interval: float = 0.001,
    ) -> None:
        self.suffix = wire.source_suffix(source)
        self.first_seq = first_seq
        self.snapshot_delay = snapshot_delay
        self.auto = list(auto)
        self.interval = interval
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.seqs: dict[bytes, int] = {}
        self.cache: dict[bytes, bytes] = {}
        self.next_index: dict[str, int] = {}
        self.published = 0
        self.subscriptions: set[bytes] = set()
        self.changed = threading.Condition()
        self.commands: queue.Queue[tuple[str, int, int | None]] = queue.Queue()
        self.stopping = threading.Event()

        self.xpub: zmq.Socket[bytes] = self.ctx.socket(zmq.XPUB)
        self.xpub.setsockopt(zmq.LINGER, 0)
        self.xpub.setsockopt(zmq.SNDHWM, 0)
        self.xpub.setsockopt(zmq.XPUB_VERBOSE, 1)
        for vt_symbol, i in preload:
            self._publish(vt_symbol, i, None)
        pub_port, snapshot_port = ports or (free_port(), free_port())
        self.xpub.bind(f"tcp://127.0.0.1:{pub_port}")
        self.router: zmq.Socket[bytes] | None = None
        if snapshot:
            self.router = self.ctx.socket(zmq.ROUTER)
            self.router.setsockopt(zmq.LINGER, 0)
            self.router.setsockopt(zmq.SNDHWM, 0)
            self.router.bind(f"tcp://127.0.0.1:{snapshot_port}")
        self.ports = (pub_port, snapshot_port)
        self.address = HubAddress(
            f"tcp://127.0.0.1:{pub_port}", f"tcp://127.0.0.1:{snapshot_port}" if snapshot else None
        )
        self.thread = threading.Thread(target=self._run, name=f"fake-hub-{source}", daemon=True)
        self.thread.start()

    # -- called from the test --------------------------------------------------------------

    def publish(self, vt_symbol: str, i: int, *, seq: int | None = None) -> None:
        self.commands.put((vt_symbol, i, seq))

    def wait_subscribed(self, prefix: str, timeout: float = 5.0) -> None:
        with self.changed:
            ok = self.changed.wait_for(lambda: prefix.encode() in self.subscriptions, timeout)
        assert ok, f"the fake hub never saw a subscription to {prefix!r}"

    def wait_published(self, count: int, timeout: float = 5.0) -> None:
        with self.changed:
            ok = self.changed.wait_for(lambda: self.published >= count, timeout)
        assert ok, f"the fake hub published {self.published} ticks, not {count}"

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.xpub.close(linger=0)
        if self.router is not None:
            self.router.close(linger=0)
        self.ctx.term()

    # -- the hub's thread ------------------------------------------------------------------

    def _publish(self, vt_symbol: str, i: int, seq: int | None) -> None:
        topic = wire.topic_for(vt_symbol)
        if seq is None:
            seq = self.seqs.get(topic, self.first_seq - 1) + 1
        self.seqs[topic] = seq
        payload = wire.extend_body(body(vt_symbol, i), self.suffix, seq)
        self.cache[topic] = payload
        self.xpub.send_multipart([topic, payload])
        with self.changed:
            self.published += 1
            self.changed.notify_all()

    def _answer(self, identity: bytes, prefix: bytes) -> None:
        assert self.router is not None
        entries = [(t, p) for t, p in sorted(self.cache.items()) if t.startswith(prefix)]
        for topic, payload in entries:
            self.router.send_multipart([identity, topic, payload])
        self.router.send_multipart([identity, b"END", msgpack.packb(len(entries))])

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.xpub, zmq.POLLIN)
        if self.router is not None:
            poller.register(self.router, zmq.POLLIN)
        requests: list[tuple[float, bytes, bytes]] = []
        next_auto = time.monotonic()
        turn = 0
        while not self.stopping.is_set():
            events = dict(poller.poll(1))
            if self.xpub in events:
                message = self.xpub.recv()
                if message[:1] == b"\x01":
                    with self.changed:
                        self.subscriptions.add(message[1:])
                        self.changed.notify_all()
            if self.router is not None and self.router in events:
                identity, command, prefix = self.router.recv_multipart()
                assert command == b"SNAP"
                requests.append((time.monotonic() + self.snapshot_delay, identity, prefix))
            while True:
                try:
                    vt_symbol, i, seq = self.commands.get_nowait()
                except queue.Empty:
                    break
                self._publish(vt_symbol, i, seq)
            now = time.monotonic()
            while self.auto and now >= next_auto:
                vt_symbol = self.auto[turn % len(self.auto)]
                turn += 1
                i = self.next_index[vt_symbol] = self.next_index.get(vt_symbol, 0) + 1
                self._publish(vt_symbol, i, None)
                next_auto += self.interval
            for request in [r for r in requests if now >= r[0]]:
                requests.remove(request)
                self._answer(request[1], request[2])


@pytest.fixture
def make_hub() -> Iterator[Callable[..., FakeHub]]:
    hubs: list[FakeHub] = []

    def make(*args: Any, **kwargs: Any) -> FakeHub:
        hub = FakeHub(*args, **kwargs)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        if not hub.stopping.is_set():
            hub.stop()


def take(client: HubClient[dict[str, Any]], count: int, timeout: float = 3.0) -> list[dict[str, Any]]:
    ticks: list[dict[str, Any]] = []
    for _ in range(count):
        tick = client.recv(timeout)
        assert tick is not None, f"only {len(ticks)} of {count} ticks came: {client.stats()}"
        ticks.append(tick)
    return ticks


def vt(tick: dict[str, Any]) -> str:
    return f"{tick['symbol']}.{tick['exchange']}"


def index_of(tick: dict[str, Any]) -> int:
    return int(tick["last_price"] - 3500)


# -- subscriptions ---------------------------------------------------------------------------


def test_it_turns_symbols_products_and_prefixes_into_topic_prefixes() -> None:
    assert normalise_topic("rb2601.SHFE") == "tick.rb2601.SHFE"
    assert normalise_topic("tick.rb2601.SHFE") == "tick.rb2601.SHFE"
    assert normalise_topic("rb") == "tick.rb"
    assert normalise_topic("") == normalise_topic("tick") == normalise_topic("tick.") == "tick."
    assert Subscription.parse(["rb", "rb2601.SHFE", "tick.rb2605"]).prefixes == (b"tick.rb",)
    assert Subscription.parse(["au", ""]).prefixes == (b"tick.",)
    with pytest.raises(ValueError, match="no topics"):
        Subscription.parse([])
    with pytest.raises(ValueError, match="space"):
        Subscription.parse(["rb 2601"])
    with pytest.raises(ValueError, match="not a ZeroMQ endpoint"):
        HubAddress("127.0.0.1:5555")
    with pytest.raises(ValueError, match="cannot connect to tcp://localhost"):
        HubClient(HubAddress("tcp://localhost"), ["rb"])


def test_a_product_code_means_that_product_only_and_a_raw_prefix_means_any_match() -> None:
    product = Subscription.parse(["a"])
    assert product.wants(b"tick.a2605.DCE")
    assert not product.wants(b"tick.ag2606.SHFE")
    assert Subscription.parse(["tick.a"]).wants(b"tick.ag2606.SHFE")


@pytest.mark.parametrize(
    ("topics", "expected"),
    [
        (["rb2601.SHFE"], {"rb2601.SHFE"}),
        (["rb"], {"rb2601.SHFE", "rb2605.SHFE"}),
        (["a", "IF2601.CFFEX"], {"a2605.DCE", "IF2601.CFFEX"}),
        ([""], set(SYMBOLS)),
    ],
)
def test_it_delivers_the_subscribed_contracts_only_from_snapshot_and_live(
    make_hub: Callable[..., FakeHub], topics: list[str], expected: set[str]
) -> None:
    hub = make_hub(preload=[(s, 1) for s in SYMBOLS])
    with HubClient(hub.address, topics) as client:
        snapshot = take(client, len(expected))
        for prefix in client.subscription.prefixes:
            hub.wait_subscribed(prefix.decode())
        for vt_symbol in SYMBOLS:
            hub.publish(vt_symbol, 2)
        live = take(client, len(expected))
        assert client.recv(0.2) is None
    assert sorted((vt(t), index_of(t)) for t in snapshot) == [(s, 1) for s in sorted(expected)]
    assert sorted((vt(t), index_of(t)) for t in live) == [(s, 2) for s in sorted(expected)]


# -- snapshot, then live ---------------------------------------------------------------------


def test_a_late_joiner_gets_the_snapshot_then_live_with_no_gap_and_no_duplicate(
    make_hub: Callable[..., FakeHub],
) -> None:
    contracts = SYMBOLS[:3]
    # The hub answers the snapshot 30 ms late while it goes on publishing, so live ticks the
    # snapshot already covers are certainly queued in the client: they must be dropped.
    hub = make_hub(auto=contracts, snapshot_delay=0.03)
    hub.wait_published(60)
    with HubClient(hub.address, [""]) as client:
        ticks = take(client, 300)
        stats = client.stats()
    assert {vt(t) for t in ticks[:3]} == set(contracts), "the snapshot did not come first"
    for vt_symbol in contracts:
        seqs = [t["seq"] for t in ticks if vt(t) == vt_symbol]
        assert seqs[0] > 1, "the client did not join mid-stream"
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"{vt_symbol}: {seqs}"
    assert stats["snapshot_ticks"] == 3
    assert stats["stale_dropped"] > 0
    # One hub: nothing reaches the cross-hub filter out of order, the seq check drops it first.
    assert (stats["late"], stats["duplicates"], stats["gaps"]) == (0, 0, 0)


def test_it_goes_on_with_live_ticks_when_no_snapshot_service_answers(
    make_hub: Callable[..., FakeHub],
) -> None:
    hub = make_hub(snapshot=False)
    nobody = HubAddress(hub.address.pub, f"tcp://127.0.0.1:{free_port()}")
    with HubClient(nobody, ["rb2601.SHFE"], snapshot_timeout=0.3) as client:
        hub.wait_subscribed("tick.rb2601.SHFE")
        hub.publish("rb2601.SHFE", 1)
        started = time.monotonic()
        [tick] = take(client, 1)
        assert time.monotonic() - started >= 0.25
        assert client.snapshot_timeouts == 1
    assert tick["seq"] == 1


# -- sequence ------------------------------------------------------------------------------


def test_it_counts_and_reports_gaps_in_seq(make_hub: Callable[..., FakeHub]) -> None:
    hub = make_hub(snapshot=False)
    reported: list[tuple[HubAddress, str, int, int]] = []
    with HubClient(hub.address, ["rb2601.SHFE"], on_gap=lambda *gap: reported.append(gap)) as client:
        hub.wait_subscribed("tick.rb2601.SHFE")
        for i, seq in enumerate([1, 2, 3, 7, 8, 20], start=1):
            hub.publish("rb2601.SHFE", i, seq=seq)
        ticks = take(client, 6)
    assert [t["seq"] for t in ticks] == [1, 2, 3, 7, 8, 20]
    assert client.gaps == 3 + 11
    assert reported == [(hub.address, "tick.rb2601.SHFE", 4, 7), (hub.address, "tick.rb2601.SHFE", 9, 20)]


def test_it_follows_a_hub_whose_seq_starts_again_and_drops_older_ticks(
    make_hub: Callable[..., FakeHub],
) -> None:
    hub = make_hub(snapshot=False)
    with HubClient(hub.address, ["rb2601.SHFE"]) as client:
        hub.wait_subscribed("tick.rb2601.SHFE")
        hub.publish("rb2601.SHFE", 1, seq=500)
        hub.publish("rb2601.SHFE", 2, seq=501)
        hub.publish("rb2601.SHFE", 1, seq=499)  # older: already superseded
        hub.publish("rb2601.SHFE", 3, seq=1)  # newer exchange time: the hub restarted
        hub.publish("rb2601.SHFE", 4, seq=2)
        ticks = take(client, 4)
        assert client.recv(0.1) is None
    assert [(index_of(t), t["seq"]) for t in ticks] == [(1, 500), (2, 501), (3, 1), (4, 2)]
    assert (client.restarts, client.stale_dropped, client.gaps) == (1, 1, 0)
    assert (client.late, client.duplicates) == (0, 0), "the seq check should have dropped it first"


def test_it_reconnects_to_a_restarted_hub_and_takes_its_new_snapshot(
    make_hub: Callable[..., FakeHub],
) -> None:
    first = make_hub(preload=[("rb2601.SHFE", 1)])
    with HubClient(first.address, ["rb"]) as client:
        take(client, 1)
        first.wait_subscribed("tick.rb")
        first.publish("rb2601.SHFE", 2)
        take(client, 1)
        first.stop()
        second = make_hub(ports=first.ports, preload=[("rb2601.SHFE", 3)])
        [snapshot] = take(client, 1)
        second.wait_subscribed("tick.rb")
        second.publish("rb2601.SHFE", 4)
        [live] = take(client, 1)
    assert (index_of(snapshot), snapshot["seq"]) == (3, 1)
    assert (index_of(live), live["seq"]) == (4, 2)
    assert (client.snapshots, client.restarts, client.gaps) == (2, 1, 0)


# -- several hubs --------------------------------------------------------------------------


def test_two_hubs_with_their_own_seqs_deliver_each_snapshot_and_tick_once(
    make_hub: Callable[..., FakeHub],
) -> None:
    contracts = SYMBOLS[:3]
    preload = [(s, i) for i in (1, 2, 3) for s in contracts]
    alpha = make_hub("sim-a", first_seq=100, preload=preload)
    beta = make_hub("sim-b", first_seq=7, preload=preload)
    with HubClient([alpha.address, beta.address], [""]) as client:
        snapshot: list[dict[str, Any]] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            tick = client.recv(0.05)
            if tick is not None:
                snapshot.append(tick)
            elif client.snapshots == 2:
                break
        assert client.snapshots == 2
        for hub in (alpha, beta):
            hub.wait_subscribed("tick.")
            for vt_symbol in contracts:
                hub.publish(vt_symbol, 4)
        live = take(client, 3)
        while client.duplicates < 6 and time.monotonic() < deadline:
            assert client.recv(0.05) is None
    assert sorted((vt(t), index_of(t)) for t in snapshot) == [(s, 3) for s in sorted(contracts)]
    assert sorted((vt(t), index_of(t)) for t in live) == [(s, 4) for s in sorted(contracts)]
    assert client.duplicates == 6
    assert client.gaps == 0


# -- vn.py objects -------------------------------------------------------------------------


def test_it_yields_vnpy_tick_data_when_asked(make_hub: Callable[..., FakeHub]) -> None:
    hub = make_hub("ctp-main", preload=[("rb2601.SHFE", 7)])
    with HubClient(hub.address, ["rb2601.SHFE"], as_tick_data=True) as client:
        tick = client.recv(3.0)
    assert isinstance(tick, TickData)
    assert tick.vt_symbol == "rb2601.SHFE"
    assert tick.datetime == datetime(2026, 1, 5, 9, 0, 3, 500_000, tzinfo=CHINA)
    assert tick.datetime.tzinfo == CHINA
    assert (tick.last_price, tick.bid_price_1, tick.ask_price_1, tick.volume) == (3507, 3506, 3508, 107)
    assert tick.gateway_name == "ctp-main"


# -- command line and example ------------------------------------------------------------------


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=15, check=False
    )


def test_the_cli_prints_count_lines_of_the_subscribed_contracts(make_hub: Callable[..., FakeHub]) -> None:
    hub = make_hub(auto=SYMBOLS[:3])
    assert hub.address.snapshot is not None
    address = ["--pub", hub.address.pub, "--snapshot", hub.address.snapshot]
    done = run("-m", "aggregation.client", "rb", *address, "--count", "5")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 5
    assert all(" rb2601.SHFE " in line or " rb2605.SHFE " in line for line in lines), lines
    assert "delivered=5" in done.stderr

    done = run(
        "-m", "aggregation.client", "ag2606.SHFE", "--hub", ",".join(address[1::2]), "--count", "3", "--json"
    )
    assert done.returncode == 0, done.stderr
    ticks = [json.loads(line) for line in done.stdout.splitlines()]
    assert [t["symbol"] for t in ticks] == ["ag2606"] * 3
    assert [t["seq"] for t in ticks] == list(range(ticks[0]["seq"], ticks[0]["seq"] + 3))


def test_the_cli_says_how_to_write_a_wrong_address() -> None:
    done = run("-m", "aggregation.client", "--pub", "127.0.0.1:5555", "--count", "1")
    assert done.returncode == 2
    assert "not a ZeroMQ endpoint" in done.stderr
    assert "tcp://127.0.0.1:5555" in done.stderr


def test_the_example_strategy_prints_mid_and_spread(make_hub: Callable[..., FakeHub]) -> None:
    hub = make_hub(auto=SYMBOLS[:3])
    assert hub.address.snapshot is not None
    done = run(
        "-m",
        "examples.strategy",
        "rb",
        "--pub",
        hub.address.pub,
        "--snapshot",
        hub.address.snapshot,
        "--count",
        "4",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4
    assert all("mid" in line and "spread 2" in line for line in lines), lines
