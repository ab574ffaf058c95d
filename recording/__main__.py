"""``python -m recording``: record, query, export and replay trading days (docs/recording.md).

    python -m recording record --day 2026-12-01           # that day's journal → Parquet
    python -m recording record --closed                   # every closed day not yet recorded
    python -m recording ticks rb2605.SHFE --day 2026-12-01 [--csv] [--limit N --offset M]
    python -m recording export-vnpy --day 2026-12-01 [--symbol rb2605.SHFE ...]
    python -m recording replay --day 2026-12-01 --pub tcp://*:6555 --snapshot tcp://*:6556 [--speed 10]
    python -m recording usage                              # disk use; --cleanup applies retention

Exit status: 0 done, 2 the day (or its journal) does not exist or an argument is wrong.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import sys
import time
from datetime import date
from pathlib import Path

from aggregation.journal_day import trading_day
from aggregation.sessions import default_calendar
from recording import config, layout
from recording.daily import closed_days
from recording.query import DayNotFound, exchange_time, ticks
from recording.schema import COLUMNS
from recording.writer import JournalNotFound, record_day


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as 2026-12-01") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recording", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="the recording (MDHUB_RECORDING_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    rec = sub.add_parser("record", help="write a day's journal as Parquet")
    rec.add_argument("--journal", type=Path, default=None, help="the journal (MDHUB_JOURNAL_DIR)")
    which = rec.add_mutually_exclusive_group(required=True)
    which.add_argument("--day", type=_day)
    which.add_argument("--closed", action="store_true", help="every closed day not yet recorded")

    q = sub.add_parser("ticks", help="one contract's ticks of a day")
    q.add_argument("vt_symbol", help="e.g. rb2605.SHFE")
    q.add_argument("--day", type=_day, required=True)
    q.add_argument("--csv", action="store_true", help="CSV with every field instead of a table")
    q.add_argument("--limit", type=int, default=None)
    q.add_argument("--offset", type=int, default=0)

    ex = sub.add_parser("export-vnpy", help="a day's ticks into vn.py's database")
    ex.add_argument("--day", type=_day, required=True)
    ex.add_argument("--symbol", action="append", default=None, help="vt_symbol (repeatable); default all")

    rp = sub.add_parser("replay", help="play a day back through the wire protocol")
    rp.add_argument("--day", type=_day, required=True)
    rp.add_argument("--pub", default="tcp://127.0.0.1:6555")
    rp.add_argument("--snapshot", default="tcp://127.0.0.1:6556")
    rp.add_argument("--speed", type=float, default=1.0, help="1 real time, N faster, 0 as fast as read")
    rp.add_argument("--symbol", action="append", default=None, help="vt_symbol or prefix; default all")
    rp.add_argument("--wait", type=float, default=None, help="give up after this long without a client")

    us = sub.add_parser("usage", help="disk use of the recording")
    us.add_argument("--cleanup", action="store_true", help="delete days past MDHUB_RECORDING_RETENTION_DAYS")
    return parser


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _record(args: argparse.Namespace, root: Path) -> int:
    journal = args.journal or config.journal_dir()
    calendar = default_calendar()
    if args.closed:
        today = trading_day(time.time_ns(), calendar.is_trading_day)
        days = closed_days(journal, root, today, config.retention_days())
    else:
        days = [args.day]
    for day in days:
        try:
            result = record_day(journal, root, day, is_trading_day=calendar.is_trading_day)
        except JournalNotFound as exc:
            return _fail(f"{exc}. Is MDHUB_JOURNAL_DIR (or --journal) the hub's journal directory?")
        print(
            f"{result.day}: {result.ticks} ticks, {result.contracts} contracts, "
            f"{result.parquet_bytes} bytes, "
            f"{result.seconds:.1f} s (dropped {result.bad} bad, {result.misdated} of another day; "
            f"{len(result.holes)} holes)"
        )
    return 0


def _ticks(args: argparse.Namespace, root: Path) -> int:
    try:
        page = ticks(root, args.vt_symbol, args.day, args.limit, args.offset)
    except DayNotFound as exc:
        known = layout.recorded_days(root)
        hint = f"recorded days: {known[0]} to {known[-1]}" if known else f"nothing is recorded under {root}"
        return _fail(f"{exc} ({hint})")
    except ValueError as exc:
        return _fail(str(exc))
    if args.csv:
        out = csv.writer(sys.stdout)
        out.writerow(["exchange_time", *COLUMNS])
        for row in page.rows:
            out.writerow([exchange_time(row["datetime"]), *(row[c] for c in COLUMNS)])
        return 0
    heads = ("last", "volume", "bid_1", "ask_1")
    print(f"{'exchange time (Asia/Shanghai)':29}  " + " ".join(f"{h:>10}" for h in heads) + f" {'seq':>7}")
    for row in page.rows:
        print(
            f"{exchange_time(row['datetime']):29}  {row['last_price']:10g} {row['volume']:10g} "
            f"{row['bid_price_1']:10g} {row['ask_price_1']:10g} {row['seq']:7d}"
        )
    print(f"{len(page.rows)} of {page.total} ticks of {args.vt_symbol} on {args.day}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace, root: Path) -> int:
    from recording.vnpy_export import export_day

    try:
        result = export_day(root, args.day, args.symbol)
    except DayNotFound as exc:
        return _fail(str(exc))
    print(json.dumps(dataclasses.asdict(result)))
    return 0


def _replay(args: argparse.Namespace, root: Path) -> int:
    import signal
    import threading

    from recording.replay import ReplayServer

    try:
        server = ReplayServer(root, args.day, args.pub, args.snapshot, speed=args.speed, symbols=args.symbol)
    except (DayNotFound, ValueError) as exc:
        return _fail(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(
        f"replaying {args.day} on {args.pub} (snapshot {args.snapshot}); waiting for a client",
        file=sys.stderr,
    )
    try:
        stats = server.run(stop, args.wait)
    except KeyboardInterrupt:
        stats = server.stats
    finally:
        server.close()
    print(json.dumps({"sent": stats.sent, "seconds": round(stats.seconds, 3), "rate": round(stats.rate)}))
    return 0


def _usage(args: argparse.Namespace, root: Path) -> int:
    if args.cleanup:
        today = trading_day(time.time_ns(), default_calendar().is_trading_day)
        for day in layout.cleanup(root, config.retention_days(), today):
            print(f"deleted {day}", file=sys.stderr)
    print(json.dumps(layout.disk_use(root).as_dict()))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    root = args.root or config.recording_dir()
    handlers = {
        "record": _record,
        "ticks": _ticks,
        "export-vnpy": _export,
        "replay": _replay,
        "usage": _usage,
    }
    return handlers[args.command](args, root)


if __name__ == "__main__":
    sys.exit(main())
