"""The bridge's hub side: a thread that reads the hub's stream as a client and hands each
tick to the publisher. ZeroMQ publishing never waits for it: it is one more subscriber,
in another process.

When the hand-off is full (NATS down or slow for long), the reader lets go of the hub
instead of waiting on it, keeps the position of the last tick it handed over, and once the
hand-off has room again opens a new client that resumes after that position from the hub's
journal (``aggregation.client`` resume protocol): nothing lost, and the hub's ZeroMQ queues
never hold ticks for a bridge that cannot take them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import msgpack
import zmq

from aggregation.client import HubAddress, HubClient
from aggregation.curve import CurveKeys, make_client
from aggregation.records import RECORD_PREFIXES
from bridge.buffer import Entry, Handoff
from bridge.subjects import message_id, subject_for

log = logging.getLogger("mdhub.bridge")

# How far back a resumed client also takes ticks of topics it has no position for.
RESUME_MARGIN_NS = 300 * 1_000_000_000


def entry_for(topic: str, fields: dict[str, Any], bridge_name: str) -> Entry:
    """The JetStream message of one decoded hub payload (``ValueError``/``KeyError`` for
    one that is not a well-formed tick or record)."""
    epoch = int(fields.get("epoch", 0))
    seq = int(fields["seq"])
    headers = {
        "Nats-Msg-Id": message_id(topic, fields),
        "Mdhub-Topic": topic,
        "Mdhub-Epoch": str(epoch),
        "Mdhub-Seq": str(seq),
        "Mdhub-Source": str(fields.get("source", "")),
        "Mdhub-Hub": bridge_name,
    }
    payload: bytes = msgpack.packb(fields)
    return Entry(subject_for(topic), payload, headers, topic, epoch, seq, int(fields.get("recv_ns") or 0))


class HubReader:
    """Reads ``hub`` into ``handoff`` on its own thread (``start``/``stop``)."""

    def __init__(
        self,
        hub: HubAddress,
        handoff: Handoff,
        bridge_name: str,
        resume: dict[str, tuple[int, int]] | None = None,
        resume_since_ns: int | None = None,
        curve: CurveKeys | None = None,
    ) -> None:
        self.hub = hub
        # A hub with CURVE on: the hub's internal client keys (docs/access.md).
        self.curve = curve
        self.handoff = handoff
        self.name = bridge_name
        # topic → (epoch, seq) of the last tick handed over: where a new client resumes.
        self.positions: dict[str, tuple[int, int]] = dict(resume or {})
        self.resume_since_ns = resume_since_ns
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="hub-reader", daemon=True)
        self.read = 0
        self.bad = 0
        self.let_go = 0
        self.behind = False
        self.client_stats: dict[str, int] = {}

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)

    def _client(self) -> HubClient[dict[str, Any]]:
        if (self.positions or self.resume_since_ns is not None) and self.hub.recovery:
            return HubClient(
                self.hub,
                [""],
                resume={self.hub.pub: dict(self.positions)},
                resume_since_ns=self.resume_since_ns,
                fill_timeout=10.0,
                curve=self.curve,
            )
        return HubClient(self.hub, [""], fill_timeout=10.0, curve=self.curve)

    def _records_sub(self, ctx: zmq.Context[Any]) -> zmq.Socket[bytes]:
        # The client library reads tick topics only; bar./greeks. records come live from the
        # same XPUB (no resume for them yet: docs/jetstream.md).
        sub: zmq.Socket[bytes] = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        if self.hub.server_key and self.curve is not None:
            make_client(sub, self.curve, self.hub.server_key)
        for prefix in RECORD_PREFIXES:
            sub.setsockopt(zmq.SUBSCRIBE, prefix)
        sub.connect(self.hub.pub)
        return sub

    def _run(self) -> None:
        ctx: zmq.Context[Any] = zmq.Context()
        records = self._records_sub(ctx)
        try:
            while not self.stopping.is_set():
                self._read_until_full(records)
                if self.stopping.is_set():
                    return
                # Let go of the hub until the publisher has drained half the hand-off.
                self.behind = True
                self.let_go += 1
                log.warning(
                    "bridge buffer full (%d): letting go of the hub, resuming later", len(self.handoff)
                )
                while len(self.handoff) > self.handoff.capacity // 2 and not self.stopping.is_set():
                    time.sleep(0.05)
                self.behind = False
                if self.resume_since_ns is None:
                    self.resume_since_ns = time.time_ns() - RESUME_MARGIN_NS
        except Exception:
            log.exception("the hub reader failed")
            raise
        finally:
            records.close(linger=0)
            ctx.term()

    def _read_until_full(self, records: zmq.Socket[bytes]) -> None:
        with self._client() as client:
            while not self.stopping.is_set():
                fields = client.recv(0.005)
                self.client_stats = client.stats()
                if fields is not None:
                    topic = f"tick.{fields.get('symbol')}.{fields.get('exchange')}"
                    if not self._hand(topic, fields):
                        return
                while True:
                    try:
                        topic_b, payload = records.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    except ValueError:
                        self.bad += 1
                        continue
                    try:
                        record = msgpack.unpackb(payload)
                    except ValueError:
                        self.bad += 1
                        continue
                    if isinstance(record, dict):
                        self._hand(topic_b.decode(errors="replace"), record, track=False)

    def _hand(self, topic: str, fields: dict[str, Any], track: bool = True) -> bool:
        self.read += 1
        try:
            entry = entry_for(topic, fields, self.name)
        except (KeyError, ValueError, TypeError, OverflowError):
            self.bad += 1  # counted and dropped, never the end of the bridge
            return True
        if not self.handoff.put(entry):
            return False
        if track:
            self.positions[topic] = (entry.epoch, entry.seq)
        return True
