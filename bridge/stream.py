"""The JetStream stream the bridges publish into: created on first use, same config for all."""

from __future__ import annotations

import logging

from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from bridge.config import StreamSettings
from bridge.subjects import ROOT

log = logging.getLogger("mdhub.bridge")


def stream_config(name: str, settings: StreamSettings) -> api.StreamConfig:
    return api.StreamConfig(
        name=name,
        subjects=[f"{ROOT}.>"],
        storage=api.StorageType.FILE,
        num_replicas=settings.replicas,
        max_age=settings.max_age_hours * 3600,
        max_bytes=int(settings.max_gb * 1024**3),
        # Oldest out first: a full stream keeps today's tape, not last week's.
        discard=api.DiscardPolicy.OLD,
        duplicate_window=settings.duplicate_window,
        # Last value per subject straight from any replica (DIRECT.GET), for late joiners.
        allow_direct=True,
    )


async def ensure_stream(js: JetStreamContext, name: str, settings: StreamSettings) -> api.StreamInfo:
    """The stream's info; created when missing. An existing stream is left as it is: its
    settings are the operator's (``nats stream edit``), and two hubs must not fight over them."""
    try:
        return await js.stream_info(name)
    except NotFoundError:
        log.info("creating JetStream stream %s (replicas %d)", name, settings.replicas)
        return await js.add_stream(stream_config(name, settings))
