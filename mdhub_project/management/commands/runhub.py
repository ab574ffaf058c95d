"""``manage.py runhub``: run the hub engine until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand

from mdhub_project.engine import Engine
from mdhub_project.engine_config import load_engine_config


class Command(BaseCommand):
    help = "Run the hub: one worker per enabled account, first-arrival dedup, ZeroMQ out."

    def handle(self, *args: Any, **options: Any) -> None:
        config = load_engine_config()
        if not config.accounts:
            self.stderr.write(
                "No enabled accounts: enable one in the admin or the API (the hub keeps running)."
            )
        engine = Engine(config)

        def stop(signum: int, frame: Any) -> None:
            engine.shutdown = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(
            f"mdhub: {len(config.accounts)} source(s), {len(config.subscriptions)} contract(s); "
            f"ticks on {config.pub_addr}, snapshots on {config.snapshot_addr}"
        )
        engine.run()
