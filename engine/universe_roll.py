"""The contract universe in the engine: subscription names resolved for the exchange day,
rolled once a day, and the gate for clients' on-demand subscriptions.

``roll_universe`` is an engine step (called from ``Engine.supervise``, between polls): it
does nothing until the exchange date changes; then it asks the universe source again,
re-chooses each product's main contract by the open interest in the hub's last values,
subscribes what the names now stand for and unsubscribes what they no longer do (an
expired contract, yesterday's main), and moves the canaries that name a main contract.
The tick path never runs any of it: the hub only calls ``UniverseRoll.allowed`` for a
client's subscription and counts a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import msgpack

from aggregation.contract_codes import parse_contract
from aggregation.sessions import CHINA_TZ, DEFAULT_HOLIDAYS
from aggregation.universe import (
    Instrument,
    NameKind,
    Universe,
    choose_main,
    parse_name,
    resolve,
    universe_from_rules,
)
from engine.states import EventKind, FailoverMode

if TYPE_CHECKING:
    from engine.loop import Engine

log = logging.getLogger("mdhub.engine")

UniverseSource = Callable[[date], Universe]


def sim_sizes() -> dict[str, tuple[float, float]]:
    """Contract size and price tick of each product the simulated exchange trades."""
    from gateways.simexchange import PRODUCTS

    return {p.code: (float(p.multiplier), p.tick) for p in PRODUCTS}


def rules_source(day: date) -> Universe:
    """Without a trading login: the listing rules' universe (what the simulated exchange,
    and a broker's instrument query on that day, would list)."""
    return universe_from_rules(day, sim_sizes())


def table_instruments(contracts: Iterable[Mapping[str, Any]], day: date) -> list[Instrument]:
    """The contract table's rows (``Contract.as_spec``) as instruments. An admin entry of a
    product the rules know gets its expiry from its code, so it leaves by itself too."""
    out: list[Instrument] = []
    for spec in contracts:
        symbol, exchange = str(spec.get("symbol", "")), str(spec.get("exchange", ""))
        if not symbol or not exchange:
            continue
        expiry = spec.get("expiry")
        if isinstance(expiry, str) and expiry:
            expiry = date.fromisoformat(expiry)
        if not isinstance(expiry, date):
            parsed = parse_contract(symbol, exchange, day, DEFAULT_HOLIDAYS)
            expiry = parsed[1] if parsed else None
        code = str(spec.get("product_code") or "") or symbol.split("-", 1)[0].rstrip("0123456789")
        out.append(
            Instrument(
                symbol=symbol,
                exchange=exchange,
                product=code,
                name=str(spec.get("name") or symbol),
                is_option=spec.get("product") == "期权",
                size=float(spec.get("size") or 1),
                pricetick=float(spec.get("pricetick") or 0.01),
                expiry=expiry,
            )
        )
    return out


def exchange_day(wall: float) -> date:
    return datetime.fromtimestamp(wall, CHINA_TZ).date()


def open_interest(last_value: Mapping[bytes, bytes]) -> dict[str, float]:
    """vt_symbol → open interest in the hub's last value of each tick topic. Off the tick
    path: once a day, from the supervise step."""
    out: dict[str, float] = {}
    for topic, payload in list(last_value.items()):
        if not topic.startswith(b"tick."):
            continue
        try:
            fields = msgpack.unpackb(payload)
            out[topic[5:].decode()] = float(fields.get("open_interest") or 0)
        except (ValueError, TypeError, AttributeError, msgpack.UnpackException):
            continue  # a record we cannot read says nothing about open interest
    return out


def resolve_canaries(canaries: list[str], universe: Universe) -> list[str]:
    """Canary names resolved for ``universe.day``: ``rb.main`` → the rule's main contract
    (not the open-interest one, so the configuration reads the same wherever it is loaded
    that day: the account loader and the engine agree, and no account looks changed);
    ``rb`` → its nearest contract. Contract names stay as written."""
    out: list[str] = []
    for raw in canaries:
        name = parse_name(raw)
        if name is None or name.kind is NameKind.CONTRACT:
            resolved: str | None = raw
        elif name.kind is NameKind.MAIN:
            resolved = choose_main(universe, name.value, {})
        else:
            members = universe.of_product(name.value)
            resolved = members[0].vt_symbol if members else None
        if resolved and resolved not in out:
            out.append(resolved)
    return out


@dataclass(frozen=True)
class RollChange:
    day: date
    added: frozenset[str]
    removed: frozenset[str]
    mains: Mapping[str, str]
    unknown: tuple[str, ...] = ()
    first: bool = False  # the hub's first day: nothing rolled, only resolved


