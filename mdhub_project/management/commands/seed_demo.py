"""First-run data for a new machine: an operator login and three simulated sources.

Idempotent: it only adds what is missing, so ``./dev run`` can call it every time. It also
keeps a demo database current as the calendar rolls: contracts of the simulated products
that have expired leave the contract list, today's simulated contracts join it, and the
demo sources' canaries move to the current main contracts (docs/contracts.md). Accounts
other than the demo's are never touched.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser

from accounts.models import MarketDataAccount
from aggregation.contract_codes import exchange_today, main_contract, parse_contract
from aggregation.models import Contract
from aggregation.sessions import DEFAULT_HOLIDAYS
from gateways.simexchange import Product, contract_universe

DEMO_SOURCES = [
    # (id, priority, latency_ms, jitter_ms, loss): three copies of one simulated exchange,
    # each a little different, as three broker accounts would be.
    ("sim-a", 1, 0.0, 0.5, 0.0),
    ("sim-b", 2, 0.3, 1.0, 0.01),
    ("sim-c", 3, 1.0, 2.0, 0.02),
]
DEMO_DESCRIPTION = "Simulated source (demo)"
# The canaries are these products' main contracts: the most traded, so always ticking.
DEMO_CANARY_PRODUCTS = ("rb", "IF")
# The broker path's demo (``./dev run --broker-loopback``, docs/loopback.md): the pinned
# vn.py gateways against the loopback front. Their canaries name main contracts, which the
# engine resolves each exchange day (aggregation.universe).
LOOPBACK_SOURCES = [
    # (id, kind, priority, canary)
    ("ctp-a", "ctp", 4, "rb.main"),
    ("ctp-b", "ctp", 5, "rb.main"),
    ("sopt-a", "sopt", 6, "510050.main"),
]
LOOPBACK_DESCRIPTION = "Loopback broker source (demo)"
# The fixed option code of demos seeded before codes rolled with the calendar.
LEGACY_DEMO_CONTRACTS = frozenset({"10008888.SSE"})


def demo_canaries(today: date) -> list[str]:
    """The demo sources' canaries on ``today``: the current main rb and IF contracts."""
    return [main_contract(code, today, DEFAULT_HOLIDAYS).vt_symbol for code in DEMO_CANARY_PRODUCTS]


def is_expired(vt_symbol: str, today: date) -> bool:
    """Whether ``vt_symbol`` is a simulated product's contract past its last trading day."""
    if vt_symbol in LEGACY_DEMO_CONTRACTS:
        return True
    symbol, _, exchange = vt_symbol.rpartition(".")
    parsed = parse_contract(symbol, exchange, today, DEFAULT_HOLIDAYS)
    return parsed is not None and parsed[1] < today


