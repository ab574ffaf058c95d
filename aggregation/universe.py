"""The contract universe: what is listed today, and what a subscription name means in it.

Pure rules, no Django (the store is ``aggregation.universe_store``, the daily roll in the
engine is ``engine.universe_roll``). A universe comes from one of two sources:

* a broker's instrument query (``Instrument`` carries what ``ReqQryInstrument`` answers:
  exchange, product, expiry, size, price tick; for options the underlying, strike,
  call/put) — given to ``Universe`` as a list;
* without a trading login, the exchanges' listing rules (``universe_from_rules``, from
  ``aggregation.contract_codes``): the same contracts the simulated exchange lists.

A subscription is a name (``parse_name``): a contract (``rb2605.SHFE``), a product (``rb``:
every listed rb contract) or a product's main contract (``rb.main``: the listed rb
contract with the largest open interest, re-chosen once a day). Names, not codes, are
what an operator writes down, so a roll never leaves the hub on an expired code.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from aggregation.contract_codes import PRODUCT_RULES, ListedContract, live_contracts, main_contract

MAIN_SUFFIX = ".main"
# The underlying of the CFFEX index options: the index future of the same month.
_CFFEX_OPTION_UNDERLYING = {"IO": "IF", "MO": "IM", "HO": "IH"}


class NameKind(StrEnum):
    CONTRACT = "contract"
    PRODUCT = "product"
    MAIN = "main"


@dataclass(frozen=True)
class SubscriptionName:
    kind: NameKind
    value: str  # a vt_symbol (CONTRACT) or a product code (PRODUCT, MAIN)


def parse_name(name: str) -> SubscriptionName | None:
    """``rb2605.SHFE`` → contract, ``rb`` → product, ``rb.main`` → main contract; None for
    anything else (an empty name, ``rb2605.shfe``)."""
    name = name.strip()
    if not name:
        return None
    if name.endswith(MAIN_SUFFIX):
        product = name.removesuffix(MAIN_SUFFIX)
        return SubscriptionName(NameKind.MAIN, product) if product.isalnum() else None
    symbol, dot, exchange = name.rpartition(".")
    if dot:
        ok = bool(symbol) and exchange.isupper() and exchange.isalpha()
        return SubscriptionName(NameKind.CONTRACT, name) if ok else None
    return SubscriptionName(NameKind.PRODUCT, name) if name.isalnum() else None


@dataclass(frozen=True)
class Instrument:
    """One listed contract, with vn.py ``ContractData``'s field names where it has them."""

    symbol: str
    exchange: str
    product: str  # the product code: rb, IF, IO, 510050
    name: str = ""
    is_option: bool = False
    size: float = 1.0
    pricetick: float = 0.01
    expiry: date | None = None  # the last trading day; None: not known (an admin entry)
    option_underlying: str = ""  # e.g. IF2612 (CFFEX IO), 510050 (SSE)
    option_strike: float | None = None
    option_type: str = ""  # "C" call, "P" put
    vt_symbol: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vt_symbol", f"{self.symbol}.{self.exchange}")

    def live_on(self, day: date) -> bool:
        """Through its last trading day (a contract with no known expiry never leaves)."""
        return self.expiry is None or self.expiry >= day


@dataclass(frozen=True)
class Universe:
    """The instruments listed on ``day``, nearest expiry first within a product."""

    day: date
    instruments: Mapping[str, Instrument]

    @classmethod
    def of(cls, day: date, instruments: Iterable[Instrument]) -> Universe:
        """Only those live on ``day``: expired contracts leave by themselves."""
        live = sorted(
            (i for i in instruments if i.live_on(day)), key=lambda i: (i.expiry or date.max, i.vt_symbol)
        )
        return cls(day, {i.vt_symbol: i for i in live})

    def __contains__(self, vt_symbol: object) -> bool:
        return vt_symbol in self.instruments

    def __len__(self) -> int:
        return len(self.instruments)

    def products(self) -> set[str]:
        return {i.product for i in self.instruments.values()}

    def of_product(self, product: str) -> list[Instrument]:
        return [i for i in self.instruments.values() if i.product == product]

    def on(self, day: date) -> Universe:
        """This universe on a later ``day``: what expired since has left (nothing new is
        listed: for that, ask the source again)."""
        return Universe.of(day, self.instruments.values())


