"""Prometheus gauges of the recording (docs/recording.md): its disk use and days, read from
the files at scrape time (a directory walk: no hub, no Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time

from django.conf import settings
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from aggregation.exchange_time import CHINA_TZ
from recording import layout


class RecordingCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        root = settings.MDHUB_RECORDING_DIR
        if not root.is_dir():
            return  # a hub that has never recorded a day has no recording to report
        use = layout.disk_use(root)
        size = GaugeMetricFamily("mdhub_recording_bytes", "Disk use of the recording (Parquet), bytes.")
        size.add_metric([], use.bytes)
        yield size
        days = GaugeMetricFamily("mdhub_recording_days", "Trading days in the recording.")
        days.add_metric([], use.days)
        yield days
        if use.last_day is not None:
            last = GaugeMetricFamily(
                "mdhub_recording_last_day_seconds",
                "The newest recorded trading day, as its midnight in exchange time (epoch seconds).",
            )
            last.add_metric([], datetime.combine(use.last_day, time(), CHINA_TZ).timestamp())
            yield last


def exposition() -> bytes:
    return generate_latest(RecordingCollector())
