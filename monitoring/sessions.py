"""Moved to ``aggregation.sessions`` (the market rules sit with the cleanser that uses them).

Kept only while the last imports of the old name are updated; import ``aggregation.sessions``.
"""

from aggregation.sessions import *  # noqa: F403
from aggregation.sessions import CHINA_TZ, DEFAULT_HOLIDAYS, DEFAULT_TEMPLATES  # noqa: F401
