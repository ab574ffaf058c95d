"""Run one data service as its own process: read the hub's stream, publish through the hub.

    python -m services.runner --service bars
    python -m services.runner --service greeks --contracts run/option-contracts.json

It reads the ticks from the hub's tape (the journal the hub writes anyway: ``--input=tape``,
the default when there is one; ``services.tape``) or, without a journal, as any client does
(``HubClient``: snapshot, then live), and pushes its records into the hub's ingest socket as
one-frame messages, the way a gateway worker pushes ticks, so the hub stamps ``seq``, keeps
the last value and forwards them on its one PUB endpoint. It sends a status frame every
second (its heartbeat) like a worker. Being its own process, a slow or crashed service
never delays a tick: the hub never waits on it.

Settings come from the environment (flags override them); docs/services.md lists them.
No Django import (the import-linter contract: services may import aggregation only).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from types import FrameType
from typing import Any

import zmq

from aggregation.client import HubAddress, HubClient
from aggregation.curve import internal_key_file_from_env, read_internal_keys
from aggregation.records import encode_record
from aggregation.wire import KIND_STATUS, datetime_from_ns, pack, tick_head
from services.bars import ALL_INTERVALS, BarService
from services.base import Record, Service
from services.calendar import load_calendar, sessions_module
from services.inputs import AUTO, HUB, INPUTS, HubInput, TapeInput, TickInput, choose_input
from services.option_symbols import load_contract_table
from services.priority import IDLE, PRIORITIES, lower_priority
from services.sections import CHINA_TZ, SessionClock
from services.tape import START, TAPE_FROM, TapeFollower

log = logging.getLogger("mdhub.services")

STATUS_INTERVAL = 1.0
# How often a service reads its queued ticks (Runner); at most MAX_BATCH of them per wake.
DEFAULT_CADENCE_MS = 20.0
MAX_BATCH = 5_000
SERVICES = ("bars", "greeks")


class RecordSender:
    """PUSH records to the hub's ingest, never blocking: when the hub is gone and the
    buffer is full a record is dropped and counted (the service must keep up with ticks)."""

    def __init__(self, ctx: zmq.Context[Any], address: str, account: str) -> None:
        self.account = account.encode()
        tick_head(self.account, b"bar.")  # an account name too long for a frame fails here
        self.sock = ctx.socket(zmq.PUSH)
        self.sock.setsockopt(zmq.SNDHWM, 100_000)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(address)
        self._heads: dict[str, bytes] = {}
        self.sent = 0
        self.dropped = 0

    def send(self, record: Record) -> None:
        head = self._heads.get(record.topic)
        if head is None:
            head = self._heads[record.topic] = tick_head(self.account, record.topic.encode())
        key, body = encode_record(record.time_ns, record.fields)
        try:
            self.sock.send(b"".join((head, key, body)), zmq.NOBLOCK)
            self.sent += 1
        except zmq.Again:
            self.dropped += 1

    def status(self, fields: dict[str, Any]) -> None:
        # A heartbeat the hub cannot take now is simply the next one's job.
        with contextlib.suppress(zmq.Again):
            self.sock.send_multipart((KIND_STATUS, self.account, pack(fields)), zmq.NOBLOCK)

    def close(self) -> None:
        self.sock.close()


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw.strip() else default
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a number") from None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name}={raw!r} is not a yes/no value (1/0, true/false)")


def connect_address(bound: str) -> str:
    """The address to connect to for an address the hub binds (``tcp://*:5555``)."""
    return bound.replace("://*:", "://127.0.0.1:").replace("://0.0.0.0:", "://127.0.0.1:")


def sim_calendar() -> Any:
    """A calendar open around the clock on every day, as the simulated exchange is (its
    stamps are the wall clock): for the demo and the end-to-end tests."""
    sessions = sessions_module()

    class AlwaysOpen(sessions.TradingCalendar):  # type: ignore[misc,name-defined]
        def is_trading_day(self, d: Any) -> bool:
            return True

    window = sessions.SessionWindow(clock_time(0), clock_time(0), sessions.CONTINUOUS)
    exchanges = ("SHFE", "INE", "DCE", "CZCE", "GFEX", "CFFEX", "SSE", "SZSE")
    return AlwaysOpen([sessions.SessionRule(e, "", window) for e in exchanges], [])


def build_service(args: argparse.Namespace) -> Service:
    calendar = sim_calendar() if args.calendar == "sim" else load_calendar(args.calendar)
    spec = args.topics
    if spec is None:
        spec = os.environ.get(f"MDHUB_{args.service.upper()}_TOPICS", "")
    topics = tuple(t.strip() for t in spec.split(",") if t.strip()) or ("tick.",)
    if args.service == "bars":
        intervals = tuple(i.strip() for i in args.intervals.split(",") if i.strip())
        clock = SessionClock(calendar, grace=_ms(args.grace_ms))
        return BarService(clock, intervals=intervals, emit_flat=args.flat, prefixes=topics)
    from services.greeks import GreeksService  # imports vollib (numpy, scipy): only here

    table = load_contract_table(args.contracts) if args.contracts else None
    return GreeksService(
        calendar,
        rate=args.rate,
        dividend=args.dividend,
        throttle=args.throttle_ms / 1000,
        table=table,
        prefixes=topics,
    )


def _ms(value: float) -> timedelta:
    return timedelta(milliseconds=value)


def parser() -> argparse.ArgumentParser:
    run_dir = Path(os.environ.get("MDHUB_RUN_DIR", "run"))
    p = argparse.ArgumentParser(prog="python -m services.runner", description=__doc__.split("\n\n")[0])
    p.add_argument("--service", choices=SERVICES, required=True)
    p.add_argument("--account", help="the source name the hub shows (default svc-<service>)")
    p.add_argument("--pub", default=connect_address(os.environ.get("MDHUB_PUB_ADDR", "tcp://127.0.0.1:5555")))
    p.add_argument(
        "--snapshot", default=connect_address(os.environ.get("MDHUB_SNAPSHOT_ADDR", "tcp://127.0.0.1:5556"))
    )
    p.add_argument("--ingest", default=f"ipc://{run_dir / 'ingest.ipc'}", help="the hub's ingest PULL")
    p.add_argument(
        "--calendar",
        default=os.environ.get("MDHUB_SERVICES_CALENDAR", ""),
        help="calendar spec JSON (the hub's calendar_spec), 'sim' (always open), or empty: defaults",
    )
    p.add_argument(
        "--intervals",
        default=os.environ.get("MDHUB_BARS_INTERVALS", ",".join(ALL_INTERVALS)),
        help="bar intervals: 1m,5m,15m,30m,1h,d, or seconds such as 5s",
    )
    flat = p.add_mutually_exclusive_group()
    flat.add_argument("--flat", dest="flat", action="store_true", default=env_bool("MDHUB_BARS_FLAT", True))
    flat.add_argument("--no-flat", dest="flat", action="store_false", help="emit no bar without a trade")
    p.add_argument("--grace-ms", type=float, default=env_float("MDHUB_BARS_GRACE_MS", 2000))
    p.add_argument("--throttle-ms", type=float, default=env_float("MDHUB_GREEKS_THROTTLE_MS", 500))
    p.add_argument("--rate", type=float, default=env_float("MDHUB_GREEKS_RATE", 0.015))
    p.add_argument("--dividend", type=float, default=env_float("MDHUB_GREEKS_DIVIDEND", 0.0))
    p.add_argument("--contracts", default=os.environ.get("MDHUB_OPTION_CONTRACTS", ""))
    p.add_argument(
        "--topics",
        default=None,
        help="what to read, as HubClient topics (products, contracts, prefixes), comma-separated "
        "(default MDHUB_BARS_TOPICS / MDHUB_GREEKS_TOPICS, else everything): fewer topics, less "
        "for the hub to send (Greeks: the option products and their underlyings, IO,IF,MO,IM)",
    )
    p.add_argument(
        "--priority",
        choices=PRIORITIES,
        default=os.environ.get("MDHUB_SERVICES_PRIORITY", "").strip() or IDLE,
        help="CPU priority: idle (SCHED_IDLE, default), nice (nice 19), normal (as the hub)",
    )
    p.add_argument(
        "--cadence-ms",
        type=float,
        default=env_float("MDHUB_SERVICES_CADENCE_MS", DEFAULT_CADENCE_MS),
        help="read the stream in batches this often instead of waking for every tick (0: per tick)",
    )
    p.add_argument(
        "--input",
        choices=INPUTS,
        default=os.environ.get("MDHUB_SERVICES_INPUT", "").strip() or AUTO,
        help="where the ticks come from: tape (the hub's journal file: the hub sends the service "
        "nothing), hub (its stream), auto (tape when there is a journal directory; default)",
    )
    p.add_argument(
        "--journal-dir",
        default=default_journal_dir(),
        help="the hub's journal directory (default MDHUB_JOURNAL_DIR unless MDHUB_JOURNAL is off)",
    )
    p.add_argument(
        "--tape-from",
        choices=TAPE_FROM,
        default=os.environ.get("MDHUB_SERVICES_TAPE_FROM", "").strip() or START,
        help="read the trading day's tape from its start (a restarted bar service rebuilds "
        "today's bars; default) or from its end (only what comes next)",
    )
    internal = internal_key_file_from_env(os.environ)
    p.add_argument(
        "--curve-key-file",
        default=str(internal) if internal is not None else "",
        help="a hub with CURVE on: the internal client's key file the hub writes (docs/access.md)",
    )
    return p


def default_journal_dir() -> str:
    if not env_bool("MDHUB_JOURNAL", True):
        return ""
    return os.environ.get("MDHUB_JOURNAL_DIR", "").strip()


class Runner:
    """The service loop: a batch of ticks (or the timer) in, records out; SIGTERM ends it.

    With a ``cadence`` the runner does not wake for every tick: it takes what is queued (the
    SUB's queue, or what the tape grew by; at most ``MAX_BATCH``), handles it, and sleeps out
    the rest of the cadence. On 2 cores a wake-up per tick per service costs the hub several
    context switches a tick; a wake-up per cadence costs it nothing measurable, and a bar
    or a Greeks record is at most one cadence later (a bar waits ``grace`` for its last tick
    anyway, Greeks are throttled to 500 ms). What the service suffers is in its status:
    ``lag_ms`` (how old the ticks of the last batch were when handled, from the worker's
    ``recv_ns``), ``lag_max_ms`` (the worst since the last status), ``missed`` (ticks that
    never reached this service: ``seq`` gaps on the stream, hole records on the tape).

    On the tape, a tick's clock is its own ``recv_ns`` (never going back; what the wall clock
    said when the hub got it), and so is the timer's while the tape is read from behind (the
    day's start): a bar closes when the tape's time passes its end, as it did live, not all
    at once because the wall clock is hours later. Caught up, the timer runs on the wall
    clock (a section's last bar closes at its end even when no tick comes).
    """

    def __init__(
        self,
        service: Service,
        source: TickInput,
        sender: RecordSender,
        cadence: float = DEFAULT_CADENCE_MS / 1000,
    ) -> None:
        self.service = service
        self.source = source
        self.sender = sender
        self.cadence = cadence
        self.shutdown = False
        self.ticks = 0
        self.batches = 0
        self.errors = 0
        self.lag_ms = 0.0
        self.lag_max_ms = 0.0
        self._tape_ns = 0  # the replay's clock: the last tick's recv_ns
        self._next_timer = 0.0
        self._next_status = 0.0

    def take_batch(self) -> list[dict[str, Any]]:
        """The ticks queued now, waiting for the first up to the next timer round."""
        wait = max(0.0, min(self._next_timer, self._next_status) - time.monotonic())
        return self.source.take(wait, MAX_BATCH)

    def step(self) -> bool:
        """Handle one batch of ticks and the timer; returns whether ticks came."""
        woke = time.monotonic()
        batch = self.take_batch()
        replaying = self.source.replaying
        now = datetime.now(CHINA_TZ)
        if batch:
            self.ticks += len(batch)
            self.batches += 1
            self._note_lag(batch[0])
            on_tick = self.service.on_tick
            if self.source.tape:
                for tick in batch:
                    self._send(on_tick, tick, self._tape_clock(tick, now))
                if replaying and self._tape_ns:
                    now = min(now, datetime_from_ns(self._tape_ns, CHINA_TZ))
            else:
                for tick in batch:
                    self._send(on_tick, tick, now)
        mono = time.monotonic()
        if mono >= self._next_timer:
            self._next_timer = mono + self.service.timer_interval
            self._send(self.service.on_timer, now)
        if mono >= self._next_status:
            self._next_status = mono + STATUS_INTERVAL
            self.sender.status(self.status())
            self.lag_max_ms = self.lag_ms
        if batch and len(batch) < MAX_BATCH and not replaying and not self.shutdown:
            # Let the next ticks gather (a full batch, or a replay: more are waiting).
            rest = self.cadence - (time.monotonic() - woke)
            if rest > 0:
                time.sleep(rest)
        return bool(batch)

    def _tape_clock(self, tick: dict[str, Any], wall: datetime) -> datetime:
        stamp = tick.get("recv_ns")
        if isinstance(stamp, int) and stamp > self._tape_ns:
            self._tape_ns = stamp
        if not self._tape_ns:
            return wall
        return min(wall, datetime_from_ns(self._tape_ns, CHINA_TZ))

    def _note_lag(self, oldest: dict[str, Any]) -> None:
        stamp = oldest.get("recv_ns")
        if isinstance(stamp, int) and stamp > 0:
            self.lag_ms = max(0.0, (time.time_ns() - stamp) / 1e6)
            self.lag_max_ms = max(self.lag_max_ms, self.lag_ms)

    def _send(self, handler: Any, *args: Any) -> None:
        try:
            records: list[Record] = handler(*args)
        except Exception:  # a bug on one tick must not end the service
            self.errors += 1
            log.exception("%s: a %s call failed", self.service.name, getattr(handler, "__name__", "handler"))
            return
        for record in records:
            self.sender.send(record)

    def status(self) -> dict[str, Any]:
        return {
            "connected": self.source.connected,
            "logged_in": True,
            "subscribed": len(self.service.topics()),
            "error": "",
            "pid": os.getpid(),
            "ts": time.time(),
            "service": self.service.name,
            "ticks": self.ticks,
            "batches": self.batches,
            "lag_ms": round(self.lag_ms, 1),
            "lag_max_ms": round(self.lag_max_ms, 1),
            "missed": self.source.missed,
            "records": self.sender.sent,
            "dropped": self.sender.dropped,
            "errors": self.errors,
            **self.source.status(),
            **self.service.status(),
        }

    def run(self) -> None:
        while not self.shutdown:
            self.step()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # First, before any thread starts (they inherit it): a service may lag, a tick may not.
    try:
        priority = lower_priority(args.priority)
    except ValueError as exc:  # MDHUB_SERVICES_PRIORITY (argparse checks only the flag)
        print(f"services.runner: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if priority != args.priority:
        log.warning("asked for CPU priority %s, running at %s", args.priority, priority)
    try:
        service = build_service(args)
    except (ValueError, OSError) as exc:
        print(f"services.runner: {exc}", file=sys.stderr)
        return 2
    curve, server_key = None, None
    if args.curve_key_file:
        try:
            curve, server_key = read_internal_keys(Path(args.curve_key_file))
        except ValueError as exc:
            print(f"services.runner: {exc}", file=sys.stderr)
            return 2
    try:
        chosen = choose_input(args.input, args.journal_dir)
    except ValueError as exc:  # MDHUB_SERVICES_INPUT (argparse checks only the flag)
        print(f"services.runner: {exc}", file=sys.stderr)
        return 2
    cadence = max(0.0, args.cadence_ms) / 1000
    ctx: zmq.Context[Any] = zmq.Context()
    sender = RecordSender(ctx, args.ingest, args.account or f"svc-{args.service}")
    source: TickInput
    if chosen == HUB:
        client: HubClient[dict[str, Any]] = HubClient(
            HubAddress(args.pub, args.snapshot, server_key=server_key),
            service.topics(),
            context=ctx,
            curve=curve,
        )
        source, where = HubInput(client), args.pub
    else:
        follower = TapeFollower(Path(args.journal_dir), service.topics(), start=args.tape_from)
        source, where = (
            TapeInput(follower, cadence),
            f"the tape in {args.journal_dir} (from its {args.tape_from})",
        )
    runner = Runner(service, source, sender, cadence=cadence)

    def stop(signum: int, frame: FrameType | None) -> None:
        runner.shutdown = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("%s service reading %s, publishing into %s", service.name, where, args.ingest)
    try:
        runner.run()
    finally:
        source.close()
        sender.close()
        ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