class Command(BaseCommand):
    help = (
        "Create an admin login and three simulated sources if there are none yet; roll the "
        "demo's contracts and canaries to the ones live today."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="the exchange date to seed for (YYYY-MM-DD; default: today in Asia/Shanghai)",
        )
        parser.add_argument(
            "--broker-loopback",
            metavar="MD_ADDRESS",
            default="",
            help="create or enable the loopback broker demo sources on this front (tcp://host:port); "
            "without it they are left disabled",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today: date = options["today"] or exchange_today()
        self._ensure_admin()
        universe = contract_universe(settings.MDHUB_SIM_CONTRACTS, today)
        if not Contract.objects.exists():
            self._add_contracts(universe)
        if not MarketDataAccount.objects.exists():
            for account_id, priority, latency, jitter, loss in DEMO_SOURCES:
                MarketDataAccount.objects.create(
                    id=account_id,
                    gateway_type="sim",
                    settings={"latency_ms": latency, "jitter_ms": jitter, "loss": loss},
                    priority=priority,
                    is_enabled=True,
                    description=DEMO_DESCRIPTION,
                    canaries=demo_canaries(today),
                )
            self.stdout.write(f"Created {len(DEMO_SOURCES)} simulated sources: sim-a, sim-b, sim-c")
        elif self._demo_accounts().exists():
            self._roll_forward(universe, today)
        self._loopback_sources(options["broker_loopback"])

    def _loopback_sources(self, md_address: str) -> None:
        """With a front address: the broker demo's accounts, created or pointed at it and
        enabled. Without: those that exist are disabled (no front runs to log in to)."""
        ids = [source[0] for source in LOOPBACK_SOURCES]
        if not md_address:
            stale = MarketDataAccount.objects.filter(id__in=ids, is_enabled=True, settings__loopback=True)
            if count := stale.update(is_enabled=False):
                self.stdout.write(f"Disabled {count} loopback broker demo source(s) (no --broker-loopback)")
            return
        for account_id, kind, priority, canary in LOOPBACK_SOURCES:
            settings = {
                "userID": account_id,
                "password": "loopback-demo",  # the loopback front checks none
                "brokerID": "9999",
                "mdAddress": md_address,
                "loopback": True,
            }
            account = MarketDataAccount.objects.filter(id=account_id).first()
            if account is None:
                MarketDataAccount.objects.create(
                    id=account_id,
                    gateway_type=kind,
                    settings=settings,
                    priority=priority,
                    is_enabled=True,
                    description=LOOPBACK_DESCRIPTION,
                    canaries=[canary],
                )
                self.stdout.write(f"Created the loopback broker demo source {account_id} ({kind})")
            elif account.settings.get("loopback") and (
                account.settings != settings or not account.is_enabled
            ):
                account.settings, account.is_enabled = settings, True
                account.save(update_fields=["settings", "is_enabled", "updated_at"])

    def _demo_accounts(self) -> Any:
        return MarketDataAccount.objects.filter(
            id__in=[source[0] for source in DEMO_SOURCES], gateway_type="sim"
        )

    def _add_contracts(self, products: list[Product]) -> int:
        missing = [
            p for p in products if not Contract.objects.filter(vt_symbol=f"{p.symbol}.{p.exchange}").exists()
        ]
        for product in missing:
            Contract.objects.create(
                vt_symbol=f"{product.symbol}.{product.exchange}",
                symbol=product.symbol,
                exchange=product.exchange,
                name=product.name,
                product="期权" if product.is_option else "期货",
                size=product.multiplier,
                pricetick=product.tick,
            )
        return len(missing)

    def _roll_forward(self, universe: list[Product], today: date) -> None:
        """A demo seeded on an earlier day: replace what has expired since."""
        expired = [c.vt_symbol for c in Contract.objects.all() if is_expired(c.vt_symbol, today)]
        Contract.objects.filter(vt_symbol__in=expired).delete()
        added = self._add_contracts(universe)
        if expired or added:
            self.stdout.write(
                f"Contracts rolled to {today} (exchange date): {len(expired)} expired removed, {added} added"
            )
        live = {f"{p.symbol}.{p.exchange}" for p in universe}
        for account in self._demo_accounts():
            canaries = _rolled_canaries(account.canaries, live, today)
            if canaries != account.canaries:
                self.stdout.write(f"{account.id}: canaries {account.canaries} → {canaries}")
                account.canaries = canaries
                account.save(update_fields=["canaries", "updated_at"])

    def _ensure_admin(self) -> None:
        if User.objects.filter(is_superuser=True).exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@localhost", password)
        path = settings.MDHUB_RUN_DIR / "admin-password.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password + "\n", encoding="utf-8")
        path.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(f"Created the operator login: admin / {password} (also in {path})")
        )


def _rolled_canaries(canaries: list[str], live: set[str], today: date) -> list[str]:
    """``canaries`` with each one the simulated exchange no longer trades (it would never
    tick, so the source would look stale for ever) replaced by its product's current main
    contract; the demo's own canaries if none is left. Others stay as the operator set them."""
    rolled: list[str] = []
    for vt_symbol in canaries:
        symbol, _, exchange = vt_symbol.rpartition(".")
        parsed = parse_contract(symbol, exchange, today, DEFAULT_HOLIDAYS)
        if vt_symbol in live or (parsed is None and vt_symbol not in LEGACY_DEMO_CONTRACTS):
            replacement = vt_symbol
        elif (
            parsed is not None
            and (main := main_contract(parsed[0], today, DEFAULT_HOLIDAYS)).vt_symbol in live
        ):
            replacement = main.vt_symbol
        else:
            continue
        if replacement not in rolled:
            rolled.append(replacement)
    return rolled or demo_canaries(today)
