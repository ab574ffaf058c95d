"""Wire format of the data services' records (docs/services.md): ``bar.`` and ``greeks.``
topics that a service pushes into the hub's ingest like a worker pushes ticks.

A record travels exactly as a tick does (``aggregation.wire.tick_frame``): the hub stamps
``source``, ``epoch`` and ``seq``, keeps the last value for snapshots and forwards it, all
without decoding. That needs the body to be a msgpack map16 even when it has fewer than 16
entries, which ``msgpack.packb`` would write as a fixmap: ``encode_record`` writes the header
itself. No Django import; clients use ``record_key`` to deduplicate records across hubs.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import msgpack

from aggregation.exchange_time import CHINA_TZ
from aggregation.wire import datetime_from_ns

if TYPE_CHECKING:
    from vnpy.trader.object import BarData

RECORD_SCHEMA_VERSION = 1
BAR_PREFIX = b"bar."
GREEKS_PREFIX = b"greeks."
RECORD_PREFIXES = (BAR_PREFIX, GREEKS_PREFIX)
# What the hub accepts on ingest: ticks from workers, records from services.
INGEST_PREFIXES = (b"tick.", *RECORD_PREFIXES)

_MAP16 = 0xDE
# Fields the hub appends; not part of a record's content.
_HUB_FIELDS = frozenset(("source", "epoch", "seq"))


def is_record_topic(topic: bytes) -> bool:
    return topic.startswith(RECORD_PREFIXES)


def is_bar_topic(topic: bytes) -> bool:
    return topic.startswith(BAR_PREFIX)


def record_key(time_ns: int, fields: dict[str, Any]) -> bytes:
    """The content key: exchange time, then 8 bytes of a BLAKE2b digest of the content (hub
    fields left out). Not Python's ``hash``: str hashing is randomised per process, and a
    client compares keys from several hubs."""
    content = msgpack.packb(sorted((k, v) for k, v in fields.items() if k not in _HUB_FIELDS and k != "v"))
    return time_ns.to_bytes(8, "big", signed=True) + hashlib.blake2b(content, digest_size=8).digest()


def encode_record(time_ns: int, fields: dict[str, Any]) -> tuple[bytes, bytes]:
    """``(key, body)``: the body is ``{"v": RECORD_SCHEMA_VERSION, **fields}`` as a map16."""
    entries = {"v": RECORD_SCHEMA_VERSION, **fields}
    if len(entries) > 0xFFFF - 3:
        raise ValueError("too many fields for a record")
    packer = msgpack.Packer()
    parts = [bytes((_MAP16, len(entries) >> 8, len(entries) & 0xFF))]
    for name, value in entries.items():
        parts.append(packer.pack(name))
        parts.append(packer.pack(value))
    return record_key(time_ns, fields), b"".join(parts)


# What a bar record says beyond vn.py's BarData fields: kept in ``BarData.extra``.
_BAR_EXTRA = ("interval", "end", "trading_day", "flat", "complete", "ticks", "source", "seq", "epoch")


def to_bar_data(fields: dict[str, Any]) -> BarData:
    """A vn.py ``BarData`` from a decoded ``bar.`` record (imports vn.py on first use).

    vn.py's ``Interval`` knows ``1m``, ``1h`` and ``d`` only; other intervals (``5m``,
    ``15m``, ``5s``) leave ``interval`` None, as vn.py's own BarGenerator does for its
    window bars. The record's own interval name and the fields vn.py has no place for
    (``end``, ``trading_day``, ``flat``, ``complete``, ...) are in ``bar.extra``."""
    from vnpy.trader.constant import Exchange, Interval
    from vnpy.trader.object import BarData

    name = str(fields.get("interval", ""))
    try:
        interval: Interval | None = Interval(name)
    except ValueError:
        interval = None
    bar = BarData(
        gateway_name=str(fields.get("source", "mdhub")),
        symbol=fields["symbol"],
        exchange=Exchange(fields["exchange"]),
        datetime=datetime_from_ns(fields["datetime"], CHINA_TZ),
        interval=interval,
        volume=float(fields.get("volume") or 0),
        turnover=float(fields.get("turnover") or 0),
        open_interest=float(fields.get("open_interest") or 0),
        open_price=float(fields.get("open_price") or 0),
        high_price=float(fields.get("high_price") or 0),
        low_price=float(fields.get("low_price") or 0),
        close_price=float(fields.get("close_price") or 0),
    )
    bar.extra = {k: fields[k] for k in _BAR_EXTRA if k in fields}
    return bar
