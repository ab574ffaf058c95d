"""The per-source health state machine, restart budget and failover choice (pure logic)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.failover import Candidate, choose_primary, warm_active
from engine.health import HealthConfig, Observation, SourceHealth
from engine.restart_policy import RestartBudget, RestartConfig
from engine.states import SourceState

HEALTHY = SourceState.HEALTHY

CANARY = "rb2601.SHFE"
CFG = HealthConfig(
    heartbeat_timeout=3.0,
    first_heartbeat_timeout=20.0,
    login_timeout=30.0,
    disconnected_timeout=10.0,
    canary_stale_after=5.0,
    stale_timeout=5.0,
    storm_reconnects=5,
    storm_window=10.0,
)


def obs(now: float, **kw: Any) -> Observation:
    defaults: dict[str, Any] = {
        "since_start": now,
        "heartbeat_age": 0.2,
        "logged_in": True,
        "reconnects": 0,
        "canary_age": {CANARY: 0.3},
        "peer_canary_age": {CANARY: 0.3},
        "canary_open": {CANARY: True},
    }
    defaults.update(kw)
    return Observation(now=now, **defaults)


def running(now: float = 0.0) -> SourceHealth:
    health = SourceHealth("sim-a", CFG)
    health.set(SourceState.STARTING, "launched", now)
    return health


def test_a_source_goes_from_starting_through_connected_to_healthy() -> None:
    health = running()
    assert health.judge(obs(0.5, heartbeat_age=None)) is None  # still starting
    t = health.judge(obs(1.0, canary_age={CANARY: None}))
    assert t is not None and (t.state_from, t.state_to) == ("starting", "connected")
    t = health.judge(obs(1.5))
    assert t is not None and t.state_to == "healthy" and t.reason == "canary ticks flowing"
    assert health.judge(obs(2.0)) is None  # no event while nothing changes


def test_missing_heartbeat_is_unhealthy_and_says_hung() -> None:
    health = running()
    health.judge(obs(1.0))
    t = health.judge(obs(5.0, heartbeat_age=3.5))
    assert t is not None and t.state_to == "unhealthy" and "hung" in t.reason


def test_a_worker_that_never_reports_is_unhealthy_after_the_first_heartbeat_timeout() -> None:
    health = running()
    assert health.judge(obs(19.0, heartbeat_age=None)) is None
    t = health.judge(obs(21.0, heartbeat_age=None))
    assert t is not None and t.state_to == "unhealthy"


def test_never_logging_in_is_unhealthy_after_the_login_timeout_with_the_gateway_error() -> None:
    health = running()
    assert health.judge(obs(29.0, logged_in=False, error="front unreachable")) is None
    t = health.judge(obs(31.0, logged_in=False, error="front unreachable"))
    assert t is not None and t.state_to == "unhealthy" and "front unreachable" in t.reason


def test_a_logout_is_disconnected_then_unhealthy_unless_it_comes_back() -> None:
    health = running()
    health.judge(obs(1.0))
    t = health.judge(obs(2.0, logged_in=False))
    assert t is not None and t.state_to == "disconnected"
    assert health.judge(obs(11.0, logged_in=False)) is None
    t = health.judge(obs(12.5, logged_in=False))
    assert t is not None and t.state_to == "unhealthy" and "disconnected for 10 s" in t.reason

    other = running()
    other.judge(obs(1.0))
    other.judge(obs(2.0, logged_in=False))
    t = other.judge(obs(4.0))
    assert t is not None and (t.state_from, t.state_to) == ("disconnected", "healthy")


def test_a_reconnect_storm_is_unhealthy() -> None:
    health = running()
    health.judge(obs(1.0, reconnects=0))
    for i in range(1, 5):
        health.judge(obs(1.0 + i * 0.25, reconnects=i))
    assert health.state == "healthy"  # four reconnects: within bounds
    t = health.judge(obs(2.5, reconnects=6))
    assert t is not None and t.state_to == "unhealthy" and "storm" in t.reason


def test_slow_reconnects_over_a_long_time_are_no_storm() -> None:
    health = running()
    for i in range(20):
        assert health.judge(obs(1.0 + i * 3.0, reconnects=i)) is None or health.state == "healthy"
    assert health.state == "healthy"


def test_a_silent_canary_is_stale_and_unhealthy_only_while_others_deliver_it() -> None:
    health = running()
    health.judge(obs(1.0))
    t = health.judge(obs(7.0, canary_age={CANARY: 6.0}, peer_canary_age={CANARY: 0.2}))
    assert t is not None and t.state_to == "stale" and "other sources still deliver it" in t.reason
    assert health.judge(obs(11.0, canary_age={CANARY: 10.0}, peer_canary_age={CANARY: 0.2})) is None
    t = health.judge(obs(12.5, canary_age={CANARY: 11.5}, peer_canary_age={CANARY: 0.2}))
    assert t is not None and t.state_to == "unhealthy"


def test_a_market_wide_silence_stays_stale_and_restarts_nothing() -> None:
    health = running()
    health.judge(obs(1.0))
    for now in (7.0, 20.0, 60.0):
        health.judge(obs(now, canary_age={CANARY: now - 1}, peer_canary_age={CANARY: now - 1}))
        assert health.state == "stale"
        assert "no source delivers it" in health.reason


def test_closed_sessions_raise_no_alarm() -> None:
    health = running()
    health.judge(obs(1.0))
    t = health.judge(
        obs(600.0, canary_age={CANARY: 599.0}, peer_canary_age={CANARY: None}, canary_open={CANARY: False})
    )
    assert t is None and health.state == "healthy" and "closed" in health.reason


def test_a_canary_never_seen_since_login_counts_its_silence_from_the_login() -> None:
    health = running()
    health.judge(obs(1.0, canary_age={CANARY: None}))
    assert health.state == "connected"
    health.judge(obs(7.0, canary_age={CANARY: None}, peer_canary_age={CANARY: 0.1}))
    assert health.state == "stale"


def test_process_states_are_not_judged() -> None:
    health = SourceHealth("sim-a", CFG)
    assert health.judge(obs(1.0)) is None and health.state == "stopped"
    health.set(SourceState.RESTARTING, "restart 1 in 1 s", 2.0)
    assert health.judge(obs(3.0)) is None and health.state == "restarting"


def test_the_restart_budget_backs_off_exponentially_then_fails() -> None:
    budget = RestartBudget(RestartConfig(backoff_first=1.0, backoff_max=8.0, budget=5, budget_window=100.0))
    delays = [budget.next_delay(float(i)) for i in range(6)]
    assert [d.seconds for d in delays[:5]] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert not any(d.exhausted for d in delays[:5])
    assert delays[5].exhausted and delays[5].seconds == 300.0
    # Old restarts fall out of the window: back to the shortest delay.
    later = budget.next_delay(500.0)
    assert later.seconds == 1.0 and not later.exhausted
    budget.reset()
    assert budget.recent == 0


@pytest.mark.parametrize(
    ("states", "primary"),
    [
        ({"a": "healthy", "b": "healthy", "c": "healthy"}, "a"),
        ({"a": "stale", "b": "healthy", "c": "healthy"}, "b"),
        ({"a": "unhealthy", "b": "restarting", "c": "healthy"}, "c"),
        ({"a": "stale", "b": "failed", "c": "connected"}, None),
    ],
)
def test_the_primary_is_the_best_priority_healthy_source(states: dict[str, str], primary: str | None) -> None:
    priorities = {"a": 1, "b": 2, "c": 3}
    assert choose_primary(Candidate(k, priorities[k], SourceState(v)) for k, v in states.items()) == primary


def test_warm_mode_picks_the_best_n_healthy_and_keeps_the_set_when_none_is_healthy() -> None:
    candidates = [Candidate("a", 1, HEALTHY), Candidate("b", 2, HEALTHY), Candidate("c", 3, HEALTHY)]
    assert warm_active(candidates, 1, set()) == {"a"}
    assert warm_active(candidates, 2, set()) == {"a", "b"}
    failed_a = [Candidate("a", 1, SourceState.STALE), *candidates[1:]]
    assert warm_active(failed_a, 1, {"a"}) == {"b"}
    none_healthy = [Candidate(c.account, c.priority, SourceState.UNHEALTHY) for c in candidates]
    assert warm_active(none_healthy, 1, {"b"}) == {"b"}


def test_the_repeat_limiter_passes_a_burst_then_summarises_what_it_swallowed() -> None:
    import logging

    from gateways.log_limit import RepeatLimiter

    clock = [0.0]
    limiter = RepeatLimiter(burst=3, window=10.0, clock=lambda: clock[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("ctp", logging.INFO, __file__, 1, msg, None, None)

    passed = [limiter.filter(record(f"front disconnected, reason {4097 + i}")) for i in range(100)]
    assert passed[:3] == [True, True, True] and not any(passed[3:])
    assert limiter.filter(record("another message"))  # a different kind has its own budget
    clock[0] = 10.5
    summary = record("front disconnected, reason 4097")
    assert limiter.filter(summary)
    assert "97 more like it" in summary.getMessage()
