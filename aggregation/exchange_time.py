"""The exchanges' time zone, defined once: China's markets keep Beijing time (Asia/Shanghai,
UTC+8, no daylight saving). Everything that shows or reads a time as people and the
exchanges do imports it from here, whatever the server's own zone (containers often run in
UTC) or ``settings.TIME_ZONE`` (a deployment may change that one).

Plain Python with no imports of ours, so the client library, the services and the web
side can all take it from the bottom layer.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")
