"""Log lines stamped in exchange time (China, Asia/Shanghai) with the offset written out.

People read these next to the dashboard and the exchanges' own clocks, so the stamp is
China time whatever the server's zone (containers often run in UTC), and says so.
"""

from __future__ import annotations

import logging
from datetime import datetime

# The exchanges' zone: fixed, not settings.TIME_ZONE (a deployment may change that one).
from aggregation.exchange_time import CHINA_TZ as EXCHANGE_TZ


class ExchangeTimeFormatter(logging.Formatter):
    """``%(asctime)s`` as ``2026-12-01 10:15:02.123+08:00``."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = datetime.fromtimestamp(record.created, EXCHANGE_TZ)
        if datefmt:
            return stamp.strftime(datefmt)
        return stamp.isoformat(sep=" ", timespec="milliseconds")
