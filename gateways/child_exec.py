"""``python -m gateways.child_exec PARENT_PID PROGRAM [ARG ...]``: arm the parent-death
signal, then become PROGRAM.

The hub's children that are not gateway workers (the data services, and any later room
the hub supervises) die with the hub without importing ``gateways``: this small program
arms ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (``gateways.parent_death``) and ``exec``s the
real program in the same process. The kernel keeps the parent-death signal across
``execve`` (it is cleared only for set-user-id and capability binaries), and the pid stays
the same, so the pid file and the heartbeat's ``pid`` name the real program.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from gateways.parent_death import die_with_parent


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2 or not argv[0].isdigit():
        print("usage: python -m gateways.child_exec PARENT_PID PROGRAM [ARG ...]", file=sys.stderr)
        return 2
    die_with_parent(int(argv[0]))  # exits at once when the parent has already gone
    os.execv(argv[1], list(argv[1:]))
    return 1  # not reached: execv replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
