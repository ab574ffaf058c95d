"""Conflation for slow readers (docs/access.md): a real CURVE hub's conflation ROUTER read by
the client library, entitlements on it, and a client that never reads told its drops while
another is served on time (a real ConflationService over TCP)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from aggregation.client import HubClient
from aggregation.conflation import ROUND_END, ConflationService
from tests.test_stream_access import ALL, ALL_KEYS, RB, RB_KEYS, SecureHub, topics_within
from tests.zmq_helpers import free_port, wait_for


@pytest.fixture
def secure(tmp_path: Path) -> Iterator[SecureHub]:
    hub = SecureHub(tmp_path, [RB, ALL])
    yield hub
    hub.close()


def test_a_conflating_client_gets_the_newest_value_per_contract_every_interval(secure: SecureHub) -> None:
    live = secure.sub(ALL_KEYS, b"tick.rb")
    with HubClient(secure.address, ["rb", "au"], curve=ALL_KEYS, conflate_ms=200) as client:
        assert client.recv(2.0) is not None  # the first round: every contract's last value
        got: list[dict[str, Any]] = []
        started = time.monotonic()
        while time.monotonic() - started < 1.0:
            tick = client.recv(0.3)
            if tick is not None:
                got.append(tick)
        stats = client.stats()
    ticks_live = topics_within(live, 0.1)
    by_symbol: dict[str, list[int]] = {}
    for tick in got:
        by_symbol.setdefault(tick["symbol"], []).append(tick["seq"])
    assert set(by_symbol) == {"rb2601", "au2602"}
    for seqs in by_symbol.values():
        # About one value per 200 ms, each newer than the one before, far apart in seq (the
        # feed makes ~200 ticks a second per contract).
        assert 3 <= len(seqs) <= 7, seqs
        assert seqs == sorted(seqs) and min(b - a for a, b in itertools.pairwise(seqs)) > 10
    assert stats["conflated_rounds"] >= 5 and stats["conflation_drops"] == 0
    assert ticks_live, "the live stream goes on beside it"
    # The client said BYE on close: the hub holds nothing for it.
    wait_for(lambda: not secure.hub.conflation or not secure.hub.conflation.peers, timeout=2.0)


def test_a_client_entitled_to_rb_cannot_conflate_au(secure: SecureHub) -> None:
    with HubClient(secure.address, ["au"], curve=RB_KEYS, conflate_ms=100) as client:
        assert client.recv(0.6) is None
        assert client._conflated is not None and client._conflated.refusals >= 1
    with HubClient(secure.address, ["rb"], curve=RB_KEYS, conflate_ms=100) as client:
        ticks = [client.recv(2.0) for _ in range(3)]
    assert all(t is not None and t["symbol"] == "rb2601" for t in ticks)
    assert secure.access.policy.activity["rb-desk"].refused_requests >= 1


def test_a_reader_that_never_reads_is_told_its_drops_and_the_others_stay_on_time(tmp_path: Path) -> None:
    ctx: zmq.Context[Any] = zmq.Context()
    addr = f"tcp://127.0.0.1:{free_port()}"
    cache: dict[bytes, bytes] = {}
    # Room for about five rounds (100 values and an END each) per reader.
    service = ConflationService(ctx, addr, cache, sndhwm=500)
    service.start()

    def reader(rcvhwm: int, rcvbuf: int = -1) -> zmq.Socket[Any]:
        sock: zmq.Socket[Any] = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVHWM, rcvhwm)
        sock.setsockopt(zmq.RCVBUF, rcvbuf)  # a small kernel buffer: the sleeper fills up soon
        sock.connect(addr)
        sock.send_multipart([b"CONFLATE", msgpack.packb({"prefixes": ["tick."], "interval_ms": 50})])
        return sock

    try:
        sleeper, prompt = reader(10, 4096), reader(100_000)
        body = b"x" * 2000
        rounds = 0
        i = 0
        started = time.monotonic()
        while service.stats.drops == 0 or rounds < 20:
            assert time.monotonic() - started < 10, (service.stats, rounds)
            i += 1
            for n in range(100):
                cache[b"tick.c%03d.X" % n] = b"%d|" % i + body
            while prompt.poll(0):
                frames = prompt.recv_multipart()
                if frames[0] == ROUND_END:
                    rounds += 1
                    assert msgpack.unpackb(frames[1])["drops"] == 0, "the prompt reader misses nothing"
            time.sleep(0.01)
        assert len(service.peers) == 2
        slow = next(p for p in service.peers.values() if p.drops)
        # Bounded: what the hub holds for the sleeper is its sent map, one entry per topic.
        assert len(slow.sent) <= 200
        # The sleeper reads at last: an END tells it how many it missed.
        told = 0

        def drops_told() -> bool:
            nonlocal told
            while sleeper.poll(0):
                frames = sleeper.recv_multipart()
                if frames[0] == ROUND_END:
                    told = msgpack.unpackb(frames[1])["drops"]
            return told > 0

        wait_for(drops_told, timeout=5.0)
        # Malformed registrations are refused and counted; the hub goes on.
        bad = reader(10)
        bad.send_multipart([b"CONFLATE", b"\xc1"])
        bad.send_multipart([b"CONFLATE", msgpack.packb({"prefixes": ["tick."], "interval_ms": 1})])
        wait_for(lambda: service.stats.malformed >= 2)
    finally:
        service.close()
        ctx.destroy(linger=0)
