"""``MdhubGateway``: the hub's stream as a vn.py 4.x gateway (docs/vnpy.md).

    from vnpy.event import EventEngine
    from vnpy.trader.engine import MainEngine
    from mdhub_client.vnpy_gateway import MdhubGateway

    main_engine = MainEngine(EventEngine())
    main_engine.add_gateway(MdhubGateway)
    main_engine.connect(MdhubGateway.default_setting, "MDHUB")

What it does, the vn.py way:

* ``connect`` returns at once; a thread of the gateway's own reads the hub (``HubClient``:
  several hubs merged, each exchange snapshot once, reconnects by itself, gap fill from the
  journal where a recovery address is given) and logs connection changes with ``write_log``.
* Contracts: the hub's universe as ``ContractData`` through ``on_contract``, read from the
  snapshot service (``mdhub_client.universe``; what a contract built from a tick lacks is
  in ``mdhub_client.vnpy_contracts``).
* ``subscribe(req)``: the contract's last tick (the snapshot), then every live tick, as
  ``TickData`` through ``on_tick`` (vn.py's event engine), ``gateway_name`` this gateway's.
* Orders: none, ever. ``send_order`` returns ``""`` and logs why; account and position
  queries do nothing. To trade, add ``vnpy_ctp``'s gateway too and call
  ``route_market_data(main_engine)``: subscriptions then come here whichever gateway owns
  the contract, and the trading gateway's contracts win over ours, so orders go there.

Threads: vn.py calls ``subscribe`` and ``close`` from its own threads; only the gateway's
thread touches the ZeroMQ sockets (they are not thread-safe), and the two meet under a lock.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from vnpy.event import Event, EventEngine
from vnpy.trader.constant import Exchange
from vnpy.trader.event import EVENT_CONTRACT
from vnpy.trader.gateway import BaseGateway
from vnpy.trader.object import (
    CancelRequest,
    ContractData,
    OrderRequest,
    SubscribeRequest,
    TickData,
)

from aggregation import wire
from aggregation.client import HubAddress, HubClient, Subscription
from aggregation.dedup import FirstArrival
from mdhub_client.universe import UniverseUnavailable, read_universe
from mdhub_client.vnpy_contracts import contract_from_tick

if TYPE_CHECKING:
    from vnpy.trader.engine import MainEngine

GATEWAY_NAME = "MDHUB"
# How long the thread waits for a tick before it looks at new subscriptions and the hubs'
# connection state again: a subscription takes effect within this.
POLL_SECONDS = 0.1
# After a universe read that nobody answered, try again this often (the hub may start later).
UNIVERSE_RETRY_SECONDS = 2.0
SETTING_PUB = "hub PUB addresses"
SETTING_SNAPSHOT = "snapshot addresses"
SETTING_RECOVERY = "recovery addresses"
SETTING_TOPICS = "topics"


class SettingError(ValueError):
    """A gateway setting that cannot be used; the message says what to write instead."""


def _split(text: object) -> list[str]:
    return [part for part in str(text or "").replace(";", ",").replace(" ", ",").split(",") if part]


def hubs_from_setting(setting: dict[str, Any]) -> list[HubAddress]:
    """The hubs a settings dict names: a PUB address per hub, and in the same order its
    snapshot and recovery addresses (either list may be empty: no snapshot, no gap fill)."""
    pubs = _split(setting.get(SETTING_PUB))
    snapshots = _split(setting.get(SETTING_SNAPSHOT))
    recoveries = _split(setting.get(SETTING_RECOVERY))
    if not pubs:
        raise SettingError(
            f'"{SETTING_PUB}" is empty: give each hub\'s tick address, e.g. tcp://127.0.0.1:5555'
        )
    for name, values in ((SETTING_SNAPSHOT, snapshots), (SETTING_RECOVERY, recoveries)):
        if values and len(values) != len(pubs):
            raise SettingError(
                f'"{name}" lists {len(values)} addresses for {len(pubs)} hubs: give one per hub, '
                f'in the order of "{SETTING_PUB}", or none'
            )
    try:
        return [
            HubAddress(pub, snapshots[i] if snapshots else None, recoveries[i] if recoveries else None)
            for i, pub in enumerate(pubs)
        ]
    except ValueError as exc:
        raise SettingError(str(exc)) from exc


class MdhubGateway(BaseGateway):  # type: ignore[misc]  # vn.py has no type information
    """vn.py market data from one or more mdhub hubs; sends no orders (module docstring).

    All methods return at once (vn.py's rule): the hub is read on the gateway's thread."""

    default_name: str = GATEWAY_NAME
    default_setting: dict[str, str | int | float | bool] = {
        # Several hubs, comma-separated, for no single point of failure: each tick once.
        SETTING_PUB: "tcp://127.0.0.1:5555",
        SETTING_SNAPSHOT: "tcp://127.0.0.1:5556",
        SETTING_RECOVERY: "",
        # What the gateway reads and lists as contracts: products, contracts or prefixes,
        # comma-separated; empty for everything. A subscription outside it is added.
        SETTING_TOPICS: "",
    }
    exchanges: list[Exchange] = [
        Exchange.SHFE,
        Exchange.INE,
        Exchange.DCE,
        Exchange.CZCE,
        Exchange.CFFEX,
        Exchange.GFEX,
        Exchange.SSE,
        Exchange.SZSE,
    ]

    def __init__(self, event_engine: EventEngine, gateway_name: str = GATEWAY_NAME) -> None:
        super().__init__(event_engine, gateway_name)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hubs: list[HubAddress] = []
        self._topics: list[str] = [""]
        # vt_symbol → subscribed and not yet given its snapshot tick (False once given).
        self._subscribed: dict[str, bool] = {}
        # Topics vn.py subscribed outside ``_topics``: the client is rebuilt to read them too.
        self._extra: set[str] = set()
        self._extra_seen: set[str] = set()
        # vt_symbol → the last tick read (decoded), whether subscribed or not: the snapshot a
        # later subscription starts from.
        self._last: dict[str, dict[str, Any]] = {}
        self._dedup = FirstArrival()
        # Contracts pushed by other gateways (vt_symbol → theirs): they win over ours.
        self._foreign: dict[str, ContractData] = {}
        self._ours: set[str] = set()
        self.ticks_forwarded = 0
        self.bad_ticks = 0
        self.refused_orders = 0
        event_engine.register(EVENT_CONTRACT, self._on_contract_event)

    # -- BaseGateway -------------------------------------------------------------------------

    def connect(self, setting: dict[str, Any]) -> None:
        if self._thread is not None and self._thread.is_alive():
            self.write_log("already connected: close the gateway first to change its setting")
            return
        try:
            hubs = hubs_from_setting(setting)
            topics = _split(setting.get(SETTING_TOPICS)) or [""]
            Subscription.parse(topics)
        except ValueError as exc:
            self.write_log(f"cannot connect: {exc}")
            return
        self._hubs, self._topics = hubs, topics
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self.gateway_name}-hub", daemon=True)
        self._thread.start()
        self.write_log(f"reading {len(hubs)} hub(s): {', '.join(h.pub for h in hubs)}")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def subscribe(self, req: SubscribeRequest) -> None:
        vt_symbol = f"{req.symbol}.{req.exchange.value}"
        with self._lock:
            if vt_symbol in self._subscribed:
                return
            self._subscribed[vt_symbol] = True
            topic = wire.topic_for(vt_symbol)
            if not Subscription.parse(self._topics).wants(topic):
                self._extra.add(vt_symbol)

    def send_order(self, req: OrderRequest) -> str:
        self.refused_orders += 1
        self.write_log(
            f"order for {req.symbol}.{req.exchange.value} refused: {self.gateway_name} is market data "
            "only. Connect a trading gateway (vnpy_ctp) and call route_market_data(main_engine) so "
            "that its contracts, and so your orders, go to it (docs/vnpy.md)"
        )
        return ""

    def cancel_order(self, req: CancelRequest) -> None:
        """No orders, nothing to cancel."""

    def query_account(self) -> None:
        """No account at a market data hub."""

    def query_position(self) -> None:
        """No positions at a market data hub."""

    # -- contracts: the trading gateway's win ------------------------------------------------

    def _on_contract_event(self, event: Event) -> None:
        """On vn.py's event thread, after its OmsEngine stored the contract (it registered
        first). A trading gateway's contract has the real size and price tick, and vn.py
        routes orders by the stored contract's gateway: so when ours overwrote another
        gateway's, that one is pushed again, to be stored last, whatever the arrival order."""
        contract: ContractData = event.data
        if contract.gateway_name != self.gateway_name:
            self._foreign[contract.vt_symbol] = contract
        elif contract.vt_symbol in self._foreign:
            self.on_contract(self._foreign[contract.vt_symbol])

    def _push_contracts(self, universe: dict[str, dict[str, Any]]) -> int:
        pushed = 0
        for vt_symbol, fields in universe.items():
            if vt_symbol in self._ours or vt_symbol in self._foreign:
                continue
            contract = contract_from_tick(fields, self.gateway_name)
            if contract is None:
                self.bad_ticks += 1
                continue
            self._ours.add(vt_symbol)
            self.on_contract(contract)
            pushed += 1
        return pushed

    # -- the gateway's thread ----------------------------------------------------------------

    def _run(self) -> None:
        client: HubClient[dict[str, Any]] | None = None
        universe_read = False
        next_universe = 0.0
        connected: set[str] = set()
        try:
            while not self._stop.is_set():
                if not universe_read and time.monotonic() >= next_universe:
                    universe_read = self._read_universe()
                    next_universe = time.monotonic() + UNIVERSE_RETRY_SECONDS
                with self._lock:
                    new_extra = self._extra - self._extra_seen
                    self._extra_seen |= new_extra
                if client is None or new_extra:
                    client = self._reopen(client)
                fields = client.recv(POLL_SECONDS)
                while fields is not None:
                    self._take(fields)
                    fields = client.recv(0)
                self._give_snapshots()
                now_connected = {hub.pub for hub in client.connected_hubs}
                for pub in sorted(now_connected - connected):
                    self.write_log(f"connected to hub {pub}")
                for pub in sorted(connected - now_connected):
                    self.write_log(f"lost hub {pub}: reconnecting by itself")
                connected = now_connected
        except Exception as exc:  # the thread must say why it stopped, not die silently
            self.write_log(f"stopped reading the hub: {type(exc).__name__}: {exc}")
            raise
        finally:
            if client is not None:
                client.close()

    def _read_universe(self) -> bool:
        """Contracts from the first hub whose snapshot service answers; False if none did."""
        for hub in self._hubs:
            if hub.snapshot is None:
                continue
            try:
                universe = read_universe(hub.snapshot, self._topics)
            except UniverseUnavailable as exc:
                self.write_log(f"no contract list yet: {exc}")
                continue
            pushed = self._push_contracts(universe)
            self.write_log(f"{pushed} contracts from hub {hub.pub}")
            return True
        return not any(hub.snapshot for hub in self._hubs)

    def _reopen(self, old: HubClient[dict[str, Any]] | None) -> HubClient[dict[str, Any]]:
        """A client for the configured topics plus what vn.py subscribed outside them. A
        replacement resumes from the old one's positions (the journal fills what falls
        between, where the hubs have a recovery address); its snapshot's repeats of ticks
        already given are dropped by ``_dedup``."""
        with self._lock:
            topics = [*self._topics, *sorted(self._extra_seen)]
        resume = old.positions() if old is not None else None
        if old is not None:
            old.close()
            self.write_log(f"now reading {', '.join(t or 'everything' for t in topics)}")
        return HubClient(self._hubs, topics, resume=resume)

    def _take(self, fields: dict[str, Any]) -> None:
        try:
            vt_symbol = f"{fields['symbol']}.{fields['exchange']}"
            key = wire.content_key(fields["datetime"], tuple(fields[name] for name in wire.CONTENT_FIELDS))
        except (KeyError, TypeError, OverflowError):
            self.bad_ticks += 1
            return
        if not self._dedup.offer(wire.topic_for(vt_symbol), key, "", 0).forward:
            return  # a repeat from a re-opened client's snapshot
        self._last[vt_symbol] = fields
        with self._lock:
            wanted = self._subscribed.get(vt_symbol)
            if wanted:
                self._subscribed[vt_symbol] = False
        if wanted is not None:
            self._emit(fields)

    def _give_snapshots(self) -> None:
        """Subscriptions that have not had a tick yet start from the last one read."""
        with self._lock:
            due = [s for s, first in self._subscribed.items() if first and s in self._last]
            for vt_symbol in due:
                self._subscribed[vt_symbol] = False
        for vt_symbol in due:
            self._emit(self._last[vt_symbol])

    def _emit(self, fields: dict[str, Any]) -> None:
        try:
            tick: TickData = wire.to_tick_data(fields)
        except (KeyError, ValueError, TypeError, OverflowError):
            self.bad_ticks += 1
            return
        # wire.to_tick_data names the hub's source account; vn.py wants the gateway here.
        tick.gateway_name = self.gateway_name
        self.ticks_forwarded += 1
        self.on_tick(tick)


def route_market_data(main_engine: MainEngine, gateway_name: str = GATEWAY_NAME) -> None:
    """Send every market data subscription of ``main_engine`` to the mdhub gateway, whichever
    gateway the contract belongs to; orders still go by the contract's gateway.

    vn.py's apps subscribe with ``main_engine.subscribe(req, contract.gateway_name)`` and send
    orders with the same gateway name, so one contract cannot name two gateways. With a
    trading gateway (CTP) connected, its contracts win (``MdhubGateway`` sees to that), and
    this makes their market data come from the hub instead of the trading gateway's own
    market data front. It replaces ``subscribe`` on this one engine, nothing else.
    """
    if main_engine.get_gateway(gateway_name) is None:
        raise ValueError(f"no gateway {gateway_name!r}: main_engine.add_gateway(MdhubGateway) first")
    subscribe_to_gateway = main_engine.subscribe

    def subscribe(req: SubscribeRequest, _owner: str = "") -> None:
        subscribe_to_gateway(req, gateway_name)

    main_engine.subscribe = subscribe
