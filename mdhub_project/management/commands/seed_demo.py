"""First-run data for a new machine: an operator login and three simulated sources.

Idempotent: it only adds what is missing, so ``./dev run`` can call it every time.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from accounts.models import MarketDataAccount
from aggregation.models import Contract
from gateways.simexchange import contract_universe

DEMO_SOURCES = [
    # (id, priority, latency_ms, jitter_ms, loss): three copies of one simulated exchange,
    # each a little different, as three broker accounts would be.
    ("sim-a", 1, 0.0, 0.5, 0.0),
    ("sim-b", 2, 0.3, 1.0, 0.01),
    ("sim-c", 3, 1.0, 2.0, 0.02),
]
DEMO_CANARIES = ["rb2601.SHFE", "IF2512.CFFEX"]


class Command(BaseCommand):
    help = "Create an admin login and three simulated sources if there are none yet."

    def handle(self, *args: Any, **options: Any) -> None:
        self._ensure_admin()
        if not Contract.objects.exists():
            for product in contract_universe(settings.MDHUB_SIM_CONTRACTS):
                Contract.objects.create(
                    vt_symbol=f"{product.symbol}.{product.exchange}",
                    symbol=product.symbol,
                    exchange=product.exchange,
                    name=product.name,
                    product="期权" if product.exchange == "SSE" else "期货",
                    size=product.multiplier,
                    pricetick=product.tick,
                )
        if not MarketDataAccount.objects.exists():
            for account_id, priority, latency, jitter, loss in DEMO_SOURCES:
                MarketDataAccount.objects.create(
                    id=account_id,
                    gateway_type="sim",
                    settings={"latency_ms": latency, "jitter_ms": jitter, "loss": loss},
                    priority=priority,
                    is_enabled=True,
                    description="Simulated source (demo)",
                    canaries=DEMO_CANARIES,
                )
            self.stdout.write(f"Created {len(DEMO_SOURCES)} simulated sources: sim-a, sim-b, sim-c")

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
