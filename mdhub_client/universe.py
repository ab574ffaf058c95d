"""The hub's contract universe, as a client can read it: the snapshot service.

The hub has no contract-list endpoint a client can reach without the web side (the list lives
in the hub's database, behind the REST API's login). What every client can reach is the
snapshot ROUTER (``MDHUB_SNAPSHOT_ADDR``): it answers ``[b"SNAP", prefix]`` with the last tick
of every topic under that prefix, then ``[b"END", count]`` (docs/wire-protocol.md). So the
universe is "every contract that has ticked since the hub started", with its name, exchange
and price limits; what a tick does not carry (contract size, price tick, expiry, option
strike) is not in it. No Django, no vn.py import.
"""

from __future__ import annotations

import time
from typing import Any

import msgpack
import zmq

from aggregation.client import normalise_topic

SNAPSHOT_TIMEOUT = 3.0


class UniverseUnavailable(Exception):
    """The snapshot service did not answer in time."""


def read_universe(
    snapshot_addr: str,
    topics: list[str] | None = None,
    *,
    timeout: float = SNAPSHOT_TIMEOUT,
    context: zmq.Context[Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """vt_symbol → the hub's last tick of it (decoded payload), for every topic under
    ``topics`` (symbols, products or prefixes as ``HubClient`` takes them; ``None``: all).

    Raises ``UniverseUnavailable`` when the hub does not answer within ``timeout``.
    Undecodable entries are counted in the result's absence only: they are skipped.
    """
    prefixes = sorted({normalise_topic(t).encode() for t in (topics or [""])})
    ctx = context or zmq.Context.instance()
    dealer: zmq.Socket[bytes] = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.RCVHWM, 0)  # a large universe must not hit the default 1000
    found: dict[str, dict[str, Any]] = {}
    try:
        dealer.connect(snapshot_addr)
        for prefix in prefixes:
            dealer.send_multipart([b"SNAP", prefix])
        pending = len(prefixes)
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0 or not dealer.poll(int(left * 1000) + 1):
                raise UniverseUnavailable(f"no snapshot from {snapshot_addr} within {timeout:.1f} s")
            frames = dealer.recv_multipart()
            if frames and frames[0] == b"":
                frames = frames[1:]
            if len(frames) != 2:
                continue
            if frames[0] == b"END":
                pending -= 1
                continue
            try:
                fields = msgpack.unpackb(frames[1])
                found[f"{fields['symbol']}.{fields['exchange']}"] = fields
            except (ValueError, KeyError, TypeError):
                continue  # bad input is dropped, never a crash
    finally:
        dealer.close(linger=0)
    return found
