"""The wire formats of mdhub, version 1 (docs/wire-protocol.md). No Django import.

Worker → hub (ZMQ PUSH → PULL, ipc):
    tick   one frame: ``b"T" + u8 len(account) + u8 len(topic) + account + topic + key + body``
    status ``[b"S", account, msgpack{connected, logged_in, subscribed, error, pid, ts, drops, ...}]``
    log    ``[b"L", account, msgpack{level, msg, ts, logger}]``
Hub → clients (ZMQ XPUB): ``[topic, payload]``; ``topic = b"tick." + vt_symbol``; the payload
carries ``epoch`` (one per hub run) and ``seq``.
Recovery (ZMQ ROUTER): ``FILL`` a seq range of a topic, ``AFTER`` a position; see the end.

``body`` is a msgpack map of vn.py ``TickData`` field names (plus ``v``, the schema version,
and ``recv_ns``), encoded once in the worker. It is always a map16 (it has more than 15
entries), so the hub turns it into the client payload by rewriting the 3-byte header and
appending ``source`` and ``seq``: no decode, no re-encode on the hub's tick path.

A tick is one frame (``tick_frame``) because every frame costs the hub a receive and a
multipart message a RCVMORE check, most of its cost per tick: the frame's header (up to the
key) is the same for every tick of one account and topic, so the hub looks it up whole.
Status and log messages stay multipart; their first frame is the 1-byte kind.

``key`` is the snapshot's content key: 8 bytes of exchange time (ns, big-endian, signed) then
8 bytes of a hash of the snapshot's content (volumes, turnover, open interest, prices, book).
Python hashes tuples of numbers the same way in every process (only str/bytes hashing is
randomised), so every worker computes the same key for the same snapshot.
"""

from __future__ import annotations

import operator
import struct
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

import msgpack

from aggregation.exchange_time import CHINA_TZ

if TYPE_CHECKING:
    from vnpy.trader.object import TickData

SCHEMA_VERSION = 1

KIND_TICK = b"T"
KIND_STATUS = b"S"
KIND_LOG = b"L"
TOPIC_PREFIX = b"tick."
# A tick frame's fixed part: kind, account length, topic length (then account, topic, key, body).
TICK_HEAD = 3

BOOK_FIELDS = tuple(
    f"{side}_{what}_{level}"
    for side in ("bid", "ask")
    for what in ("price", "volume")
    for level in range(1, 6)
)
NUMBER_FIELDS = (
    "volume",
    "turnover",
    "open_interest",
    "last_price",
    "last_volume",
    "limit_up",
    "limit_down",
    "open_price",
    "high_price",
    "low_price",
    "pre_close",
    *BOOK_FIELDS,
)
# What makes two snapshots the same snapshot (DESIGN §3: content, not the timestamp alone).
CONTENT_FIELDS = ("volume", "turnover", "open_interest", "last_price", *BOOK_FIELDS)

_numbers = operator.attrgetter(*NUMBER_FIELDS)
# CONTENT_FIELDS picked out of the NUMBER_FIELDS tuple, in CONTENT_FIELDS order.
_content = operator.itemgetter(*(NUMBER_FIELDS.index(name) for name in CONTENT_FIELDS))

_MAP16 = 0xDE
_KEY = struct.Struct(">qq")
_SOURCE_KEY: bytes = msgpack.packb("source")
_EPOCH_KEY: bytes = msgpack.packb("epoch")
_SEQ_KEY: bytes = msgpack.packb("seq")
# Entries the hub appends to a worker body: source, epoch, seq.
HUB_FIELDS = 3


def datetime_ns(dt: datetime) -> int:
    """Epoch nanoseconds of an aware datetime, exactly (no float rounding)."""
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def datetime_from_ns(ns: int, tz: tzinfo) -> datetime:
    """The exact inverse of ``datetime_ns`` (``fromtimestamp(ns / 1e9)`` loses microseconds
    to float rounding, and with them the content key)."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz).replace(microsecond=rest // 1_000)


def topic_for(vt_symbol: str) -> bytes:
    return TOPIC_PREFIX + vt_symbol.encode()


def content_key(dt_ns: int, content: tuple[float, ...]) -> bytes:
    return _KEY.pack(dt_ns, hash(content))


def content_hash_key(dt_ns: int, numbers: list[Any] | tuple[Any, ...]) -> bytes:
    """The content key of a tick given as its ``NUMBER_FIELDS`` values (``encode_tick``'s key)."""
    return _KEY.pack(dt_ns, hash(_content(numbers)))


def key_time(key: bytes) -> int:
    return int.from_bytes(key[:8], "big", signed=True)


def encode_tick(tick: TickData, recv_ns: int, dt_ns: int | None = None) -> tuple[bytes, bytes, bytes]:
    """``(topic, key, body)`` of a vn.py tick, as the worker sends it. ``dt_ns`` is
    ``datetime_ns(tick.datetime)`` when the caller has it already.

    ``recv_ns`` stays the body's last field (benchmarks re-stamp it in place)."""
    if dt_ns is None:
        dt_ns = datetime_ns(tick.datetime)
    # One attrgetter call reads all the numbers (a getattr loop costs ~3x as much).
    numbers = _numbers(tick)
    fields: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "symbol": tick.symbol,
        "exchange": tick.exchange.value,
        "name": tick.name,
        "datetime": dt_ns,
    }
    fields.update(zip(NUMBER_FIELDS, numbers, strict=True))
    localtime = tick.localtime
    fields["localtime"] = datetime_ns(localtime) if localtime else None
    fields["recv_ns"] = recv_ns
    body: bytes = msgpack.packb(fields)
    key = _KEY.pack(dt_ns, hash(_content(numbers)))
    return TOPIC_PREFIX + tick.vt_symbol.encode(), key, body


