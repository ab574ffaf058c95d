"""A new client's key pair: the public half is stored, the secret half handed out once."""

from __future__ import annotations

from aggregation.curve import CurveKeys


def new_key_pair() -> CurveKeys:
    return CurveKeys.generate()
