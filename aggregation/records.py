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
from typing import Any

import msgpack

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
