"""``accounts.changed`` names the row that changed: a difference the engine finds in any
other row (a notification lost while Redis was away, an edit made straight in the
database) is applied too, and its event says it was found, not announced."""

from __future__ import annotations

from pathlib import Path

from engine.loop import Engine
from engine.states import AccountChange, SourceState
from tests.test_engine_steps import engines, make_engine, run_dir, sim

__all__ = ["engines", "run_dir"]  # pytest fixtures, used by name below


def test_a_change_to_another_row_is_applied_and_says_it_was_found(
    run_dir: Path, engines: list[Engine]
) -> None:
    engine, published = make_engine(run_dir, [sim("sim-a"), sim("sim-b", priority=2)])
    engines.append(engine)
    engine.start()
    # sim-a was re-ranked (announced); sim-b was disabled without a word.
    engine.accounts_changed([sim("sim-a", priority=3), sim("sim-b", priority=2, enabled=False)], "sim-a")
    engine.run_commands(engine.clock())
    assert published.reasons("sim-a")[-1] == "priority 1 → 3"
    sim_b = engine.sources["sim-b"]
    assert sim_b.pid is None and sim_b.health.state == SourceState.STOPPED
    assert sim_b.health.reason == "account disabled (found when sim-a was saved)"
    # sim-b's deletion is announced; sim-a's disabling, in the same reload, is not.
    engine.accounts_changed([sim("sim-a", priority=3, enabled=False)], "sim-b", AccountChange.DELETED)
    engine.run_commands(engine.clock())
    assert set(engine.sources) == {"sim-a"}
    assert engine.sources["sim-a"].health.reason == "account disabled (found when sim-b was deleted)"


def test_a_reload_that_names_no_row_adds_no_note(run_dir: Path, engines: list[Engine]) -> None:
    engine, published = make_engine(run_dir, [])
    engines.append(engine)
    engine.accounts_changed([sim("sim-a")])
    engine.run_commands(engine.clock())
    assert published.reasons("sim-a")[0] == "account added"
