"""Per-source health: the state machine of DESIGN §5, as pure Python (no Django, no ZMQ).

The engine owns the process-level states (``stopped``, ``starting`` on launch,
``restarting``, ``failed``) and sets them with ``SourceHealth.set``. While a worker runs,
``SourceHealth.judge`` turns what the hub observed — heartbeats, the gateway's own login
state, reconnect counts, canary arrivals — into ``starting``, ``connected``, ``healthy``,
``stale``, ``disconnected`` or ``unhealthy``. ``unhealthy`` is the one the engine acts on:
it is the trigger of the hard restart.

Canaries are judged only while their session is open, and a silent canary is blamed on
the source only when another source still delivers it: a market-wide pause (a break, a
halted contract, an exchange outage) leaves every source ``stale`` and restarts nothing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from engine.states import RUNNING_STATES, SourceState

# States that begin a new life of the worker: what was learnt of the old one is dropped.
_FRESH_STATES = frozenset(
    {SourceState.STARTING, SourceState.RESTARTING, SourceState.STOPPED, SourceState.FAILED}
)


@dataclass(frozen=True)
class HealthConfig:
    # A worker sends a status frame every 0.5 s; this long without one and it is hung.
    heartbeat_timeout: float = 3.0
    # From launch to the first status frame (imports, vn.py start-up).
    first_heartbeat_timeout: float = 20.0
    # From launch to a login; a CTP front that never answers ends here.
    login_timeout: float = 30.0
    # Logged out this long (the gateway reconnects by itself meanwhile) and it is unhealthy.
    disconnected_timeout: float = 10.0
    # A canary silent this long while its session is open makes the source stale ...
    canary_stale_after: float = 5.0
    # ... and stale this long while another source delivers that canary, unhealthy.
    stale_timeout: float = 5.0
    # More than ``storm_reconnects`` reconnects within ``storm_window`` seconds: a storm.
    storm_reconnects: int = 5
    storm_window: float = 10.0


@dataclass(frozen=True)
class Observation:
    """What the engine knows of a running source at one instant (seconds are ages)."""

    now: float
    since_start: float  # seconds since the worker was launched
    heartbeat_age: float | None  # None: no status frame since launch
    logged_in: bool
    reconnects: int  # the worker's running count of front disconnects
    error: str = ""
    # canary → seconds since this source last delivered it (None: not since launch)
    canary_age: dict[str, float | None] = field(default_factory=dict)
    # canary → seconds since any *other* running source delivered it (None: none did)
    peer_canary_age: dict[str, float | None] = field(default_factory=dict)
    # canary → whether its session is open now (always True for the simulated market)
    canary_open: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    account: str
    state_from: SourceState
    state_to: SourceState
    reason: str
    at: float  # monotonic


@dataclass
class SourceHealth:
    account: str
    config: HealthConfig = field(default_factory=HealthConfig)
    state: SourceState = SourceState.STOPPED
    reason: str = "not started"
    since: float = 0.0  # monotonic time of the last transition
    ever_logged_in: bool = False
    logged_in_at: float | None = None
    _reconnects: deque[tuple[float, int]] = field(default_factory=deque)

    def set(self, state: SourceState, reason: str, now: float) -> Transition | None:
        """Move to ``state``; a transition (for the event log) when the state changed."""
        if state == self.state:
            self.reason = reason
            return None
        previous = self.state
        self.state, self.reason, self.since = state, reason, now
        if state in _FRESH_STATES:
            self.ever_logged_in = False
            self.logged_in_at = None
            self._reconnects.clear()
        return Transition(self.account, previous, state, reason, now)

    def judge(self, obs: Observation) -> Transition | None:
        """Re-judge a running source; only ``RUNNING_STATES`` are judged."""
        if self.state not in RUNNING_STATES:
            return None
        state, reason = self._verdict(obs)
        return self.set(state, reason, obs.now)

    def _verdict(self, obs: Observation) -> tuple[SourceState, str]:
        cfg = self.config
        if obs.heartbeat_age is None:
            if obs.since_start > cfg.first_heartbeat_timeout:
                return SourceState.UNHEALTHY, f"no heartbeat {obs.since_start:.0f} s after launch (hung)"
            return SourceState.STARTING, "worker launched, waiting for its first status"
        if obs.heartbeat_age > cfg.heartbeat_timeout:
            return SourceState.UNHEALTHY, f"no heartbeat for {obs.heartbeat_age:.1f} s (hung)"

        storm = self._storm(obs)
        if storm:
            return SourceState.UNHEALTHY, storm

        if not obs.logged_in:
            detail = f": {obs.error}" if obs.error else ""
            if self.ever_logged_in:
                if self.state != SourceState.DISCONNECTED:
                    return SourceState.DISCONNECTED, f"logged out{detail}"
                gone = obs.now - self.since
                if gone > cfg.disconnected_timeout:
                    return SourceState.UNHEALTHY, f"disconnected for {gone:.0f} s{detail}"
                return SourceState.DISCONNECTED, self.reason
            if obs.since_start > cfg.login_timeout:
                return SourceState.UNHEALTHY, f"not logged in {obs.since_start:.0f} s after launch{detail}"
            return SourceState.STARTING, f"waiting for login{detail}"

        if not self.ever_logged_in or self.state == SourceState.DISCONNECTED:
            self.ever_logged_in = True
            self.logged_in_at = obs.now
        return self._canary_verdict(obs)

    def _storm(self, obs: Observation) -> str:
        cfg = self.config
        window = self._reconnects
        window.append((obs.now, obs.reconnects))
        while window and obs.now - window[0][0] > cfg.storm_window:
            window.popleft()
        count = obs.reconnects - window[0][1]
        if count > cfg.storm_reconnects:
            return f"connection storm: {count} reconnects in {cfg.storm_window:.0f} s"
        return ""

    def _canary_verdict(self, obs: Observation) -> tuple[SourceState, str]:
        cfg = self.config
        if not obs.canary_age:
            return SourceState.HEALTHY, "logged in (no canaries configured)"
        assert self.logged_in_at is not None
        logged_in_for = obs.now - self.logged_in_at
        open_canaries = [c for c, is_open in obs.canary_open.items() if is_open]
        if not open_canaries:
            return SourceState.HEALTHY, "logged in; canary sessions closed"
        silent: list[tuple[str, float]] = []
        waiting = False
        for canary in open_canaries:
            age = obs.canary_age.get(canary)
            if age is None:
                # Not delivered since launch: count the silence from the login.
                if logged_in_for <= cfg.canary_stale_after:
                    waiting = True
                    continue
                age = logged_in_for
            if age > cfg.canary_stale_after:
                silent.append((canary, age))
        if silent:
            canary, age = max(silent, key=lambda item: item[1])
            peer = obs.peer_canary_age.get(canary)
            others_deliver = peer is not None and peer <= cfg.canary_stale_after
            if (
                others_deliver
                and self.state == SourceState.STALE
                and obs.now - self.since > cfg.stale_timeout
            ):
                return (
                    SourceState.UNHEALTHY,
                    f"canary {canary} silent for {age:.0f} s while other sources deliver it",
                )
            where = "other sources still deliver it" if others_deliver else "no source delivers it"
            return SourceState.STALE, f"canary {canary} silent for {age:.0f} s in session ({where})"
        if waiting:
            return SourceState.CONNECTED, "logged in, waiting for canary ticks"
        return SourceState.HEALTHY, "canary ticks flowing"
