"""The real broker kinds, ``ctp`` and ``sopt``: the pinned vn.py gateways, unchanged.

What we rely on, and why:
* ``md_api.login_status`` is the connection state; ``connect_status`` only means "API
  object created" and stays true while the front is unreachable.
* vn.py drops every tick whose symbol is not in the module's ``symbol_contract_map``. A
  trading login fills it; without one (market-data-only accounts) we fill it from the
  hub's contract list before subscribing.
* ``gateway.on_tick`` is replaced on the instance, so ticks go from the API's callback
  thread straight to ``emit`` and skip vn.py's EventEngine queue.
* vnpy_ctp dates DCE ticks with ``md_api.current_date``, which only its trading timer
  refreshes: the kind sets it per tick from the exchange's clock (``gateways.exchange_date``).
* ``{"loopback": true}`` in an account's settings loads the loopback front library
  (``gateways/loopback``) instead of the vendor's, for tests and the demo.
* The API is never closed: ``close()`` can segfault or deadlock (the GIL is held in
  ``exit()``). The worker process is ended instead.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import time
from collections.abc import Callable
from typing import Any

from gateways.exchange_date import ExchangeDate
from gateways.kinds.base import GatewayKind, KindStatus, TickEmitter

log = logging.getLogger("mdhub.worker.broker")

# Our English setting names → the Chinese keys vn.py's gateways read.
VNPY_KEYS = {
    "userID": "用户名",
    "password": "密码",
    "brokerID": "经纪商代码",
    "tdAddress": "交易服务器",
    "mdAddress": "行情服务器",
    "appID": "产品名称",
    "authCode": "授权编码",
}


class BrokerKind(GatewayKind):
    module_name = ""
    gateway_class = ""

    def __init__(self, spec: dict[str, Any], emitter: TickEmitter) -> None:
        super().__init__(spec, emitter)
        from vnpy.event import EventEngine
        from vnpy.trader.event import EVENT_LOG

        self.loopback = bool(self.settings.get("loopback"))
        self.flavour = self.module_name.split(".")[0].removeprefix("vnpy_")
        # The depth tee (gateways.depthtee) must be loaded before the wrapper and the
        # loopback library: the wrapper binds to the first library with the vendor's SONAME.
        from gateways.depthtee import tee as depth_tee

        self._tee_lib = (
            depth_tee.preload(self.flavour, self.loopback) if depth_tee.wanted(self.flavour) else None
        )
        self.depth_tee: Any = None
        clock_ns = time.time_ns
        if self.loopback:
            clock_ns = self._use_loopback_front()
        # The date vn.py puts on DCE ticks, from the exchange's clock (see gateways.exchange_date).
        self.exchange_date = ExchangeDate(clock_ns)
        self.module = importlib.import_module(self.module_name)
        self.event_engine = EventEngine(interval=1)
        self.event_engine.register(EVENT_LOG, self._on_log)
        gateway_cls = getattr(self.module, self.gateway_class)
        self.gateway = gateway_cls(self.event_engine, self.account)
        self.gateway.on_tick = self.emit
        self.reconnects = 0
        self.rejected_subscriptions = 0
        self._count_disconnects()
        self._fill_contract_map(spec.get("contracts") or [])

    def _count_disconnects(self) -> None:
        """Wrap the md API's callbacks: count disconnects and rejected subscriptions, and
        (vnpy_ctp only) put the right date and milliseconds on each tick."""
        md_api = self.gateway.md_api
        kind = self
        # A subclass, not an instance attribute: pybind11 looks callbacks up on the type.
        base = type(md_api)
        original_disconnected = base.onFrontDisconnected
        original_sub = base.onRspSubMarketData
        original_tick = base.onRtnDepthMarketData
        date_for = self.exchange_date.for_time

        class CountingMdApi(base):  # type: ignore[misc,valid-type]
            def onFrontDisconnected(self, reason: int) -> None:
                kind.reconnects += 1
                original_disconnected(self, reason)

            def onRspSubMarketData(
                self, data: dict[str, Any], error: dict[str, Any], reqid: int, last: bool
            ) -> None:
                if error and error.get("ErrorID"):
                    kind.rejected_subscriptions += 1
                original_sub(self, data, error, reqid, last)

        class DatingMdApi(CountingMdApi):
            def onRtnDepthMarketData(self, data: dict[str, Any]) -> None:
                # vnpy_ctp dates DCE ticks (and any without ActionDay) with current_date,
                # which nothing refreshes in a market-data-only worker: set it per tick.
                self.current_date = date_for(data["UpdateTime"])
                # vnpy_ctp parses f"{UpdateTime}.{UpdateMillisec}" with %f, which pads on the
                # right: 5 ms would read as 500 ms. Three digits read right.
                millis = data["UpdateMillisec"]
                if isinstance(millis, int):
                    data["UpdateMillisec"] = f"{millis:03d}"
                original_tick(self, data)

        # vnpy_sopt dates ticks with TradingDay and reads the milliseconds its own way.
        md_api.__class__ = DatingMdApi if hasattr(md_api, "current_date") else CountingMdApi
        # Ticks take the fast path (record → frame, no TickData): gateways.kinds.fast_record.
        from gateways.kinds import fast_record

        self.fast_path = fast_record.install(self, md_api)
        if self._tee_lib is not None and self.fast_path is not None:
            # Depth records from the md library straight to the compiled handler; the records
            # it declines, and every other callback, still reach vn.py's wrapper.
            from gateways.depthtee import tee as depth_tee

            self.depth_tee = depth_tee.attach(self.flavour, self._tee_lib, self.fast_path)

    def _fill_contract_map(self, contracts: list[dict[str, Any]]) -> None:
        from vnpy.trader.constant import Exchange, Product
        from vnpy.trader.object import ContractData

        contract_map: dict[str, Any] = self.module.symbol_contract_map
        for item in contracts:
            try:
                contract = ContractData(
                    gateway_name=self.account,
                    symbol=item["symbol"],
                    exchange=Exchange(item["exchange"]),
                    name=item.get("name", item["symbol"]),
                    product=Product(item.get("product", Product.FUTURES.value)),
                    size=float(item.get("size", 1)),
                    pricetick=float(item.get("pricetick", 0.01)),
                )
            except (KeyError, ValueError) as exc:
                log.warning("%s: skipping bad contract %r: %s", self.account, item, exc)
                continue
            # vnpy_sopt reads contract.extra["trading_active"] on every tick (its trading
            # login sets it); without it every SOPT tick raises in the callback.
            contract.extra = {"trading_active": True}
            contract_map.setdefault(contract.symbol, contract)

    def _use_loopback_front(self) -> Callable[[], int]:
        """Load the loopback market-data library before the vendor's can be (see
        ``gateways.loopback.preload``), and take the loopback world's clock: the simulated
        exchange trades around the clock (no session rule), and a test may shift its time
        (``loopback_clock_offset`` seconds) to cross midnight."""
        from gateways.loopback.preload import preload, preload_trader

        flavour = self.flavour
        if self._tee_lib is not None:
            from gateways.depthtee.tee import real_library

            library = real_library(flavour, loopback=True)  # the tee opened it already
        else:
            library = preload(flavour)
        # The trader library too: an account with a tdAddress on the loopback front logs in
        # to its trading side, which speaks only the loopback wire.
        preload_trader(flavour)
        library.mdhub_loopback_flavour.restype = ctypes.c_char_p
        log.info(
            "%s: loopback %s front library loaded", self.account, library.mdhub_loopback_flavour().decode()
        )
        self.emitter.cleanser.calendar = None
        offset_ns = int(float(self.settings.get("loopback_clock_offset") or 0) * 1e9)
        if not offset_ns:
            return time.time_ns

        def shifted_ns() -> int:
            return time.time_ns() + offset_ns

        self.emitter.cleanser.clock_ns = shifted_ns
        return shifted_ns

    def _on_log(self, event: Any) -> None:
        log.info("%s: %s", self.account, event.data.msg)

    def start(self) -> None:
        self.event_engine.start()
        settings = self.settings
        if settings.get("tdAddress"):
            vnpy_setting = {VNPY_KEYS[key]: str(settings.get(key, "")) for key in VNPY_KEYS}
            self.gateway.connect(vnpy_setting)
        else:
            # Market data only: no trading front to log in to.
            self.gateway.md_api.connect(
                settings["mdAddress"], settings["userID"], settings["password"], settings["brokerID"]
            )
        log.info("%s: connecting to %s", self.account, settings.get("mdAddress"))

    def subscribe_batch(self, vt_symbols: list[str]) -> None:
        from vnpy.trader.constant import Exchange
        from vnpy.trader.object import SubscribeRequest

        for vt_symbol in vt_symbols:
            symbol, _, exchange = vt_symbol.rpartition(".")
            try:
                self.gateway.subscribe(SubscribeRequest(symbol=symbol, exchange=Exchange(exchange)))
            except ValueError:
                log.warning("%s: cannot subscribe %r: unknown exchange", self.account, vt_symbol)

    def unsubscribe(self, vt_symbols: list[str]) -> None:
        """Warm-mode standby: stop these. vn.py's gateway has no unsubscribe; its md API
        does (``UnSubscribeMarketData``). Dropped from ``subscribed`` first, so a login
        after a reconnect does not subscribe them again."""
        md_api = self.gateway.md_api
        for vt_symbol in vt_symbols:
            symbol = vt_symbol.rpartition(".")[0]
            md_api.subscribed.discard(symbol)
            if md_api.login_status:
                md_api.unSubscribeMarketData(symbol)

    def handle_command(self, command: dict[str, Any]) -> None:
        if command.get("cmd") == "depth_tee":
            # What the depth tee took and gave back to the wrapper (tests, diagnosis).
            tee = self.depth_tee
            if tee is None:
                log.info("%s: depth tee off", self.account)
            else:
                log.info(
                    "%s: depth tee handled=%d declined=%d errors=%d",
                    self.account,
                    tee.handled,
                    tee.declined,
                    tee.errors,
                )
            return
        super().handle_command(command)

    def status(self) -> KindStatus:
        md_api = self.gateway.md_api
        return KindStatus(
            connected=bool(md_api.login_status),
            logged_in=bool(md_api.login_status),
            subscribed=len(md_api.subscribed),
            reconnects=self.reconnects,
            extra={"rejected_subscriptions": self.rejected_subscriptions},
        )
