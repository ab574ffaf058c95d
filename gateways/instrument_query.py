"""The broker's instrument query: the contract universe from a trading login.

    query_instruments(login)        # in the caller: runs the one-shot process below
    python -m gateways.instrument_query < login.json > result.json

A trading login (an account's ``tdAddress``, ``appID``, ``authCode``, ``userID``,
``password``, ``brokerID``) is used the way vn.py uses it: the pinned gateway's own
``td_api`` connects, authenticates, logs in, confirms the settlement and sends
``ReqQryInstrument``; every ``OnRspQryInstrument`` record is read as the vendor sent it
(vn.py's ``ContractData`` has no expiry for futures, so the raw record is kept, not the
converted contract) and becomes an ``aggregation.universe.Instrument``.

Why a process of its own, once per trading day: the vendor API cannot be closed safely
(``Release`` can deadlock holding the GIL) and runs threads of its own; a fresh process that
exits when the answer is in is clean, cannot wedge the hub, and is killed on a timeout. The
tick path never waits on it. ``manage.py refresh_universe`` runs it (the crontab, before the
daily start). The secrets travel on the child's stdin, never on its command line; no log
line carries them. No Django import.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aggregation.universe import Instrument

log = logging.getLogger("mdhub.instrument_query")

# The gateway module and class of each kind that has a trading side.
GATEWAYS = {"ctp": ("vnpy_ctp", "CtpGateway"), "sopt": ("vnpy_sopt", "SoptGateway")}
# ProductClass of the vendor headers: futures, options, and SOPT's ETF options.
FUTURES_CLASSES = {"1"}
OPTION_CLASSES = {"2", "6", "7"}
OPTION_TYPES = {"1": "C", "2": "P"}
DEFAULT_TIMEOUT = 60.0


class QueryError(RuntimeError):
    """The query gave no universe: the message says what went wrong and what to check."""


@dataclass(frozen=True)
class TradingLogin:
    account: str
    kind: str  # ctp | sopt
    td_address: str
    user_id: str
    broker_id: str
    password: str = field(repr=False)
    app_id: str = ""
    auth_code: str = field(default="", repr=False)
    loopback: bool = False

    @classmethod
    def of(cls, account: str, kind: str, settings: Mapping[str, Any]) -> TradingLogin | None:
        """The account's trading login; None when it has none (no ``tdAddress``, or a kind
        without a trading side)."""
        address = str(settings.get("tdAddress") or "").strip()
        if kind not in GATEWAYS or not address:
            return None
        if not address.startswith("tcp://"):
            address = "tcp://" + address  # as vn.py's gateways accept it
        return cls(
            account=account,
            kind=kind,
            td_address=address,
            user_id=str(settings.get("userID", "")),
            broker_id=str(settings.get("brokerID", "")),
            password=str(settings.get("password", "")),
            app_id=str(settings.get("appID", "")),
            auth_code=str(settings.get("authCode", "")),
            loopback=bool(settings.get("loopback")),
        )


@dataclass(frozen=True)
class QueryResult:
    account: str
    instruments: list[Instrument]
    records: int  # records received
    dropped: int  # records that were not a contract we can use (counted, not fatal)
    seconds: float


def trading_logins(accounts: Iterable[tuple[str, str, Mapping[str, Any]]]) -> list[TradingLogin]:
    """The first trading login of each kind among ``(id, gateway_type, settings)``, in the
    given order (priority): one query per market is enough, they list the same contracts."""
    chosen: dict[str, TradingLogin] = {}
    for account, kind, settings in accounts:
        login = TradingLogin.of(account, kind, settings)
        if login is not None and login.kind not in chosen:
            chosen[login.kind] = login
    return list(chosen.values())


def _date(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), "%Y%m%d").date()
    except (ValueError, AttributeError):
        return None


def instrument_of(record: Mapping[str, Any]) -> Instrument | None:
    """One ``CThostFtdcInstrumentField`` (as vn.py's wrapper hands it over: a dict of the
    vendor's field names) as an ``Instrument``; None for what is not a futures or option
    contract (combinations, spot, stocks) or a record that lacks what a contract needs."""
    product_class = str(record.get("ProductClass", ""))
    if product_class not in FUTURES_CLASSES | OPTION_CLASSES:
        return None
    symbol, exchange = str(record.get("InstrumentID", "")), str(record.get("ExchangeID", ""))
    size, tick = record.get("VolumeMultiple"), record.get("PriceTick")
    if not symbol or not exchange or not isinstance(size, int | float) or not isinstance(tick, int | float):
        return None
    if size <= 0 or not 0 < tick < 1e300:
        return None
    product = str(record.get("ProductID", "")) or symbol.rstrip("0123456789")
    option = product_class in OPTION_CLASSES
    if option and exchange == "CZCE" and product[-1:] in ("C", "P"):
        product = product[:-1]  # CZCE names its option products SRC / SRP (vn.py strips it too)
    strike = record.get("StrikePrice")
    return Instrument(
        symbol=symbol,
        exchange=exchange,
        product=product,
        name=str(record.get("InstrumentName", "")) or symbol,
        is_option=option,
        size=float(size),
        pricetick=float(tick),
        expiry=_date(str(record.get("ExpireDate", ""))),
        option_underlying=str(record.get("UnderlyingInstrID", "")) if option else "",
        option_strike=float(strike) if option and isinstance(strike, int | float) else None,
        option_type=OPTION_TYPES.get(str(record.get("OptionsType", "")), "") if option else "",
    )


class _Collector:
    """What the query's callbacks saw, handed from the API's thread to the waiting one."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.error = ""
        self.done = threading.Event()

    def fail(self, what: str, error: Mapping[str, Any]) -> None:
        self.error = f"{what}: ErrorID {error.get('ErrorID')} {error.get('ErrorMsg', '')}".strip()
        self.done.set()


def query_here(login: TradingLogin, timeout: float = DEFAULT_TIMEOUT) -> QueryResult:
    """Run the query in this process (the one-shot child: the vendor API is never closed).
    Raises ``QueryError`` when no full answer came."""
    if login.loopback:
        from gateways.loopback.preload import preload, preload_trader

        # Both loopback libraries before vn.py's module is imported (it links both vendor ones).
        preload(login.kind)
        preload_trader(login.kind)
    import importlib

    from vnpy.event import EventEngine

    package, class_name = GATEWAYS[login.kind]
    module = importlib.import_module(f"{package}.gateway")
    collector = _Collector()
    gateway = getattr(module, class_name)(EventEngine(), login.account)
    td_api = gateway.td_api
    base = type(td_api)
    original_instrument = base.onRspQryInstrument
    original_authenticate = base.onRspAuthenticate
    original_login = base.onRspUserLogin

    # A subclass, not instance attributes: pybind11 looks callbacks up on the type. vn.py's
    # own handlers still run (its login flow sends the settlement confirm and the query).
    class QueryingTdApi(base):  # type: ignore[misc,valid-type]
        def onRspAuthenticate(
            self, data: dict[str, Any], error: dict[str, Any], reqid: int, last: bool
        ) -> None:
            if error and error.get("ErrorID"):
                collector.fail("authentication refused (check appID and authCode)", error)
            original_authenticate(self, data, error, reqid, last)

        def onRspUserLogin(self, data: dict[str, Any], error: dict[str, Any], reqid: int, last: bool) -> None:
            if error and error.get("ErrorID"):
                collector.fail("trading login refused (check userID, password, brokerID)", error)
            original_login(self, data, error, reqid, last)

        def onRspQryInstrument(
            self, data: dict[str, Any], error: dict[str, Any], reqid: int, last: bool
        ) -> None:
            if error and error.get("ErrorID"):
                collector.fail("instrument query refused", error)
                return
            if data:
                collector.records.append(dict(data))
                # vn.py's conversion may choke on a record; ours decides (instrument_of).
                with contextlib.suppress(KeyError, ValueError, TypeError):
                    original_instrument(self, data, error, reqid, last)
            if last:
                collector.done.set()

    td_api.__class__ = QueryingTdApi
    started = time.monotonic()
    td_api.connect(
        login.td_address, login.user_id, login.password, login.broker_id, login.auth_code, login.app_id
    )
    if not collector.done.wait(timeout):
        raise QueryError(
            f"{login.account}: no complete instrument answer from {login.td_address} within {timeout:.0f} s "
            f"({len(collector.records)} records so far): is the trading front reachable?"
        )
    if collector.error:
        raise QueryError(f"{login.account}: {collector.error}")
    instruments = [i for r in collector.records if (i := instrument_of(r)) is not None]
    return QueryResult(
        login.account,
        instruments,
        len(collector.records),
        len(collector.records) - len(instruments),
        time.monotonic() - started,
    )


def _encode(result: QueryResult) -> dict[str, Any]:
    out = asdict(result)
    for item in out["instruments"]:
        item.pop("vt_symbol", None)
        item["expiry"] = item["expiry"].isoformat() if item["expiry"] else None
    return out


def _decode(data: Mapping[str, Any]) -> QueryResult:
    instruments = [
        Instrument(
            **(dict(item) | {"expiry": date.fromisoformat(item["expiry"]) if item["expiry"] else None})
        )
        for item in data["instruments"]
    ]
    return QueryResult(data["account"], instruments, data["records"], data["dropped"], data["seconds"])


def query_instruments(
    login: TradingLogin, timeout: float = DEFAULT_TIMEOUT, workdir: Path | None = None
) -> QueryResult:
    """The instrument query in a one-shot child process. ``workdir`` holds vn.py's flow
    files (``.vntrader``); a temporary directory when not given."""
    with tempfile.TemporaryDirectory(prefix="mdhub-instruments-") as tmp:
        cwd = workdir or Path(tmp)
        (cwd / ".vntrader").mkdir(parents=True, exist_ok=True)
        request = asdict(login) | {"timeout": timeout}
        env = dict(os.environ)
        # The child imports the project's modules from wherever this one does.
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH")])
        )
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "gateways.instrument_query"],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                cwd=cwd,
                env=env,
                timeout=timeout + 15,
            )
        except subprocess.TimeoutExpired as exc:
            raise QueryError(f"{login.account}: the instrument query process hung; killed") from exc
    try:
        reply = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        reply = {}
    if reply.get("ok"):
        return _decode(reply["result"])
    detail = reply.get("error") or (proc.stderr.strip().splitlines() or ["no output"])[-1]
    raise QueryError(str(detail))


def main() -> int:
    request = json.loads(sys.stdin.read())
    timeout = float(request.pop("timeout", DEFAULT_TIMEOUT))
    login = TradingLogin(**request)
    # vn.py prints nothing we need; our stdout is the answer, one JSON line.
    logging.basicConfig(level="WARNING", stream=sys.stderr)
    try:
        reply: dict[str, Any] = {"ok": True, "result": _encode(query_here(login, timeout))}
    except QueryError as exc:
        reply = {"ok": False, "error": str(exc)}
    sys.stdout.write(json.dumps(reply, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    # The vendor API is never closed (see the module's docstring): leave without it.
    os._exit(0 if reply["ok"] else 1)


if __name__ == "__main__":
    sys.exit(main())
