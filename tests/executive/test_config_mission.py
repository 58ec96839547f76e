"""ExecutiveConfig validation and the pure mission state machine (explicit fake times)."""

from __future__ import annotations

import pytest

from embodied_collab.errors import InvalidInputError
from embodied_collab.executive.config_executive import ExecutiveConfig
from embodied_collab.executive.mission import Decision, Mission


@pytest.mark.parametrize("field,value,match", [
    ("journal_path", "", "journal_path"),
    ("time_scale", 0.0, "time_scale"),
    ("time_scale", 5000.0, "time_scale"),
    ("robot_speed_mps", 0.0, "robot_speed_mps"),
    ("manipulation_s", -1.0, "manipulation_s"),
    ("motion_tick_s", 0.0, "motion_tick_s"),
    ("max_steps", 0, "max_steps"),
    ("decision_timeout_s", 0.0, "decision_timeout_s"),
    ("queue_wait_s", -1.0, "queue_wait_s"),
    ("navigation", "teleport", "navigation must be one of"),
    ("navigation_timeout_s", 0.0, "navigation_timeout_s"),
])
def test_config_rejects(field, value, match):
    with pytest.raises(ValueError, match=match):
        ExecutiveConfig(**{field: value})


def test_node_config_and_demo_options_reject_what_cannot_run():
    from embodied_collab.executive.config_executive import ExecutiveNodeConfig
    from embodied_collab.executive.demo import DemoOptions

    with pytest.raises(ValueError, match="navigation must be 'ros' or 'path'"):
        ExecutiveNodeConfig(navigation="control")
    with pytest.raises(ValueError, match="navigation_timeout_s"):
        ExecutiveNodeConfig(navigation_timeout_s=-1.0)
    with pytest.raises(ValueError, match="cannot run with --no-ros"):
        DemoOptions(navigation="ros", ros=False)
    assert DemoOptions(navigation="control", ros=False).navigation == "control"


def test_life_cycle_with_reasons():
    m = Mission("cmd-1", "bring the cup", created_at=0.0)
    m.transition("planning", "planning started", 1.0)
    m.transition("executing", "executing navigate table_1", 2.0)
    m.add_decision(Decision(1.5, "cloud", "navigate table_1", "r", 0.4, True, "up"))
    m.add_decision(Decision(2.5, "local", "pick cup_1", "r", 0.01, False, "down"))
    m.add_decision(Decision(3.5, "cloud", "done", "continuing", 0.0, False, "up"))
    m.transition("planning", "after navigate: ok", 3.0)
    m.transition("executing", "executing pick", 4.0)
    m.transition("done", "task complete", 5.0)
    assert m.terminal and m.ended_at == 5.0
    assert m.counts() == {"cloud": 2, "local": 1, "cloud_calls": 1}
    assert [t[2] for t in m.transitions] == ["planning", "executing", "planning", "executing",
                                             "done"]
    with pytest.raises(InvalidInputError, match="illegal transition done -> planning"):
        m.transition("planning", "again", 6.0)


def test_transition_needs_known_state_and_reason():
    m = Mission("cmd-2", "x", created_at=0.0)
    with pytest.raises(InvalidInputError, match="unknown mission state"):
        m.transition("flying", "why", 1.0)
    with pytest.raises(InvalidInputError, match="reason"):
        m.transition("planning", " ", 1.0)
    with pytest.raises(InvalidInputError, match="illegal transition accepted -> done"):
        m.transition("done", "skip", 1.0)


@pytest.mark.parametrize("kind", ["stop", "cancel"])
def test_preempt_ends_cancelled_with_reason(kind):
    m = Mission("cmd-3", "x", created_at=0.0)
    m.transition("planning", "p", 1.0)
    assert m.preempt(kind, "heard it")
    assert m.preempt("cancel", "second request")  # idempotent; the first reason stays
    assert m.finish_preempted(2.0)
    assert m.state == "cancelled" and m.reason == f"{kind}: heard it"
    assert not m.preempt("stop")  # nothing left to preempt
    with pytest.raises(InvalidInputError, match="preempt kind"):
        Mission("cmd-4", "x", created_at=0.0).preempt("pause")
