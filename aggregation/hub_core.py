"""The hub's compiled tick path (``aggregation/_hub_core.pyx``) when it is built
(``python -m aggregation.build_ext``), else None: ``TickHub.pump`` then runs its Python loop,
which forwards exactly the same (tests/test_hub_core_property.py), slower.

``MDHUB_PURE_PYTHON=1`` picks the Python loop even when the compiled one is there (to compare
them), as for the tick codec (``aggregation.tick_codec``).
"""

from __future__ import annotations

import os
from typing import Any

core_module: Any = None
COMPILED = False

if os.environ.get("MDHUB_PURE_PYTHON") != "1":
    try:
        from aggregation import _hub_core
    except ImportError:  # not built: the Python loop does the same, slower
        pass
    else:
        core_module = _hub_core
        COMPILED = True
