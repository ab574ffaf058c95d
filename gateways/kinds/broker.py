"""The real broker kinds, ``ctp`` and ``sopt``: the pinned vn.py gateways, unchanged.

What we rely on, and why:
* ``md_api.login_status`` is the connection state; ``connect_status`` only means "API
  object created" and stays true while the front is unreachable.
* vn.py drops every tick whose symbol is not in the module's ``symbol_contract_map``. A
  trading login fills it; without one (market-data-only accounts) we fill it from the
  hub's contract list before subscribing.
* ``gateway.on_tick`` is replaced on the instance, so ticks go from the API's callback
  thread straight to ``emit`` and skip vn.py's EventEngine queue.
* The API is never closed: ``close()`` can segfault or deadlock (the GIL is held in
  ``exit()``). The worker process is ended instead.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

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

        self.module = importlib.import_module(self.module_name)
        self.event_engine = EventEngine(interval=1)
        self.event_engine.register(EVENT_LOG, self._on_log)
        gateway_cls = getattr(self.module, self.gateway_class)
        self.gateway = gateway_cls(self.event_engine, self.account)
        self.gateway.on_tick = self.emit
        self.reconnects = 0
        self._count_disconnects()
        self._fill_contract_map(spec.get("contracts") or [])

    def _count_disconnects(self) -> None:
        md_api = self.gateway.md_api
        original = type(md_api).onFrontDisconnected
        kind = self

        # A subclass, not an instance attribute: pybind11 looks callbacks up on the type.
        class CountingMdApi(type(md_api)):  # type: ignore[misc]
            def onFrontDisconnected(self, reason: int) -> None:
                kind.reconnects += 1
                original(self, reason)

        md_api.__class__ = CountingMdApi

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
            contract_map.setdefault(contract.symbol, contract)

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

    def status(self) -> KindStatus:
        md_api = self.gateway.md_api
        return KindStatus(
            connected=bool(md_api.login_status),
            logged_in=bool(md_api.login_status),
            subscribed=len(md_api.subscribed),
            reconnects=self.reconnects,
        )
