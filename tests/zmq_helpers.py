"""Small helpers for tests that use real ZeroMQ sockets."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import msgpack

from aggregation.wire import BOOK_FIELDS, SCHEMA_VERSION, content_key, topic_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


def tick_frames(
    vt_symbol: str, dt_ns: int, volume: float, price: float = 3100.0
) -> tuple[bytes, bytes, bytes]:
    """``(topic, key, body)`` of a snapshot as a worker would send it."""
    symbol, _, exchange = vt_symbol.rpartition(".")
    fields: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "symbol": symbol,
        "exchange": exchange,
        "name": symbol,
        "datetime": dt_ns,
        "volume": volume,
        "turnover": volume * price,
        "open_interest": 1000.0,
        "last_price": price,
    }
    for name in BOOK_FIELDS:
        fields[name] = price - 1 if name.startswith("bid_price") else price + 1 if "price" in name else 5.0
    fields["recv_ns"] = time.time_ns()
    key = content_key(dt_ns, (volume, volume * price, 1000.0, price, *(fields[n] for n in BOOK_FIELDS)))
    return topic_for(vt_symbol), key, msgpack.packb(fields)
