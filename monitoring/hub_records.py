"""The data services' records for the dashboard, asked of the hub itself (docs/api.md).

Why from the hub and not a copy in Redis: the hub already keeps what a chart needs. Its
last-value cache (the snapshot ROUTER) holds the latest record of every ``bar.``/``greeks.``
topic, and its journal (the recovery ROUTER) every record of the day by ``seq``, so the last
N bars of a contract are one snapshot plus one FILL of ``seq-N+1 .. seq-1``. Nothing new runs
on the hub's side, nothing is stored twice, and what the chart shows is exactly what a client
got. Without a journal (``MDHUB_JOURNAL=false``) only the last bar is shown.

With CURVE on (``MDHUB_CURVE``) the hub's ROUTERs only talk to known keys: these requests
go as the hub's internal client (``aggregation.curve``, the key file the hub writes beside its
server key), as its data services do; before the hub has written it, the answer is offline.

Each answer is a few ZeroMQ round trips on loopback with a short deadline; a hub that does
not answer makes an empty answer (``hub: offline``), never a hung request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import zmq

from aggregation import wire
from aggregation.curve import CurveKeys, make_client
from aggregation.records import BAR_PREFIX, GREEKS_PREFIX

TIMEOUT = 1.5
MAX_BARS = 500


def connect_address(bound: str) -> str:
    """The address to connect to for one the hub binds (``tcp://*:5556``)."""
    return bound.replace("://*:", "://127.0.0.1:").replace("://0.0.0.0:", "://127.0.0.1:")


@dataclass(frozen=True, slots=True)
class HubEndpoints:
    snapshot: str
    recovery: str | None
    # With CURVE on: the internal client's key pair and the hub's public key.
    curve: tuple[CurveKeys, str] | None = None


@contextmanager
def _dealer(address: str, curve: tuple[CurveKeys, str] | None = None) -> Iterator[zmq.Socket[bytes]]:
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, 0)
    if curve is not None:
        make_client(sock, *curve)
    sock.connect(connect_address(address))
    try:
        yield sock
    finally:
        sock.close()


def _recv(sock: zmq.Socket[bytes], deadline: float) -> list[bytes] | None:
    left = deadline - time.monotonic()
    if left <= 0 or not sock.poll(int(left * 1000)):
        return None
    frames = sock.recv_multipart()
    return frames[1:] if frames and frames[0] == b"" else frames


def snapshot(
    address: str,
    prefix: bytes,
    timeout: float = TIMEOUT,
    curve: tuple[CurveKeys, str] | None = None,
) -> dict[bytes, dict[str, Any]] | None:
    """The hub's last record of every topic starting with ``prefix``; None: no answer."""
    deadline = time.monotonic() + timeout
    out: dict[bytes, dict[str, Any]] = {}
    with _dealer(address, curve) as sock:
        sock.send_multipart((b"SNAP", prefix))
        while True:
            frames = _recv(sock, deadline)
            if frames is None or frames[0] == b"ERR":
                return None
            if frames[0] == b"END":
                return out
            if len(frames) == 2:
                try:
                    out[frames[0]] = wire.unpack(frames[1])
                except ValueError:
                    continue  # a payload we cannot read is left out, not fatal


def fill(
    address: str,
    topic: bytes,
    epoch: int,
    first: int,
    last: int,
    timeout: float = TIMEOUT,
    curve: tuple[CurveKeys, str] | None = None,
) -> list[dict[str, Any]]:
    """The journaled records ``first..last`` of ``topic`` in ``epoch`` (what the journal holds)."""
    if last < first:
        return []
    deadline = time.monotonic() + timeout
    body = {"v": wire.RECOVERY_VERSION, "id": 1, "topic": topic, "epoch": epoch, "from": first, "to": last}
    out: list[dict[str, Any]] = []
    with _dealer(address, curve) as sock:
        sock.send_multipart((wire.REQ_FILL, wire.pack(body)))
        while True:
            frames = _recv(sock, deadline)
            if frames is None or frames[0] != wire.REP_DATA:
                return out  # END, ERR (no journal, unknown epoch) or no answer: what came
            for at in range(2, len(frames) - 1, 2):
                try:
                    out.append(wire.unpack(frames[at + 1]))
                except ValueError:
                    continue


def bar_topic(symbol: str, interval: str) -> bytes:
    return BAR_PREFIX + f"{interval}.{symbol}".encode()


def recent_bars(hub: HubEndpoints, symbol: str, interval: str, limit: int) -> list[dict[str, Any]] | None:
    """The last ``limit`` closed bars of ``symbol`` (oldest first); None: the hub is offline."""
    topic = bar_topic(symbol, interval)
    last = snapshot(hub.snapshot, topic, curve=hub.curve)
    if last is None:
        return None
    latest = last.get(topic)
    if latest is None:
        return []
    seq, epoch = int(latest.get("seq", 0)), int(latest.get("epoch", 0))
    older = (
        fill(hub.recovery, topic, epoch, max(1, seq - limit + 1), seq - 1, curve=hub.curve)
        if hub.recovery and epoch
        else []
    )
    return [bar for bar in (*older, latest) if bar.get("datetime") is not None][-limit:]


def _iv(record: dict[str, Any]) -> float | None:
    value = record.get("iv_mid")
    if value is None:
        value = record.get("iv_last")
    return float(value) if isinstance(value, int | float) else None


def _no_iv_reason(record: dict[str, Any]) -> str | None:
    """Why a record without an IV has none (the Greeks service says: no quote, no underlying
    price, below intrinsic, ...); None when it has one."""
    if _iv(record) is not None:
        return None
    reason = record.get("reason") or record.get("iv_mid_reason") or record.get("iv_last_reason")
    return str(reason) if reason else "no implied volatility in the record"


def smile(hub: HubEndpoints, underlying: str) -> list[dict[str, Any]] | None:
    """IV by strike per expiry of the options on ``underlying`` (vt_symbol), from the hub's
    last ``greeks.`` records, with the reason of every missing IV; None: the hub is offline."""
    records = snapshot(hub.snapshot, GREEKS_PREFIX, curve=hub.curve)
    if records is None:
        return None
    expiries: dict[str, dict[float, dict[str, Any]]] = {}
    facts: dict[str, dict[str, Any]] = {}
    for record in records.values():
        if record.get("underlying") != underlying or not isinstance(record.get("strike"), int | float):
            continue
        expiry = str(record.get("expiry"))
        strike = float(record["strike"])
        point = expiries.setdefault(expiry, {}).setdefault(
            strike,
            {
                "strike": strike,
                "call_iv": None,
                "put_iv": None,
                "call": None,
                "put": None,
                "call_reason": None,
                "put_reason": None,
            },
        )
        side = "call" if record.get("option_type") == "C" else "put"
        point[f"{side}_iv"] = _iv(record)
        point[f"{side}_reason"] = _no_iv_reason(record)
        point[side] = f"{record.get('symbol')}.{record.get('exchange')}"
        fact = facts.setdefault(expiry, {"days_to_expiry": None, "forward": None, "datetime": 0})
        if int(record.get("datetime") or 0) >= fact["datetime"]:
            fact.update(
                days_to_expiry=record.get("days_to_expiry"),
                forward=record.get("forward"),
                datetime=int(record.get("datetime") or 0),
            )
    return [
        {
            "expiry": expiry,
            "days_to_expiry": facts[expiry]["days_to_expiry"],
            "forward": facts[expiry]["forward"],
            "points": [points[k] for k in sorted(points)],
        }
        for expiry, points in sorted(expiries.items())
    ]
