"""Service records on the wire (aggregation.records): what the hub can extend unread."""

from __future__ import annotations

import msgpack

from aggregation.records import INGEST_PREFIXES, encode_record, record_key
from aggregation.wire import extend_body, source_suffix


def test_a_small_record_is_a_map16_the_hub_extends_without_decoding() -> None:
    key, body = encode_record(123, {"symbol": "rb2605", "close_price": 3500.0})
    assert body[0] == 0xDE and key[:8] == (123).to_bytes(8, "big")
    payload = msgpack.unpackb(extend_body(body, source_suffix("svc-bars"), 7))
    assert payload == {
        "v": 1,
        "symbol": "rb2605",
        "close_price": 3500.0,
        "source": "svc-bars",
        "epoch": 0,
        "seq": 7,
    }


def test_the_content_key_ignores_hub_fields_and_changes_with_content() -> None:
    fields = {"symbol": "rb2605", "close_price": 3500.0}
    assert record_key(1, fields) == record_key(1, {**fields, "seq": 9, "source": "x"})
    assert record_key(1, fields) != record_key(1, {**fields, "close_price": 3501.0})
    assert b"bar." in INGEST_PREFIXES and b"greeks." in INGEST_PREFIXES
