"""The recovery service: gap fills and resumes from the journal, on a thread of its own.

A ROUTER on ``MDHUB_RECOVERY_ADDR`` (docs/wire-protocol.md, "Recovery"). It runs beside the
hub's tick path, never on it: it reads the journal's in-memory index and ``pread``s the
file, and it gives the GIL back between reply messages (``time.sleep(0)``) so the hub's
thread is never kept waiting for long. A bad request gets an ``ERR`` reply after a few
checks (no file is read for it) and is counted. No Django import.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgpack
import zmq

from aggregation import wire
from aggregation.access import ERR_FORBIDDEN, ERR_QUOTA, StreamAccess, Verdict, request_refusal, user_id
from aggregation.curve import make_server
from aggregation.journal import Day, Journal, Run

log = logging.getLogger("mdhub.recovery")

# How long a FILL waits for the writer to reach a range the hub has published already (the
# journal is written a few ms behind the live stream).
CATCH_UP_WAIT = 1.0
MAX_TOPIC = 255
MAX_AFTER_TOPICS = 100_000

# One tick to send: (file offset, topic, epoch, seq).
_Entry = tuple[int, bytes, int, int]


class BadRequest(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class ServiceStats:
    requests: int = 0
    errors: int = 0
    ticks_sent: int = 0


class RecoveryService:
    """Serves FILL and AFTER requests from ``journal`` (None: every request gets
    ``no_journal``). The socket is bound in the constructor, so a wrong address fails the
    caller at once; after ``start`` only the service thread uses it."""

    def __init__(
        self,
        ctx: zmq.Context[Any],
        addr: str,
        journal: Journal | None,
        *,
        page: int = wire.REPLY_PAGE,
        max_fill: int = wire.MAX_FILL,
        access: StreamAccess | None = None,
    ) -> None:
        self.journal = journal
        # CURVE + ZAP, and each request checked against the client's entitlements and rate.
        self.access = access
        self.page = page
        self.max_fill = max_fill
        self.stats = ServiceStats()
        self.sock: zmq.Socket[bytes] = ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        # A ROUTER drops silently past its high-water mark; a reply is bounded by ``page``.
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.setsockopt(zmq.RCVHWM, 10_000)
        if access is not None:
            make_server(self.sock, access.keys)
        self.sock.bind(addr)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mdhub-recovery", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.sock.close(linger=0)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.sock.poll(100):
                self.serve_one()

    def serve_one(self) -> None:
        try:
            parts = self.sock.recv_multipart(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return
        frames = [part.bytes for part in parts]
        client = user_id(parts[1]) if len(parts) > 1 and self.access is not None else ""
        identity = frames[0]
        self.stats.requests += 1
        request_id: Any = None
        try:
            if len(frames) != 3:
                raise BadRequest(wire.ERR_BAD_REQUEST, "a request is [FILL|AFTER, msgpack map]")
            kind, body = frames[1], frames[2]
            try:
                request = msgpack.unpackb(body)
            except Exception as exc:  # noqa: BLE001 - msgpack raises several unrelated types
                raise BadRequest(wire.ERR_BAD_REQUEST, f"the request body is not msgpack: {exc}") from None
            if not isinstance(request, dict):
                raise BadRequest(wire.ERR_BAD_REQUEST, "the request body must be a msgpack map")
            request_id = request.get("id")
            if request.get("v", wire.RECOVERY_VERSION) != wire.RECOVERY_VERSION:
                raise BadRequest(wire.ERR_VERSION, f"this hub speaks recovery v{wire.RECOVERY_VERSION}")
            if self.access is not None:
                self._check_access(self.access, client, kind, request)
            if kind == wire.REQ_FILL:
                entries, day, more_after = self._fill(request)
            elif kind == wire.REQ_AFTER:
                entries, day, more_after = self._after(request)
            else:
                raise BadRequest(wire.ERR_BAD_REQUEST, f"unknown request {kind!r}: FILL or AFTER")
            self._reply(identity, request_id, entries, day, more_after)
        except BadRequest as exc:
            self.stats.errors += 1
            reply = {"id": request_id, "error": exc.code, "message": exc.message}
            self.sock.send_multipart((identity, wire.REP_ERR, msgpack.packb(reply)))

    def _check_access(self, access: StreamAccess, client: str, kind: bytes, request: dict[Any, Any]) -> None:
        """The client may ask for this topic (FILL) or prefix (AFTER), at this rate."""
        if kind == wire.REQ_FILL:
            prefix = _topic(request.get("topic"))
        else:
            prefix = _topic(request.get("prefix", wire.TOPIC_PREFIX))
        verdict = access.policy.request(client, prefix)
        if verdict is Verdict.QUOTA:
            raise BadRequest(ERR_QUOTA, request_refusal(verdict, client, prefix))
        if verdict is not Verdict.OK:
            raise BadRequest(ERR_FORBIDDEN, request_refusal(verdict, client, prefix))

    # -- the two requests ------------------------------------------------------------------

    def _journal_day(self) -> Day:
        journal = self.journal
        if journal is None or journal.day is None:
            raise BadRequest(wire.ERR_NO_JOURNAL, "this hub runs without a journal (MDHUB_JOURNAL=off)")
        return journal.day

    def _fill(self, request: dict[Any, Any]) -> tuple[list[_Entry], Day, bool]:
        topic = _topic(request.get("topic"))
        epoch, lo, hi = (_int(request.get(name), name) for name in ("epoch", "from", "to"))
        if lo < 1 or hi < lo:
            raise BadRequest(wire.ERR_BAD_RANGE, f"from {lo} to {hi} is no range: 1 <= from <= to")
        if hi - lo + 1 > self.max_fill:
            raise BadRequest(wire.ERR_TOO_LARGE, f"{hi - lo + 1} seqs asked, at most {self.max_fill} a FILL")
        day = self._journal_day()
        journal = self.journal
        assert journal is not None
        if epoch == journal.epoch:
            self._catch_up(journal, topic, epoch, hi)
            day = self._journal_day()
        runs = day.index.get(topic)
        name = topic.decode(errors="replace")
        if runs is None:
            raise BadRequest(wire.ERR_UNKNOWN_TOPIC, f"{name} is not in today's journal")
        runs = [run for run in runs if run.epoch == epoch]
        if not runs:
            raise BadRequest(wire.ERR_UNKNOWN_EPOCH, f"epoch {epoch} of {name} is not in today's journal")
        entries: list[_Entry] = []
        more = False
        for run in runs:
            start, stop = max(lo, run.first), min(hi, run.last)
            if start > stop:
                continue
            take = min(stop - start + 1, self.page + 1 - len(entries))
            offsets = run.offsets
            base = start - run.first
            entries.extend((offsets[base + i], topic, epoch, start + i) for i in range(take))
            if len(entries) > self.page:
                entries.pop()
                more = True
                break
        return entries, day, more

    def _catch_up(self, journal: Journal, topic: bytes, epoch: int, hi: int) -> None:
        deadline = time.monotonic() + CATCH_UP_WAIT
        with journal.written:
            while (
                journal.day is not None
                and journal.day.last_seq(topic, epoch) < hi
                and not journal.failing
                and (left := deadline - time.monotonic()) > 0
            ):
                journal.written.wait(min(left, 0.05))

    def _after(self, request: dict[Any, Any]) -> tuple[list[_Entry], Day, bool]:
        prefix = _topic(request.get("prefix", wire.TOPIC_PREFIX))
        after_raw = request.get("after") or {}
        if not isinstance(after_raw, dict) or len(after_raw) > MAX_AFTER_TOPICS:
            message = f"after must be a map of at most {MAX_AFTER_TOPICS} topics"
            raise BadRequest(wire.ERR_BAD_REQUEST, message)
        after: dict[bytes, tuple[int, int]] = {}
        for topic, position in after_raw.items():
            if not isinstance(position, list | tuple) or len(position) != 2:
                raise BadRequest(wire.ERR_BAD_REQUEST, "after maps a topic to [epoch, seq]")
            after[_topic(topic)] = (_int(position[0], "epoch"), _int(position[1], "seq"))
        since = request.get("since_ns")
        since_ns = None if since is None else _int(since, "since_ns")
        day = self._journal_day()
        streams = []
        for topic, runs in list(day.index.items()):
            if not topic.startswith(prefix):
                continue
            position = after.get(topic)
            if position is not None or since_ns is not None:
                streams.append(_entries_after(topic, list(runs), position, since_ns))
        entries: list[_Entry] = []
        for entry in heapq.merge(*streams):
            entries.append(entry)
            if len(entries) > self.page:
                entries.pop()
                return entries, day, True
        return entries, day, False

    # -- the reply -------------------------------------------------------------------------

    def _reply(self, identity: bytes, request_id: Any, entries: list[_Entry], day: Day, more: bool) -> None:
        id_frame = msgpack.packb(request_id)
        send = self.sock.send_multipart
        last: dict[bytes, tuple[int, int]] = {}
        holes: list[list[Any]] = []
        batch: list[bytes] = [identity, wire.REP_DATA, id_frame]
        sent = 0
        offsets = [entry[0] for entry in entries]
        payloads = day.read_payloads(offsets)
        for (_offset, topic, epoch, seq), (rtopic, payload) in zip(entries, payloads, strict=True):
            if rtopic != topic:
                # The index and the file disagree: never send a wrong tick.
                log.error("journal index and file disagree at %s seq %d: fill cut short", topic, seq)
                more = False
                break
            previous = last.get(topic)
            if previous is not None and previous[0] == epoch and seq > previous[1] + 1:
                holes.append([topic, epoch, previous[1] + 1, seq - 1])
            last[topic] = (epoch, seq)
            batch.append(topic)
            batch.append(payload)
            sent += 1
            if len(batch) >= 3 + 2 * wire.DATA_BATCH:
                send(batch)
                batch = [identity, wire.REP_DATA, id_frame]
                # Let the hub's thread have the GIL between messages.
                time.sleep(0)
        if len(batch) > 3:
            send(batch)
        self.stats.ticks_sent += sent
        end = {
            "id": request_id,
            "count": sent,
            "more": more,
            "last": {topic: list(position) for topic, position in last.items()},
            "holes": holes,
        }
        send((identity, wire.REP_END, msgpack.packb(end)))


def _entries_after(
    topic: bytes, runs: list[Run], position: tuple[int, int] | None, since_ns: int | None
) -> Iterator[_Entry]:
    """This topic's ticks after ``position`` (epoch, seq), or else after ``since_ns``, in
    file order."""
    for run in runs:
        if position is not None:
            epoch, seq = position
            if run.epoch < epoch or (run.epoch == epoch and run.last <= seq):
                continue
            start = seq + 1 - run.first if run.epoch == epoch and seq >= run.first else 0
        else:
            assert since_ns is not None
            start = run.after_time(since_ns)
        offsets = run.offsets
        for i in range(start, len(offsets)):
            yield offsets[i], topic, run.epoch, run.first + i


def _topic(value: Any) -> bytes:
    topic = value.encode() if isinstance(value, str) else value
    # Any topic the hub forwards (ticks, and the data services' records): a dotted name.
    if not isinstance(topic, bytes) or b"." not in topic or len(topic) > MAX_TOPIC or not topic.isascii():
        message = f"{value!r} is not a topic: e.g. tick.rb2601.SHFE (a prefix: tick.rb), at most 255 bytes"
        raise BadRequest(wire.ERR_BAD_REQUEST, message)
    return topic


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) <= value < 2**63:
        raise BadRequest(wire.ERR_BAD_REQUEST, f"{name} must be an integer, got {value!r}")
    return value
