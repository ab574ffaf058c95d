"""vn.py ``ContractData`` for the contracts the hub serves, built from its snapshot.

A tick says which contract it is (symbol, exchange, name) and nothing of the contract's
terms, so what is built here is partly a guess, stated field by field:

* ``product``: from the symbol's shape (``m2601-C-3000``, ``SR601C5000``, ``IO2601-P-4000``
  and 8-digit SSE/SZSE codes are options; ``rb2601`` a future; ``&`` a spread);
* ``option_*``: type, strike and underlying from a futures option's symbol (an SSE/SZSE
  option's code carries none of them); ``option_expiry`` is not known;
* ``size`` 1 and ``pricetick`` 0.01 are placeholders, not the exchange's terms: a strategy
  that trades takes its contracts from its trading gateway (CTP), whose contract query has
  them (docs/vnpy.md, "Trading through CTP").
"""

from __future__ import annotations

import re
from typing import Any

from vnpy.trader.constant import Exchange, OptionType, Product
from vnpy.trader.object import ContractData

PLACEHOLDER_SIZE = 1
PLACEHOLDER_PRICETICK = 0.01

# A futures option: product letters, a 3- or 4-digit month, C or P (with or without dashes),
# the strike. ``SR601C5000`` (CZCE), ``m2601-C-3000`` (DCE), ``IO2601-C-4000`` (CFFEX).
_FUTURES_OPTION = re.compile(r"^(?P<underlying>[A-Za-z]+\d{3,4})-?(?P<kind>[CP])-?(?P<strike>\d+(\.\d+)?)$")
_FUTURE = re.compile(r"^[A-Za-z]+\d{3,4}$")
_STOCK_EXCHANGES = frozenset({Exchange.SSE, Exchange.SZSE})


def guess_product(symbol: str, exchange: Exchange) -> Product:
    """The product a symbol's shape says it is (see the module docstring)."""
    if exchange in _STOCK_EXCHANGES:
        if len(symbol) == 8 and symbol.isdigit():
            return Product.OPTION
        return Product.ETF if symbol[:1] in ("1", "5") else Product.EQUITY
    if "&" in symbol or " " in symbol:
        return Product.SPREAD
    if _FUTURES_OPTION.match(symbol):
        return Product.OPTION
    return Product.FUTURES


def contract_from_tick(fields: dict[str, Any], gateway_name: str) -> ContractData | None:
    """A ``ContractData`` for the contract of one decoded hub tick; ``None`` when the tick
    does not name a contract vn.py knows (an unknown exchange)."""
    try:
        symbol = str(fields["symbol"])
        exchange = Exchange(fields["exchange"])
    except (KeyError, ValueError):
        return None
    product = guess_product(symbol, exchange)
    contract = ContractData(
        symbol=symbol,
        exchange=exchange,
        name=str(fields.get("name") or symbol),
        product=product,
        size=PLACEHOLDER_SIZE,
        pricetick=PLACEHOLDER_PRICETICK,
        gateway_name=gateway_name,
    )
    match = _FUTURES_OPTION.match(symbol) if product is Product.OPTION else None
    if match is not None:
        contract.option_underlying = f"{match['underlying']}.{exchange.value}"
        contract.option_type = OptionType.CALL if match["kind"] == "C" else OptionType.PUT
        contract.option_strike = float(match["strike"])
        contract.option_index = match["strike"]
        contract.option_portfolio = re.sub(r"\d+$", "", match["underlying"])
    return contract
