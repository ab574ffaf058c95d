"""The contract table refreshed from the universe (aggregation.universe_store)."""

from __future__ import annotations

from datetime import date

import pytest

from aggregation.models import Contract
from aggregation.universe_store import refresh_contracts
from engine.universe_roll import rules_source

pytestmark = pytest.mark.django_db


def test_a_refresh_lists_todays_contracts_and_expired_ones_leave_by_themselves() -> None:
    Contract.objects.create(vt_symbol="rb2612.SHFE", is_subscribed=True)  # by hand, no expiry
    Contract.objects.create(vt_symbol="XYZ1.SGE")  # a product the rules do not know
    first = refresh_contracts(rules_source(date(2026, 12, 15)))
    assert first.added > 150 and first.expired == 0
    rb = Contract.objects.get(vt_symbol="rb2612.SHFE")
    assert (rb.expiry, rb.product_code, rb.is_subscribed, rb.from_universe) == (
        date(2026, 12, 15),
        "rb",
        True,
        False,
    )
    listed = Contract.objects.get(vt_symbol="rb2701.SHFE")
    assert not listed.is_subscribed and listed.from_universe and listed.size == 10
    io = Contract.objects.get(vt_symbol="IO2612-C-4600.CFFEX")
    assert (io.option_underlying, io.option_strike, io.option_type, io.product) == (
        "IF2612",
        4600.0,
        "C",
        "期权",
    )

    second = refresh_contracts(rules_source(date(2026, 12, 16)))
    assert not Contract.objects.filter(vt_symbol="rb2612.SHFE").exists()
    assert Contract.objects.filter(vt_symbol="rb2712.SHFE", is_subscribed=False).exists()
    assert Contract.objects.filter(vt_symbol="XYZ1.SGE").exists()
    assert second.expired >= 1 and second.added >= 1
    assert refresh_contracts(rules_source(date(2026, 12, 16))) == type(second)(0, 0, 0)