def choose_main(universe: Universe, product: str, open_interest: Mapping[str, float]) -> str | None:
    """The main contract of ``product``: the listed futures contract (for an option
    product, call) with the largest open interest, never one in its last trading day (the
    market has moved on by then). Without any open interest seen yet (a fresh hub, a new
    listing), the listing rule's main contract (``contract_codes.main_contract``) if it is
    listed, else the nearest expiry past today."""
    candidates = [
        i
        for i in universe.of_product(product)
        if (i.expiry is None or i.expiry > universe.day) and i.option_type in ("", "C")
    ]
    if not candidates:
        return None
    seen = [(open_interest[i.vt_symbol], i) for i in candidates if open_interest.get(i.vt_symbol, 0) > 0]
    if seen:
        # Ties go to the nearer expiry (candidates are in expiry order; max keeps the first).
        return max(seen, key=lambda pair: pair[0])[1].vt_symbol
    if product in PRODUCT_RULES:
        try:
            ruled = main_contract(product, universe.day, _holidays()).vt_symbol
        except ValueError:
            ruled = ""
        if ruled in universe:
            return ruled
    return candidates[0].vt_symbol


def resolve(names: Iterable[str], universe: Universe, mains: Mapping[str, str]) -> tuple[set[str], list[str]]:
    """The vt_symbols ``names`` stand for today, and the names that stand for nothing (an
    unknown product, a malformed name). A contract name is kept as written unless the
    universe knows its product and no longer lists it (expired): the admin's list as today."""
    out: set[str] = set()
    unknown: list[str] = []
    products = universe.products()
    for raw in names:
        name = parse_name(raw)
        if name is None:
            unknown.append(raw)
        elif name.kind is NameKind.CONTRACT:
            if name.value in universe or not _listed_product_of(name.value, products):
                out.add(name.value)
        elif name.kind is NameKind.PRODUCT:
            members = [i.vt_symbol for i in universe.of_product(name.value)]
            if not members:
                unknown.append(raw)
            out.update(members)
        elif name.value in mains:
            out.add(mains[name.value])
        else:
            unknown.append(raw)
    return out, unknown


def _listed_product_of(vt_symbol: str, products: Collection[str]) -> bool:
    """Whether ``vt_symbol`` is a contract of one of ``products`` (by its code's letters)."""
    symbol = vt_symbol.rpartition(".")[0]
    code = symbol.split("-", 1)[0].rstrip("0123456789")
    return bool(code) and code in products


def _holidays() -> frozenset[date]:
    from aggregation.sessions import DEFAULT_HOLIDAYS

    return frozenset(DEFAULT_HOLIDAYS)


def _instrument(listed: ListedContract, size: float, pricetick: float) -> Instrument:
    spec = PRODUCT_RULES[listed.product]
    underlying = ""
    if listed.strike is not None:
        future = _CFFEX_OPTION_UNDERLYING.get(listed.product)
        underlying = f"{future}{listed.year % 100:02d}{listed.month:02d}" if future else spec.code
    return Instrument(
        symbol=listed.symbol,
        exchange=listed.exchange,
        product=listed.product,
        name=listed.name,
        is_option=listed.strike is not None,
        size=size,
        pricetick=pricetick,
        expiry=listed.last_trading_day,
        option_underlying=underlying,
        option_strike=listed.strike,
        option_type="" if listed.call is None else ("C" if listed.call else "P"),
    )


def universe_from_rules(
    today: date,
    sizes: Mapping[str, tuple[float, float]],
    holidays: Collection[date] | None = None,
    strikes: int = 0,
) -> Universe:
    """Every contract the listing rules list on ``today`` for the products of ``sizes``
    (product code → (contract size, price tick); the simulated exchange's are
    ``engine.universe_roll.sim_sizes()``), option chains ``strikes`` each side of the
    centre: what a broker's instrument query would answer, without a trading login."""
    days = _holidays() if holidays is None else holidays
    found: list[Instrument] = []
    for product, (size, pricetick) in sizes.items():
        if product in PRODUCT_RULES:
            found.extend(
                _instrument(c, size, pricetick) for c in live_contracts(product, today, days, strikes)
            )
    return Universe.of(today, found)
