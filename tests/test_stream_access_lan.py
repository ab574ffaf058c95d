"""``./dev run --lan`` (devtools.devrun): the stream on every interface with CURVE on, which
the stream-access check (mdhub.E030) accepts, and without CURVE would refuse."""

from __future__ import annotations

from pathlib import Path

from django.test import override_settings

from devtools.devrun import LAN_ENV, programs
from mdhub_project.checks_access import check_stream_access


def test_the_lan_profile_binds_every_stream_endpoint_beyond_loopback_with_curve_on(tmp_path: Path) -> None:
    found, _ = programs(8000, 6399, tmp_path, lan=True)
    hub = next(p for p in found if p.name == "hub")
    assert {k: hub.env[k] for k in LAN_ENV} == LAN_ENV
    addresses = {k: v for k, v in LAN_ENV.items() if k.endswith("_ADDR")}
    assert len(addresses) == 4 and all(v.startswith("tcp://*:") for v in addresses.values())
    with override_settings(**addresses, MDHUB_CURVE=True, MDHUB_CURVE_KEY_FILE=tmp_path / "none.key"):
        assert check_stream_access() == []
    with override_settings(**addresses, MDHUB_CURVE=False, MDHUB_STREAM_OPEN=False):
        [error] = check_stream_access()
        assert error.id == "mdhub.E030" and "MDHUB_CONFLATE_ADDR=tcp://*:5558" in error.msg
    plain, _ = programs(8000, 6399, tmp_path)
    assert "MDHUB_CURVE" not in next(p for p in plain if p.name == "hub").env
