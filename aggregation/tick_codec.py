"""The worker's tick codec: the compiled one when it is built (``python -m aggregation.build_ext``),
else its pure-Python twin (``aggregation.tick_codec_py``), byte-identical.

``MDHUB_PURE_PYTHON=1`` picks the twin even when the compiled one is there (to compare them).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aggregation import tick_codec_py

body_prefix = tick_codec_py.body_prefix
encode_body: Callable[[bytes, list[Any], int, int | None, int], bytes] = tick_codec_py.encode_body
ctp_numbers: Callable[[dict[str, Any], bool], list[Any]] = tick_codec_py.ctp_numbers
stateless_rule: Callable[[list[Any]], str | None] = tick_codec_py.stateless_rule
COMPILED = False

if os.environ.get("MDHUB_PURE_PYTHON") != "1":
    try:
        from aggregation import _tick_codec  # type: ignore[attr-defined]
    except ImportError:  # not built: the twin does the same, slower
        pass
    else:
        encode_body = _tick_codec.encode_body
        ctp_numbers = _tick_codec.ctp_numbers
        stateless_rule = _tick_codec.stateless_rule
        COMPILED = True
