"""A data service's CPU priority: below the hub, so that a service may lag but a tick may not.

The services share the machine's cores with the hub, its workers and the clients. Each is
behind the stream by design (its SUB queue absorbs a burst; a lag is counted in its status),
whereas a hub that waits for a core delays every tick of every client. So a service runs at
the lowest priority Linux has:

* ``idle`` (the default): ``SCHED_IDLE``. The scheduler gives the process a core only when no
  normal task wants it, and a waking normal task (the hub, a worker, a client) preempts it at
  once, instead of waiting for its slice as with ``nice``. Measured on the 2-core machine
  (bench/services.py, docs/services.md "What a service costs the tick path"): with nice 10
  and a wake-up per tick the ceiling fell 14.6 % with services on, with ``SCHED_IDLE`` and
  batched reads 3–12 %; at normal priority 43 %. It is also set to nice 19, which is what
  counts if the scheduler ever refuses ``SCHED_IDLE``.
* ``nice``: nice 19 only (a normal task with the smallest weight), for a kernel or container
  that does not allow ``SCHED_IDLE``.
* ``normal``: as the hub (measuring the difference, or a machine with cores to spare).

A service starved for longer than the heartbeat timeout (a machine that is busy for
seconds on end) is restarted by the hub like a hung worker: derived data is late, never
the ticks. It must be called before any thread is started (ZeroMQ's I/O threads, numpy's):
on Linux both settings belong to a thread, and new threads inherit them.
"""

from __future__ import annotations

import os

IDLE = "idle"
NICE = "nice"
NORMAL = "normal"
PRIORITIES = (IDLE, NICE, NORMAL)
LOWEST_NICE = 19


def lower_priority(priority: str) -> str:
    """Put the calling thread (and the threads it starts later) at ``priority``; returns what
    it got (``idle``, ``nice``, or ``normal`` when neither could be set)."""
    if priority not in PRIORITIES:
        raise ValueError(f"unknown service priority {priority!r}: choose one of {', '.join(PRIORITIES)}")
    if priority == NORMAL:
        return NORMAL
    got = NORMAL
    try:
        # os.nice adds to the current value; setpriority sets it (a restart does not stack).
        os.setpriority(os.PRIO_PROCESS, 0, LOWEST_NICE)
        got = NICE
    except OSError:
        pass
    if priority == IDLE:
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            got = IDLE
        except (OSError, AttributeError):  # AttributeError: not Linux
            pass
    return got


def current_priority(tid: int = 0) -> str:
    """What a thread (0: the calling one) runs at, as ``lower_priority`` names it."""
    if os.sched_getscheduler(tid) == os.SCHED_IDLE:
        return IDLE
    return NICE if os.getpriority(os.PRIO_PROCESS, tid) > 0 else NORMAL
