"""Who may read the stream (docs/access.md): a real TickHub with CURVE + ZAP on its XPUB, its
snapshot ROUTER and its recovery ROUTER; real clients over TCP with real keys."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from aggregation.access import ClientIdentity, Quotas, StreamAccess
from aggregation.client import HubAddress, HubClient
from aggregation.curve import CurveKeys, make_client
from aggregation.hub import TickHub
from aggregation.wire import tick_frame
from tests.zmq_helpers import free_port, tick_frames, wait_for

SERVER = CurveKeys.generate()
RB_KEYS = CurveKeys.generate()
ALL_KEYS = CurveKeys.generate()
RB = ClientIdentity("rb-desk", RB_KEYS.public, prefixes=("tick.rb",))
ALL = ClientIdentity("screen", ALL_KEYS.public, prefixes=("tick.",))


class SecureHub:
    """A TickHub with access control on its own thread, fed ticks of rb and au by a thread."""

    def __init__(self, tmp_path: Path, identities: list[ClientIdentity]) -> None:
        self.pub_addr = f"tcp://127.0.0.1:{free_port()}"
        self.snap_addr = f"tcp://127.0.0.1:{free_port()}"
        self.recovery_addr = f"tcp://127.0.0.1:{free_port()}"
        self.conflate_addr = f"tcp://127.0.0.1:{free_port()}"
        self.ingest_addr = f"ipc://{tmp_path}/ingest.ipc"
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.access = StreamAccess(SERVER, identities)
        self.hub = TickHub(
            self.ingest_addr,
            self.pub_addr,
            self.snap_addr,
            f"ipc://{tmp_path}/control.ipc",
            ctx=self.ctx,
            recovery_addr=self.recovery_addr,
            access=self.access,
            conflate_addr=self.conflate_addr,
        )
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, daemon=True), threading.Thread(target=self._feed)]
        for thread in self.threads:
            thread.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.hub.poll(10)

    def _feed(self) -> None:
        push: zmq.Socket[Any] = self.ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        push.connect(self.ingest_addr)
        i = 0
        while not self.stop.is_set():
            i += 1
            for vt_symbol in ("rb2601.SHFE", "au2602.SHFE"):
                push.send(tick_frame(b"sim-a", *tick_frames(vt_symbol, 1_000_000 * i, float(i))))
            time.sleep(0.005)
        push.close()

    @property
    def address(self) -> HubAddress:
        return HubAddress(
            self.pub_addr,
            self.snap_addr,
            self.recovery_addr,
            server_key=SERVER.public,
            conflate=self.conflate_addr,
        )

    def sub(
        self, keys: CurveKeys | None, prefix: bytes = b"tick.", server: str = SERVER.public
    ) -> zmq.Socket[Any]:
        sock: zmq.Socket[Any] = self.ctx.socket(zmq.SUB)
        sock.setsockopt(zmq.LINGER, 0)
        if keys is not None:
            make_client(sock, keys, server)
        sock.setsockopt(zmq.SUBSCRIBE, prefix)
        sock.connect(self.pub_addr)
        return sock

    def dealer(self, keys: CurveKeys, addr: str) -> zmq.Socket[Any]:
        sock: zmq.Socket[Any] = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        make_client(sock, keys, SERVER.public)
        sock.connect(addr)
        return sock

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(2)
        self.hub.close()
        self.ctx.destroy(linger=0)


@pytest.fixture
def secure(tmp_path: Path) -> Iterator[SecureHub]:
    hub = SecureHub(tmp_path, [RB, ALL])
    yield hub
    hub.close()


def topics_within(sock: zmq.Socket[Any], seconds: float) -> list[bytes]:
    got = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if sock.poll(int(left * 1000) + 1):
            got.append(sock.recv_multipart()[0])
    return got


def snapshot(sock: zmq.Socket[Any], prefix: bytes) -> list[list[bytes]]:
    sock.send_multipart([b"SNAP", prefix])
    replies = []
    while sock.poll(2000):
        frames = sock.recv_multipart()
        replies.append(frames)
        if frames[0] in (b"END", b"ERR"):
            return replies
    raise AssertionError("no snapshot reply")


def test_anonymous_and_wrong_key_clients_get_nothing(secure: SecureHub) -> None:
    anonymous = secure.sub(None)
    stranger = secure.sub(CurveKeys.generate())
    wrong_server = secure.sub(ALL_KEYS, server=CurveKeys.generate().public)
    good = secure.sub(ALL_KEYS)
    assert topics_within(good, 1.0), "the entitled client receives ticks"
    for sock in (anonymous, stranger, wrong_server):
        assert topics_within(sock, 0.3) == []
    policy = secure.access.policy
    assert policy.stats.refused_connections >= 1  # the stranger's key, asked again on each reconnect
    assert secure.access.watcher.handshake_failures >= 1
    assert [row["name"] for row in policy.clients()] == ["screen"]


def test_a_client_entitled_to_rb_gets_no_au_and_no_au_snapshot(secure: SecureHub) -> None:
    everything = secure.sub(RB_KEYS, b"tick.")  # wider than tick.rb: refused
    au = secure.sub(RB_KEYS, b"tick.au")
    rb = secure.sub(RB_KEYS, b"tick.rb")
    got = topics_within(rb, 1.0)
    assert got and set(got) == {b"tick.rb2601.SHFE"}
    assert topics_within(everything, 0.2) == [] and topics_within(au, 0.2) == []
    activity = secure.access.policy.activity["rb-desk"]
    assert activity.refused_subscriptions >= 2 and activity.subscriptions == {b"tick.rb"}

    dealer = secure.dealer(RB_KEYS, secure.snap_addr)
    refused = snapshot(dealer, b"tick.au")
    assert refused[-1][0] == b"ERR" and msgpack.unpackb(refused[-1][1])["error"] == "forbidden"
    assert len(refused) == 1, "not one au tick before the refusal"
    taken = snapshot(dealer, b"tick.rb")
    assert taken[-1][0] == b"END" and [frames[0] for frames in taken[:-1]] == [b"tick.rb2601.SHFE"]

    recovery = secure.dealer(RB_KEYS, secure.recovery_addr)
    for topic, expected in ((b"tick.au2602.SHFE", "forbidden"), (b"tick.rb2601.SHFE", "no_journal")):
        request = {"v": 1, "id": 1, "topic": topic, "epoch": secure.hub.epoch, "from": 1, "to": 2}
        recovery.send_multipart([b"FILL", msgpack.packb(request)])
        assert recovery.poll(2000)
        kind, body = recovery.recv_multipart()
        assert kind == b"ERR" and msgpack.unpackb(body)["error"] == expected


def test_the_client_library_reads_a_curve_hub_snapshot_then_live(secure: SecureHub) -> None:
    with HubClient(secure.address, ["rb"], curve=RB_KEYS, recover=False) as client:
        ticks = [client.recv(2.0) for _ in range(5)]
    assert all(t is not None and t["symbol"] == "rb2601" for t in ticks)
    assert client.snapshots == 1 and client.snapshot_refusals == 0
    with HubClient(secure.address, ["au"], curve=RB_KEYS, recover=False) as client:
        assert client.recv(0.5) is None
        assert client.snapshot_refusals == 1


def test_a_revoked_key_is_cut_off_within_a_second(secure: SecureHub) -> None:
    revoked = secure.sub(RB_KEYS, b"tick.rb")
    other = secure.sub(ALL_KEYS, b"tick.")
    assert topics_within(revoked, 0.5) and topics_within(other, 0.5)
    secure.access.update([replace(RB, enabled=False), ALL])
    started = time.monotonic()
    # Whatever was queued before the cut arrives; then nothing (reconnects are refused).
    wait_for(lambda: not topics_within(revoked, 0.2), timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert topics_within(revoked, 1.0) == []
    assert secure.access.policy.stats.cut_off >= 1
    # Others from that address were dropped too and are back by themselves.
    assert topics_within(other, 1.5)
    dealer = secure.dealer(RB_KEYS, secure.snap_addr)
    dealer.send_multipart([b"SNAP", b"tick.rb"])
    assert not dealer.poll(500), "a revoked key gets no answer at all: its handshake fails"


def test_quotas_hold(tmp_path: Path) -> None:
    tight = replace(ALL, quotas=Quotas(max_subscriptions=2, max_upstream=1, requests_per_second=2))
    hub = SecureHub(tmp_path, [tight])
    try:
        sock = hub.sub(ALL_KEYS, b"tick.rb")
        for prefix in (b"tick.au", b"tick.ag2601.SHFE", b"tick.cu2601.SHFE"):
            sock.setsockopt(zmq.SUBSCRIBE, prefix)
        activity = wait_for(lambda: hub.access.policy.activity.get("screen"))
        wait_for(lambda: activity.quota_refusals >= 2)
        assert activity.subscriptions == {b"tick.rb", b"tick.au"}
        assert len(activity.upstream) == 0 and hub.hub.stats.upstream_subscriptions == 0
        assert set(topics_within(sock, 0.5)) == {b"tick.rb2601.SHFE", b"tick.au2602.SHFE"}

        dealer = hub.dealer(ALL_KEYS, hub.snap_addr)
        answers = [snapshot(dealer, b"tick.rb")[-1] for _ in range(6)]
        refused = [msgpack.unpackb(a[1])["error"] for a in answers if a[0] == b"ERR"]
        assert 3 <= len(refused) <= 4 and set(refused) == {"quota"}
    finally:
        hub.close()


def test_hostile_clients_leave_everyone_else_served_with_bounded_memory(secure: SecureHub) -> None:
    good = secure.sub(RB_KEYS, b"tick.rb")
    # A client that never reads, with a tiny queue.
    sleeper = secure.sub(ALL_KEYS, b"tick.")
    sleeper.setsockopt(zmq.RCVHWM, 10)
    # 20 000 junk subscriptions from an entitled client.
    junk = secure.sub(ALL_KEYS, b"tick.")
    for i in range(20_000):
        junk.setsockopt(zmq.SUBSCRIBE, b"tick.zz%05d.JUNK" % i)
    junk.setsockopt(zmq.SUBSCRIBE, b"\xff" * 300)
    # Malformed snapshot requests.
    dealer = secure.dealer(ALL_KEYS, secure.snap_addr)
    for frames in ([b"SNAP"], [b"SNAP", b"a", b"b"], [b"\x00" * 1000, b""], [b"GIVE", b"tick."]):
        dealer.send_multipart(frames)
    before = secure.hub.stats.forwarded
    got = topics_within(good, 2.0)
    assert len(got) > 50 and set(got) == {b"tick.rb2601.SHFE"}
    wait_for(lambda: secure.hub.stats.malformed >= 4)
    assert secure.hub.stats.forwarded - before > 100, "the hub kept publishing"
    policy = secure.access.policy
    wait_for(lambda: policy.activity["screen"].quota_refusals > 0)
    # Bounded: the quota holds the junk (default 200 subscriptions, 50 upstream contracts).
    assert len(policy.activity["screen"].subscriptions) <= Quotas().max_subscriptions
    assert len(secure.hub.subscribed) <= Quotas().max_upstream
    assert len(secure.hub.last_value) == 2
