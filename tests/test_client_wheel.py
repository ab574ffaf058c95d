"""The client wheel (clients/python): built here, installed into a clean virtualenv on another
path, with no Django there, and reading a live hub through its command."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.hub_process import PROJECT, HubProcess

# What a strategy host may not get from the wheel: the hub's web side.
WEB_SIDE = ("django", "rest_framework", "channels", "daphne")

IMPORT_CHECK = f"""
import importlib.util, sys
assert all(importlib.util.find_spec(name) is None for name in {WEB_SIDE!r}), "Django is installed"
import aggregation.client, mdhub_client, mdhub_client.universe, mdhub_client.__main__
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {WEB_SIDE!r})
assert not loaded, loaded
print(mdhub_client.__version__, aggregation.client.__file__)
"""


def run(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd="/")
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_a_clean_virtualenv_installs_the_wheel_and_reads_a_live_hub(tmp_path: Path) -> None:
    (tmp_path / "hub").mkdir()
    hub = HubProcess(tmp_path / "hub", MDHUB_SIM_RATE="5")
    hub.manage("migrate", "--noinput")
    hub.manage("seed_demo")
    hub.start()
    try:
        wheels = tmp_path / "wheels"
        run(sys.executable, "-m", "build", "--wheel", "--no-isolation", PROJECT / "clients" / "python",
            "--outdir", wheels)  # fmt: skip
        (wheel,) = wheels.glob("mdhub_client-*.whl")
        names = set(zipfile.ZipFile(wheel).namelist())
        # The client's modules and nothing of the hub's Django app.
        assert {"aggregation/client.py", "aggregation/wire.py", "aggregation/dedup.py"} <= names
        assert not {"aggregation/models.py", "aggregation/apps.py", "aggregation/admin.py"} & names

        venv = tmp_path / "elsewhere" / "venv"
        run(sys.executable, "-m", "venv", venv)
        run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
        checked = run(venv / "bin" / "python", "-c", IMPORT_CHECK)
        version, client_file = checked.stdout.split()
        assert Path(client_file).is_relative_to(venv), "imported from the repository, not the wheel"
        assert f"mdhub_client-{version}-" in wheel.name

        ticks = run(venv / "bin" / "mdhub-client", "--pub", hub.pub_addr, "--snapshot", hub.snap_addr,
                    "--count", "5", "--json", timeout=60)  # fmt: skip
    finally:
        hub.stop()
    lines = [json.loads(line) for line in ticks.stdout.splitlines()]
    assert len(lines) == 5
    assert all(
        t["symbol"] and t["exchange"] and t["seq"] >= 1 and t["source"].startswith("sim-") for t in lines
    )
