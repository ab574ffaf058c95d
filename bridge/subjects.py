"""Hub topics ↔ NATS subjects, filters for subscriptions, and message ids.

A hub topic (``tick.rb2601.SHFE``) becomes ``md.tick.SHFE.rb.rb2601``: exchange, product,
symbol, each a whole token, because NATS wildcards match whole dot-separated tokens only
(``tick.rb*`` is no NATS filter). So ``md.tick.SHFE.>`` is all of an exchange,
``md.tick.*.rb.>`` all of a product, ``md.tick.SHFE.rb.rb2601`` one contract. Records
(``bar.1m.rb2601.SHFE``) put what stands between the kind and the contract last:
``md.bar.SHFE.rb.rb2601.1m``, so the same cuts work for them. A symbol with no letters in
front (SSE/SZSE option codes like ``10007123``) has product ``_``.

The message id is the content key (``aggregation.wire.content_key``) in hex after the topic:
two hubs fed by one exchange give one snapshot the same id, and JetStream stores it once
within its duplicate window.
"""

from __future__ import annotations

from typing import Any

from aggregation import wire
from aggregation.client import ALL, Subscription, normalise_topic
from aggregation.records import record_key

ROOT = "md"
NO_PRODUCT = "_"
# Characters a NATS subject token must not hold (token separator, wildcards, white space).
_BAD = str.maketrans({c: "_" for c in ".*> \t\r\n"})


def token(text: str) -> str:
    return text.translate(_BAD) or "_"


def product_of(symbol: str) -> str:
    end = 0
    while end < len(symbol) and symbol[end].isascii() and symbol[end].isalpha():
        end += 1
    return symbol[:end] or NO_PRODUCT


def subject_for(topic: str) -> str:
    """``tick.rb2601.SHFE`` → ``md.tick.SHFE.rb.rb2601``; raises ``ValueError`` for a topic
    without kind, symbol and exchange."""
    kind, _, rest = topic.partition(".")
    head, _, exchange = rest.rpartition(".")
    middle, _, symbol = head.rpartition(".")
    if not kind or not symbol or not exchange:
        raise ValueError(f"topic {topic!r} is not <kind>.[<detail>.]<symbol>.<exchange>")
    parts = [ROOT, token(kind), token(exchange), token(product_of(symbol)), token(symbol)]
    if middle:
        parts.extend(token(t) for t in middle.split("."))
    return ".".join(parts)


def message_id(topic: str, fields: dict[str, Any]) -> str:
    """``<topic>:<content key hex>``: the same for every hub's copy of one snapshot."""
    if topic.startswith("tick."):
        key = wire.content_key(fields["datetime"], tuple(fields[name] for name in wire.CONTENT_FIELDS))
    else:
        key = record_key(0, fields)
    return f"{topic}:{key.hex()}"


def key_of(msg_id: str) -> bytes:
    """The content key back from a message id (``ValueError`` when it is not one)."""
    return bytes.fromhex(msg_id.rpartition(":")[2])


def filter_subjects(topics: list[str], kind: str = "tick") -> list[str]:
    """The NATS filters that cover a client's subscription (``aggregation.client`` syntax:
    contracts, product codes, raw prefixes, ``""`` for all). The filters may cover more than
    asked (a raw prefix such as ``tick.rb26``); the consumer filters exactly afterwards with
    ``Subscription.wants``. JetStream refuses overlapping filters, so covered ones go."""
    everything = f"{ROOT}.{kind}.>"
    subscription = Subscription.parse(topics)
    products = {token(p) for p in subscription.products}
    exact: set[str] = set()
    for raw in subscription.raw:
        text = raw.decode()
        if text == ALL:
            return [everything]
        symbol_part = text[len(ALL) :]
        symbol, dot, exchange = symbol_part.rpartition(".")
        if dot and symbol and exchange.isupper() and exchange.isalpha():
            exact.add(subject_for(text))
        else:
            product = product_of(symbol_part)
            if product == NO_PRODUCT:
                return [everything]
            if product == symbol_part:
                # Letters only (``tick.r``): a prefix of several products, no NATS filter.
                return [everything]
            # Letters then more (``tick.rb26``): within that one product.
            products.add(product)
    wildcards = {f"{ROOT}.{kind}.*.{p}.>" for p in products}
    kept = {s for s in exact if f"{ROOT}.{kind}.*.{s.split('.')[3]}.>" not in wildcards}
    return sorted(wildcards | kept)


def wants_topic(subscription: Subscription, topic: str) -> bool:
    return subscription.wants(topic.encode())


__all__ = ["filter_subjects", "key_of", "message_id", "normalise_topic", "subject_for", "wants_topic"]
