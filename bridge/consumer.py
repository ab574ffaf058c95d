"""The JetStream source of the client library: ticks from the NATS stream the bridges fill,
behind the same API as ``aggregation.client.HubClient`` (``recv``, iteration, ``stats``,
``close``, topics as contracts, products or prefixes), so a strategy moves from ZeroMQ to
JetStream by changing an address:

    with open_source("nats://nats1:4222,nats://nats2:4222", ["rb"]) as source:
        for tick in source:
            ...

Where to start: ``start="last"`` (the last value of every subscribed contract, then live:
the snapshot of HubClient; DeliverPolicy LAST_PER_SUBJECT), ``"new"`` (live only), ``"all"``
(the whole stream), a ``datetime`` or epoch ns (DeliverPolicy BY_START_TIME: the time the
stream stored it, close to the exchange time), or ``after_seq=`` (a stream sequence from an
earlier ``positions()``: resume with nothing lost or doubled).

An ordered consumer (ephemeral, in order, reset by the library from the next sequence when
it misses a message or its server dies) delivers the stream as stored. JetStream stores each
snapshot once within its duplicate window; a second copy outside it (a hub catching up after
a long NATS outage) or an older one behind a newer one is dropped here by the same
first-arrival rule as HubClient's across hubs (``duplicates``, ``late``). A message the
ordered consumer delivers again after a reset (same stream sequence) is dropped before that
rule and counted as ``redelivered``.

Credentials: ``user``/``password`` or ``MDHUB_NATS_READER_USER`` and
``MDHUB_NATS_READER_PASSWORD`` (or ``_PASSWORD_FILE``); they are never logged. No Django.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self

import msgpack
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import api

from aggregation import wire
from aggregation.client import HubAddress, HubClient, Subscription
from aggregation.dedup import FirstArrival
from bridge.config import DEFAULT_STREAM, NatsConfig, parse_servers, secret
from bridge.subjects import filter_subjects, key_of

log = logging.getLogger("mdhub.client.jetstream")

Start = Literal["last", "new", "all"] | datetime | int
CONNECT_TIMEOUT = 10.0


class JetStreamSource:
    """Ticks (decoded payload dicts, or vn.py ``TickData`` with ``as_tick_data=True``) from a
    JetStream stream; see the module docstring. Not thread-safe: use it from one thread
    (a thread of its own runs the NATS connection)."""

    def __init__(
        self,
        servers: str | Sequence[str],
        topics: Sequence[str],
        *,
        start: Start = "last",
        after_seq: int | None = None,
        as_tick_data: bool = False,
        user: str | None = None,
        password: str | None = None,
        stream: str | None = None,
        queue_size: int = 100_000,
    ) -> None:
        self.servers = parse_servers(servers if isinstance(servers, str) else ",".join(servers))
        if not self.servers:
            raise ValueError("no NATS servers: pass e.g. nats://127.0.0.1:4222")
        self.subscription = Subscription.parse(topics)
        self.filters = filter_subjects(list(topics))
        env = os.environ
        self._user = user if user is not None else env.get("MDHUB_NATS_READER_USER", "")
        self._password = password if password is not None else secret(env, "MDHUB_NATS_READER_PASSWORD")
        self.stream = stream or env.get("MDHUB_NATS_STREAM", "") or DEFAULT_STREAM
        self.start = start
        self.after_seq = after_seq
        self._convert: Callable[[dict[str, Any]], Any] = wire.to_tick_data if as_tick_data else _identity
        self._queue: queue.Queue[tuple[dict[str, Any], int]] = queue.Queue(queue_size)
        self._dedup = FirstArrival()
        self._closed = False
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self._nc: Client | None = None
        self._subscription: Any = None  # nats-py's push subscription, once subscribed
        self._stop: asyncio.Event | None = None
        self.last_seq = after_seq or 0
        self.received = 0
        self.delivered = 0
        self.duplicates = 0
        self.late = 0
        self.bad = 0
        # Stream sequence of the last message taken: an ordered consumer that resets (a
        # missed heartbeat on a loaded machine) starts again after the last message it
        # *processed*, and what nats-py had already queued comes a second time.
        self._stream_seq = after_seq or 0
        self.redelivered = 0
        self._thread = threading.Thread(target=self._run, name="jetstream-source", daemon=True)
        self._thread.start()
        if not self._ready.wait(2 * CONNECT_TIMEOUT + 5) or self._error is not None:
            self.close()
            raise ConnectionError(
                f"cannot read stream {self.stream} at {','.join(self.servers)}: {self._error}"
            )

    # -- the public API, as HubClient's ---------------------------------------------------

    def recv(self, timeout: float | None = None) -> Any:
        """The next tick; ``None`` when none came within ``timeout`` seconds (None: wait)."""
        if self._closed:
            raise RuntimeError("this JetStreamSource is closed: create a new one")
        try:
            fields, seq = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        self.last_seq = seq
        self.delivered += 1
        return self._convert(fields)

    def __iter__(self) -> Iterator[Any]:
        while True:
            tick = self.recv(None)
            if tick is not None:
                yield tick

    def stats(self) -> dict[str, int]:
        names = ("received", "delivered", "duplicates", "late", "bad", "redelivered")
        return {name: getattr(self, name) for name in names}

    def positions(self) -> dict[str, int]:
        """``{"stream_seq": n}``: pass ``after_seq=n`` to a later source to go on after it."""
        return {"stream_seq": self.last_seq}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._stop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the NATS side, on its own thread -------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except (OSError, TimeoutError, ValueError, nats.errors.Error) as exc:
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    def _config(self) -> api.ConsumerConfig:
        config = api.ConsumerConfig()
        if len(self.filters) > 1:
            config.filter_subjects = list(self.filters)
        if self.after_seq is not None:
            config.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = self.after_seq + 1
        elif self.start == "last":
            config.deliver_policy = api.DeliverPolicy.LAST_PER_SUBJECT
        elif self.start == "new":
            config.deliver_policy = api.DeliverPolicy.NEW
        elif self.start == "all":
            config.deliver_policy = api.DeliverPolicy.ALL
        else:
            when = self.start
            if isinstance(when, int):
                when = datetime.fromtimestamp(when / 1e9, UTC)
            if not isinstance(when, datetime) or when.tzinfo is None:
                raise ValueError(
                    f"start={self.start!r}: use 'last', 'new', 'all', an aware datetime or epoch ns"
                )
            config.deliver_policy = api.DeliverPolicy.BY_START_TIME
            config.opt_start_time = when
        return config

    async def _main(self) -> None:
        self._stop = asyncio.Event()

        async def error_cb(exc: Exception) -> None:
            log.warning("NATS: %s", exc)

        self._nc = await nats.connect(
            servers=self.servers,
            user=self._user or None,
            password=self._password or None,
            name="mdhub-client",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=2,
            error_cb=error_cb,
        )
        try:
            js = self._nc.jetstream(timeout=5)
            config = self._config()
            deadline = time.monotonic() + CONNECT_TIMEOUT
            while True:
                try:
                    sub = await js.subscribe(
                        self.filters[0],
                        stream=self.stream,
                        cb=self._on_msg,
                        ordered_consumer=True,
                        idle_heartbeat=1.0,
                        config=config,
                    )
                    break
                except TimeoutError:
                    # A cluster that just lost or regained a node answers late for a few
                    # seconds (its stream leader is being elected): ask again, for a while.
                    if time.monotonic() > deadline:
                        raise
            self._subscription = sub
            self._ready.set()
            await self._stop.wait()
            await sub.unsubscribe()
        finally:
            await self._nc.close()

    async def _on_msg(self, msg: Msg) -> None:
        self.received += 1
        try:
            headers = msg.headers or {}
            topic = headers["Mdhub-Topic"]
            key = key_of(headers["Nats-Msg-Id"])
            fields = msgpack.unpackb(msg.data)
            seq = msg.metadata.sequence.stream
        except (KeyError, ValueError, TypeError, AttributeError):
            self.bad += 1  # counted and dropped
            return
        if seq <= self._stream_seq:
            # The same stored message again, not a second copy of a snapshot: the stream's
            # sequence only grows, so it is dropped before the first-arrival rule sees it.
            self.redelivered += 1
            return
        self._stream_seq = seq
        if not isinstance(fields, dict) or not self.subscription.wants(topic.encode()):
            return
        verdict = self._dedup.offer(topic.encode(), key, "", time.time_ns())
        if not verdict.forward:
            if verdict.winner is None:
                self.late += 1
            else:
                self.duplicates += 1
            return
        item = (fields, seq)
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            # The reader is behind: wait for room off the loop (NATS's flow control and the
            # ordered consumer's reset keep the stream whole meanwhile).
            await asyncio.to_thread(self._queue.put, item)


def _identity(fields: dict[str, Any]) -> dict[str, Any]:
    return fields


def open_source(
    address: str, topics: Sequence[str], **kwargs: Any
) -> JetStreamSource | HubClient[dict[str, Any]]:
    """A tick source by address: ``nats://host:4222[,nats://...]`` reads JetStream, anything
    else is a hub (``tcp://h:5555[,tcp://h:5556[,tcp://h:5557]]``, ``HubAddress.parse``).
    The hook for ``HubClient``'s callers: only the address changes."""
    if address.startswith(("nats://", "tls://")):
        return JetStreamSource(address, topics, **kwargs)
    return HubClient(HubAddress.parse(address), topics, **kwargs)


__all__ = ["JetStreamSource", "NatsConfig", "open_source"]
