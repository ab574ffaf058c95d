"""``manage.py runhub``: run the hub engine until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from bridge.config import bridge_state_dir
from engine.loop import Engine
from mdhub_project.engine_config import load_accounts_fresh, load_clients_fresh, load_engine_config
from monitoring.publisher import LiveLogHandler, LivePublisher


class Command(BaseCommand):
    help = "Run the hub: one worker per enabled account, first-arrival dedup, ZeroMQ out."

    def handle(self, *args: Any, **options: Any) -> None:
        config = load_engine_config()
        enabled = [a for a in config.accounts if a.enabled]
        if not enabled:
            self.stderr.write(
                "No enabled accounts: enable one in the admin or the API (the hub keeps running)."
            )
        publisher = LivePublisher(
            settings.REDIS_URL, bridge_dir=bridge_state_dir(run_dir=settings.MDHUB_RUN_DIR)
        )
        engine = Engine(config, publisher)
        handler = LiveLogHandler(publisher)
        logging.getLogger().addHandler(handler)

        def stop(signum: int, frame: Any) -> None:
            engine.shutdown = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(
            f"mdhub: {len(enabled)} source(s) of {len(config.accounts)}, "
            f"{len(config.subscriptions)} contract(s), {config.mode} failover, "
            f"services: {', '.join(s.name for s in config.services) or 'none'}; "
            f"ticks on {config.pub_addr}, snapshots on {config.snapshot_addr}"
        )
        publisher.load_clients, publisher.clients_sink = load_clients_fresh, engine.clients_changed
        if config.stream_keys is not None:
            self.stdout.write(
                f"mdhub: CURVE on, {len(config.clients)} stream client(s); "
                f"server public key {config.stream_keys.public}"
            )
        publisher.start(engine, load_accounts_fresh)
        try:
            engine.run()
        finally:
            logging.getLogger().removeHandler(handler)
            publisher.close()