def tick_head(account: bytes, topic: bytes) -> bytes:
    """The header of an account's tick frames for one topic: ``tick_frame`` less key and body."""
    if not 0 < len(account) < 256 or not 0 < len(topic) < 256:
        raise ValueError("account and topic must be 1 to 255 bytes")
    return KIND_TICK + bytes((len(account), len(topic))) + account + topic


def tick_frame(account: bytes, topic: bytes, key: bytes, body: bytes) -> bytes:
    """A tick as one ingest frame (the worker's ``Sender.send_tick`` caches the head)."""
    return b"".join((tick_head(account, topic), key, body))


def split_tick_frame(frame: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """``(account, topic, key, body)`` of a tick frame (for tests and tools; the hub reads
    the frame in place)."""
    if frame[:1] != KIND_TICK:
        raise ValueError("not a tick frame")
    topic_at = TICK_HEAD + frame[1]
    key_at = topic_at + frame[2]
    if len(frame) < key_at + 16:
        raise ValueError("tick frame too short")
    return (
        frame[TICK_HEAD:topic_at],
        frame[topic_at:key_at],
        frame[key_at : key_at + 16],
        frame[key_at + 16 :],
    )


def source_suffix(account: str, epoch: int = 0) -> bytes:
    """The bytes the hub appends for a source, up to the seq's value; computed once per
    source. ``epoch`` is the hub run's (docs/wire-protocol.md): it never changes within a
    run, so it costs the tick path nothing."""
    return _SOURCE_KEY + pack(account) + _EPOCH_KEY + b"\xcf" + epoch.to_bytes(8, "big") + _SEQ_KEY + b"\xcf"


def extend_body(body: bytes, source_bytes: bytes, seq: int, at: int = 0) -> bytes:
    """Client payload from a worker body (``body[at:]``: the hub passes the whole tick frame
    and the body's offset, so the body is never sliced out): ``HUB_FIELDS`` more map
    entries (source, epoch, seq), appended byte-wise.

    ``seq`` is always a msgpack uint64 (``0xcf`` + 8 bytes): a fixed width needs no
    packer call (``msgpack.packb`` builds a Packer each time, ~1 us), and every msgpack
    reader decodes it as the same int."""
    old = body[at : at + 3]
    head = _HEADS.get(old)
    if head is None:
        if len(old) != 3 or old[0] != _MAP16:
            raise ValueError("tick body is not a msgpack map16")
        count = (old[1] << 8 | old[2]) + HUB_FIELDS
        head = _HEADS[old] = bytes((_MAP16, count >> 8, count & 0xFF))
    return b"".join((head, memoryview(body)[at + 3 :], source_bytes, seq.to_bytes(8, "big")))


# Worker body header → client payload header (bodies of one schema share one header).
_HEADS: dict[bytes, bytes] = {}


def decode_payload(payload: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = msgpack.unpackb(payload)
    return decoded


def to_tick_data(fields: dict[str, Any]) -> TickData:
    """A vn.py ``TickData`` from a decoded payload (imports vn.py on first use)."""
    from vnpy.trader.constant import Exchange
    from vnpy.trader.object import TickData

    kwargs = {name: fields.get(name, 0) for name in NUMBER_FIELDS}
    localtime = fields.get("localtime")
    tick = TickData(
        gateway_name=str(fields.get("source", "mdhub")),
        symbol=fields["symbol"],
        exchange=Exchange(fields["exchange"]),
        datetime=datetime_from_ns(fields["datetime"], CHINA_TZ),
        name=fields.get("name", ""),
        localtime=datetime_from_ns(localtime, CHINA_TZ) if localtime else None,
        **kwargs,
    )
    return tick


def pack(obj: Any) -> bytes:
    packed: bytes = msgpack.packb(obj)
    return packed


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data)


# -- recovery: gap fill and resume (ZMQ ROUTER, MDHUB_RECOVERY_ADDR; docs/wire-protocol.md) --

RECOVERY_VERSION = 1
REQ_FILL = b"FILL"
REQ_AFTER = b"AFTER"
REP_DATA = b"DATA"
REP_END = b"END"
REP_ERR = b"ERR"
# A FILL may ask for this many seqs at most; a larger one is refused (``too_large``).
MAX_FILL = 1_000_000
# Ticks in one reply at most; the END says ``more`` and where it stopped, the client asks on.
REPLY_PAGE = 20_000
# Ticks (topic, payload pairs) per DATA message.
DATA_BATCH = 256
# Error codes of an ERR reply.
ERR_BAD_REQUEST = "bad_request"
ERR_VERSION = "unsupported_version"
ERR_NO_JOURNAL = "no_journal"
ERR_UNKNOWN_TOPIC = "unknown_topic"
ERR_UNKNOWN_EPOCH = "unknown_epoch"
ERR_BAD_RANGE = "bad_range"
ERR_TOO_LARGE = "too_large"
