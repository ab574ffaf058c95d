"""The recorded tick's columns: the wire protocol's fields, with its types (docs/wire-protocol.md).

Times stay what they are on the wire, int64 epoch nanoseconds (``datetime``, ``localtime``,
``recv_ns``), not Parquet timestamps: DuckDB reads a time-zone-aware Parquet timestamp at
microsecond resolution, and ``recv_ns`` needs its nanoseconds for a replay to be exact. A
field a payload did not carry is null (a replay leaves it out again). ``ord`` is the tick's
place in the day's tape, the order the hub forwarded in: a replay plays in that order.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from aggregation.wire import NUMBER_FIELDS

# The worker's body, in the order the worker encodes it (``aggregation.wire.encode_tick``),
# then the hub's fields: a replay re-encodes in this order, so its payload has the same bytes.
BODY_TEXT = ("symbol", "exchange", "name")
HUB_TEXT = ("source",)

SCHEMA = pa.schema(
    [
        pa.field("v", pa.int32(), metadata={"doc": "wire schema version"}),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("exchange", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("datetime", pa.int64(), nullable=False, metadata={"doc": "exchange time, epoch ns"}),
        *(pa.field(name, pa.float64()) for name in NUMBER_FIELDS),
        pa.field("localtime", pa.int64(), metadata={"doc": "vn.py localtime, epoch ns"}),
        pa.field("recv_ns", pa.int64(), metadata={"doc": "when the worker received it, epoch ns"}),
        pa.field("source", pa.string(), metadata={"doc": "the account whose copy came first"}),
        pa.field("epoch", pa.int64(), nullable=False, metadata={"doc": "the hub run"}),
        pa.field("seq", pa.int64(), nullable=False, metadata={"doc": "per topic, per epoch"}),
        pa.field("ord", pa.int64(), nullable=False, metadata={"doc": "place in the day's tape"}),
    ]
)
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)
# Payload fields as the worker wrote them (before the hub's source, epoch, seq).
BODY_FIELDS: tuple[str, ...] = (
    "v",
    "symbol",
    "exchange",
    "name",
    "datetime",
    *NUMBER_FIELDS,
    "localtime",
    "recv_ns",
)

_INT64 = (-(1 << 63), (1 << 63) - 1)
_INTS = ("v", "datetime", "localtime", "recv_ns")


def valid(fields: Any) -> bool:
    """Whether a decoded payload fits the columns (the slow path: only asked about a batch
    that Arrow refused, to find the records to drop)."""
    if not isinstance(fields, dict):
        return False
    for name in ("symbol", "exchange"):
        if not isinstance(fields.get(name), str) or not fields[name]:
            return False
    if not isinstance(fields.get("datetime"), int):
        return False
    for name in ("name", "source"):
        if not isinstance(fields.get(name, ""), str | None):
            return False
    for name in _INTS:
        value = fields.get(name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not _INT64[0] <= value <= _INT64[1]
        ):
            return False
    for name in NUMBER_FIELDS:
        value = fields.get(name)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            return False
    return True


def to_batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    """The rows (payload fields plus ``epoch``, ``seq``, ``ord``) as one batch; raises
    ``pa.ArrowException`` if a value does not fit its column."""
    arrays = [
        pa.array([row.get(name) for row in rows], type=field.type)
        for name, field in zip(COLUMNS, SCHEMA, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)
