"""A child of the hub dies with the hub (issue 10): the kernel's parent-death signal.

``die_with_parent`` runs first thing in a child (worker, simulated exchange). It asks the
kernel (``prctl(PR_SET_PDEATHSIG)``) to SIGKILL this process when the thread that started
it ends, which covers every way the hub can die, ``kill -9`` included. SIGKILL rather than
SIGTERM: a hung worker ignores SIGTERM, and an orphan has nothing left worth a clean exit.

The request is made after ``exec``, so a hub that died between the fork and that request
would go unnoticed: the parent's pid is checked right after it. The hub spawns its children
from its main thread, the one that lives as long as the hub (the signal follows the
*thread*, not the process). No Django import.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys

log = logging.getLogger("mdhub.parent_death")

PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` when the parent thread ends; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        return False
    return True


def parent_gone(parent_pid: int) -> bool:
    """Whether the process that started us has gone (we were re-parented)."""
    return os.getppid() != parent_pid


def die_with_parent(parent_pid: int | None) -> None:
    """Set the parent-death signal; exit at once if the parent is already gone.

    ``parent_pid`` None (a child started by hand, not by a hub) leaves the process alone.
    """
    if parent_pid is None:
        return
    set_parent_death_signal(signal.SIGKILL)
    if parent_gone(parent_pid):
        # The hub died before the signal was armed: nobody will ever end us.
        os._exit(0)