@dataclass
class UniverseRoll:
    """The configured names (the contract table's subscribed rows and product names) and
    what they stand for on ``universe.day``."""

    names: list[str]
    contracts: list[Mapping[str, Any]] = field(default_factory=list)
    source: UniverseSource = rules_source
    universe: Universe | None = None
    mains: dict[str, str] = field(default_factory=dict)
    subscriptions: set[str] = field(default_factory=set)
    # account → (its canaries as configured, as last resolved), for accounts whose
    # canaries name a product or a main contract
    canary_names: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)

    def roll(self, day: date, interest: Mapping[str, float]) -> RollChange | None:
        """The day's universe and subscriptions; None if ``day`` is already rolled."""
        if self.universe is not None and self.universe.day == day:
            return None
        first = self.universe is None
        listed = self.source(day)
        table = [i for i in table_instruments(self.contracts, day) if i.vt_symbol not in listed]
        universe = Universe.of(day, [*listed.instruments.values(), *table])
        wanted = {n.value for raw in self.names if (n := parse_name(raw)) and n.kind is NameKind.MAIN}
        mains = {p: m for p in sorted(wanted) if (m := choose_main(universe, p, interest))}
        target, unknown = resolve(self.names, universe, mains)
        change = RollChange(
            day,
            frozenset(target - self.subscriptions),
            frozenset(self.subscriptions - target),
            mains,
            tuple(unknown),
            first=first,
        )
        self.universe, self.mains, self.subscriptions = universe, mains, target
        return change

    def allowed(self, vt_symbol: str) -> bool:
        """The gate for a client's on-demand subscription: only a listed contract."""
        return vt_symbol in self.subscriptions or (self.universe is not None and vt_symbol in self.universe)

    def canaries(self, account: str, configured: list[str]) -> list[str]:
        """``configured`` canaries of ``account`` resolved for the current day. What this
        returned last time is ours to re-resolve from the names; anything else is a new
        configuration (an account added or changed) and brings its own names."""
        if self.universe is None:
            return configured
        names, given = self.canary_names.get(account, ([], None))
        if configured != given:
            if not any(
                (n := parse_name(c)) is not None and n.kind is not NameKind.CONTRACT for c in configured
            ):
                self.canary_names.pop(account, None)
                return configured
            names = list(configured)
        resolved = resolve_canaries(names, self.universe)
        self.canary_names[account] = (names, resolved)
        return resolved


def roll_universe(engine: Engine) -> RollChange | None:
    """The engine step: roll on a new exchange day, move the canaries; cheap otherwise."""
    roll = engine.universe
    day = exchange_day(engine.wall_clock())
    change = roll.roll(day, open_interest(engine.hub.last_value))
    if change is not None:
        _apply(engine, change)
    moved = False
    for source in engine.sources.values():
        canaries = roll.canaries(source.id, source.config.canaries)
        if canaries != source.config.canaries:
            new = sorted(set(canaries) - set(source.config.canaries))
            source.config.canaries = canaries
            moved = True
            if new and source.running:
                engine.hub.subscribe_upstream(new, source.id)
    if moved:
        engine.watch_canaries()
    return change


def _apply(engine: Engine, change: RollChange) -> None:
    hub = engine.hub
    hub.subscribed.difference_update(change.removed)
    if change.removed:
        for source in engine.sources.values():
            if source.running:
                keep = set(source.config.canaries)
                hub.unsubscribe_upstream(sorted(change.removed - keep), source.id)
    if change.added:
        if engine.config.mode == FailoverMode.WARM:
            # Standbys carry only their canaries: the new contracts go to the active ones.
            hub.subscribed.update(change.added)
            for source in engine.sources.values():
                if source.active and source.running:
                    hub.subscribe_upstream(sorted(change.added), source.id)
        else:
            hub.subscribe_upstream(sorted(change.added))
    if change.unknown:
        log.warning(
            "subscription names that stand for nothing on %s: %s", change.day, ", ".join(change.unknown)
        )
    if not change.first and (change.added or change.removed):
        mains = ", ".join(f"{p} → {m}" for p, m in sorted(change.mains.items()))
        # A change of the subscriptions, by the calendar instead of an operator: recorded
        # as a command so the events page shows why the contract list moved.
        engine.record(
            EventKind.COMMAND,
            "",
            f"contracts rolled to {change.day} (exchange date): +{len(change.added)} "
            f"{sorted(change.added)[:8]}, -{len(change.removed)} {sorted(change.removed)[:8]}"
            + (f"; main contracts {mains}" if mains else ""),
        )
