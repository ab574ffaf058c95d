"""The broker's instrument query: the pinned CtpGateway's / SoptGateway's own ``td_api``
against the loopback trader front (gateways/loopback/loopback_td.cpp + front.py), in the
one-shot process of ``gateways.instrument_query``, and the contract table refreshed from it
(``manage.py refresh_universe``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import MarketDataAccount
from aggregation.models import Contract
from aggregation.sessions import CHINA_TZ
from aggregation.universe import Universe
from engine.universe_roll import rules_source
from gateways.instrument_query import (
    QueryError,
    TradingLogin,
    instrument_of,
    query_instruments,
    trading_logins,
)
from gateways.loopback.build import main as build_loopback
from gateways.loopback.front import send_control
from tests.zmq_helpers import free_port, wait_for

PROJECT = Path(__file__).resolve().parent.parent
SECRET = "pw-trading-secret"
AUTH = "auth-code-0001"


class TraderFront:
    """``python -m gateways.loopback.front serve`` (no simulated exchange behind it: the
    instrument query needs only the listing), its clock shifted by ``offset_days``."""

    def __init__(self, tmp: Path, offset_days: int = 0) -> None:
        build_loopback()  # idempotent: a no-op once ./dev setup has built the libraries
        self.tmp = tmp
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.control_addr = f"ipc://{tmp}/ctl.ipc"
        self.offset = offset_days * 86400.0
        argv = [sys.executable, "-m", "gateways.loopback.front", "serve", "--listen", self.address]
        argv += ["--sim", f"ipc://{tmp}/no-sim.ipc", "--control", self.control_addr]
        argv += ["--clock-offset", str(self.offset)]
        self.log = tmp / "front.log"
        self.proc = subprocess.Popen(argv, cwd=PROJECT, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        wait_for(lambda: send_control(self.control_addr, timeout=0.5, cmd="status").get("ok"), timeout=15)

    def exchange_date(self) -> date:
        return (datetime.now(CHINA_TZ) + timedelta(seconds=self.offset)).date()

    def settings(self, user: str, **extra: Any) -> dict[str, Any]:
        return {
            "userID": user,
            "password": SECRET,
            "brokerID": "9999",
            "mdAddress": self.address,
            "tdAddress": self.address,
            "appID": "mdhub_1.0",
            "authCode": AUTH,
            "loopback": True,
            **extra,
        }

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TraderFront]:
    world = TraderFront(tmp_path_factory.mktemp("trader"))
    # dave's broker requires this auth code: anything else is ErrorID 63.
    send_control(world.control_addr, cmd="quirks", user="dave", set={"auth_code": AUTH})
    yield world
    world.stop()


def _fields(universe: Universe) -> dict[str, tuple[Any, ...]]:
    return {
        vt: (
            i.exchange,
            i.product,
            i.expiry,
            i.size,
            i.pricetick,
            i.option_underlying,
            i.option_strike,
            i.option_type,
        )
        for vt, i in universe.instruments.items()
    }


def test_the_pinned_ctp_gateway_reads_the_futures_universe_from_the_trading_front(front: TraderFront) -> None:
    login = TradingLogin.of("alice-ctp", "ctp", front.settings("alice"))
    assert login is not None
    result = query_instruments(login, timeout=20)
    day = front.exchange_date()
    got = Universe.of(day, result.instruments)
    rules = rules_source(day)
    expected = {vt: f for vt, f in _fields(rules).items() if not vt.endswith(".SSE")}
    # Every record the front sent became an instrument, with what the listing says.
    assert result.dropped == 0 and result.records == len(expected) > 150
    assert _fields(got) == expected
    io = next(i for i in got.instruments.values() if i.product == "IO" and i.option_type == "P")
    assert io.is_option and io.option_underlying.startswith("IF") and io.option_strike
    rb = got.of_product("rb")[0]
    assert (rb.exchange, rb.size, rb.pricetick, rb.is_option) == ("SHFE", 10.0, 1.0, False)
    assert rb.name.startswith("螺纹钢")  # GB18030 through the vendor wrapper, read right
    # The password never leaves the process (the library does not send it).
    assert SECRET not in front.log.read_text(errors="replace")


def test_the_pinned_sopt_gateway_reads_the_sse_option_chains(front: TraderFront) -> None:
    login = TradingLogin.of("alice-sopt", "sopt", front.settings("alice"))
    assert login is not None
    result = query_instruments(login, timeout=20)
    day = front.exchange_date()
    expected = {vt: f for vt, f in _fields(rules_source(day)).items() if vt.endswith(".SSE")}
    assert result.dropped == 0 and len(expected) > 0
    assert _fields(Universe.of(day, result.instruments)) == expected
    assert {i.option_type for i in result.instruments} == {"C", "P"}


def test_a_wrong_auth_code_is_refused_with_the_vendors_error_and_says_what_to_check(
    front: TraderFront,
) -> None:
    login = TradingLogin.of("dave-ctp", "ctp", front.settings("dave", authCode="wrong"))
    assert login is not None
    with pytest.raises(QueryError, match=r"authentication refused \(check appID and authCode\): ErrorID 63"):
        query_instruments(login, timeout=10)
    good = TradingLogin.of("dave-ctp", "ctp", front.settings("dave"))
    assert good is not None and query_instruments(good, timeout=20).instruments


def test_an_unreachable_trading_front_fails_within_the_timeout() -> None:
    login = TradingLogin.of("erin", "ctp", {"tdAddress": f"tcp://127.0.0.1:{free_port()}", "loopback": True})
    assert login is not None
    with pytest.raises(QueryError, match=r"no complete instrument answer .* within 2 s"):
        query_instruments(login, timeout=2)


def test_records_that_are_not_contracts_are_dropped_and_a_czce_option_product_loses_its_suffix() -> None:
    future: dict[str, Any] = {
        "InstrumentID": "rb2705",
        "ExchangeID": "SHFE",
        "ProductID": "rb",
        "ProductClass": "1",
    }
    future |= {
        "VolumeMultiple": 10,
        "PriceTick": 1.0,
        "ExpireDate": "20270517",
        "InstrumentName": "螺纹钢2705",
    }
    assert instrument_of(future) is not None
    assert instrument_of(future | {"ExpireDate": "garbage"}).expiry is None  # type: ignore[union-attr]
    assert instrument_of(future | {"ProductClass": "3"}) is None  # a combination
    assert instrument_of(future | {"PriceTick": sys.float_info.max}) is None  # CTP's empty value
    assert instrument_of(future | {"VolumeMultiple": 0}) is None
    assert instrument_of({"ProductClass": "1"}) is None
    option = future | {
        "InstrumentID": "SR705C6000",
        "ExchangeID": "CZCE",
        "ProductID": "SRC",
        "ProductClass": "2",
    }
    option |= {"UnderlyingInstrID": "SR705", "StrikePrice": 6000.0, "OptionsType": "1"}
    sr = instrument_of(option)
    assert sr is not None and (sr.product, sr.option_type, sr.option_strike) == ("SR", "C", 6000.0)


def test_one_login_per_kind_in_priority_order_and_none_without_a_trading_address() -> None:
    logins = trading_logins(
        [
            ("md-only", "ctp", {"mdAddress": "tcp://h:1"}),
            ("first", "ctp", {"tdAddress": "h:2"}),
            ("second", "ctp", {"tdAddress": "tcp://h:3"}),
            ("sim", "sim", {"tdAddress": "tcp://h:4"}),
            ("opt", "sopt", {"tdAddress": "tcp://h:5"}),
        ]
    )
    assert [(x.account, x.td_address) for x in logins] == [("first", "tcp://h:2"), ("opt", "tcp://h:5")]
    assert SECRET not in repr(
        TradingLogin.of("x", "ctp", {"tdAddress": "h:1", "password": SECRET, "authCode": SECRET})
    )


@pytest.mark.django_db
def test_refresh_universe_takes_the_brokers_list_when_an_account_has_a_trading_login(tmp_path: Path) -> None:
    # The broker's front is 45 days ahead: it lists months the rules do not list yet today,
    # so the table shows whose list it took.
    ahead = TraderFront(tmp_path, offset_days=45)
    try:
        today = datetime.now(CHINA_TZ).date()
        MarketDataAccount.objects.create(
            id="ctp-td", gateway_type="ctp", settings=ahead.settings("frank"), is_enabled=True
        )
        Contract.objects.create(vt_symbol="XYZ1.SGE")  # an admin entry the rules do not know
        out = StringIO()
        call_command("refresh_universe", "--from-broker", "ctp-td", "--today", today.isoformat(), stdout=out)
        assert "from the broker instrument query: ctp-td" in out.getvalue()
        broker_only = set(_fields(rules_source(ahead.exchange_date()))) - set(_fields(rules_source(today)))
        broker_only = {vt for vt in broker_only if not vt.endswith(".SSE")}
        assert broker_only, "45 days on, new months are listed"
        table = set(Contract.objects.values_list("vt_symbol", flat=True))
        assert broker_only <= table
        assert "XYZ1.SGE" in table
        # SSE options: no sopt trading login, so the listing rules still give them.
        assert any(vt.endswith(".SSE") for vt in table)
        row = Contract.objects.get(vt_symbol=sorted(broker_only)[0])
        assert row.from_universe and not row.is_subscribed and row.expiry and row.size > 0

        # Without --from-broker, the enabled account's trading login is found by itself.
        out = StringIO()
        call_command("refresh_universe", "--today", today.isoformat(), stdout=out)
        assert "broker instrument query: ctp-td" in out.getvalue()
        assert "0 listed" in out.getvalue()
    finally:
        ahead.stop()


@pytest.mark.django_db
def test_a_failed_broker_query_falls_back_to_the_rules_or_fails_when_the_account_was_named() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nobody listens
    MarketDataAccount.objects.create(
        id="ctp-down",
        gateway_type="ctp",
        settings={"userID": "g", "password": SECRET, "brokerID": "1", "tdAddress": address, "loopback": True},
        is_enabled=True,
    )
    out, err = StringIO(), StringIO()
    call_command("refresh_universe", "--timeout", "1", stdout=out, stderr=err)
    assert "instrument query failed: ctp-down: no complete instrument answer" in err.getvalue()
    assert "from the listing rules" in out.getvalue()
    assert Contract.objects.filter(vt_symbol__endswith=".SHFE").exists()
    assert SECRET not in out.getvalue() + err.getvalue()
    count = Contract.objects.count()
    with pytest.raises(CommandError, match="the contract table is unchanged"):
        call_command("refresh_universe", "--from-broker", "ctp-down", "--timeout", "1", stderr=StringIO())
    assert Contract.objects.count() == count
    with pytest.raises(CommandError, match="no account nobody"):
        call_command("refresh_universe", "--from-broker", "nobody")
