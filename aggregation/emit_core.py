"""The worker's compiled tick path (``aggregation/_emit_core.pyx``) when it is built
(``python -m aggregation.build_ext``), else None: the cleanser, the emitter and the fast
record paths then run their Python code, which gives the same frames and counts
(tests/test_fast_path_equivalence.py, tests/test_emit_core.py), slower.

``MDHUB_PURE_PYTHON=1`` picks the Python code even when the compiled one is there (to
compare them), as for the tick codec (``aggregation.tick_codec``).
"""

from __future__ import annotations

import os
from typing import Any

core_module: Any = None
COMPILED = False

if os.environ.get("MDHUB_PURE_PYTHON") != "1":
    try:
        from aggregation import _emit_core
    except ImportError:  # not built: the Python path does the same, slower
        pass
    else:
        core_module = _emit_core
        COMPILED = True
