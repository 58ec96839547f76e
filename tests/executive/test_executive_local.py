"""The executive with a FAKE cloud (down) and the FAKE oracle planner: routing to local,
journal transitions, stop/cancel preemption, queueing, and the real simulated robot's motion."""

from __future__ import annotations

import threading
import time

import pytest

from embodied_collab.executive.executive import completed_actions, task_payload
from embodied_collab.sim.generate import generate_task

from .fakes import local_executive


def test_local_mission_done_and_journaled(tmp_path):
    ex, _ = local_executive(tmp_path)
    task = generate_task(5, "multi_step")
    m = ex.submit(task.instruction, payload=task_payload(task))
    assert ex.journal.get(m.command_id).state.value == "accepted"  # durable before it runs
    ex.run_next()
    assert m.state == "done", m.reason
    assert m.counts()["local"] == len(m.actions) and m.counts()["cloud"] == 0
    rec = ex.journal.get(m.command_id)
    assert rec.state.value == "done" and rec.reason == "task complete"
    acts = [a["action"] for a in m.actions]
    assert completed_actions(ex.journal, m.command_id) == acts[:-1]  # done ends it
    # offline decisions were logged for sync
    assert len(ex.journal.outbox_pending()) == len(m.decisions)
    robot = ex.robots[m.command_id]
    assert robot.success and len(robot.trail) > 2 * sum(a.startswith("navigate") for a in acts)
    ex.journal.close()


@pytest.mark.parametrize("kind", ["stop", "cancel"])
def test_stop_preempts_a_driving_robot(tmp_path, kind):
    ex, _ = local_executive(tmp_path, time_scale=1.0)  # real-time driving: takes seconds
    task = generate_task(5, "multi_step")
    m = ex.submit(task.instruction, payload=task_payload(task))
    ex.start()
    try:
        end = time.monotonic() + 10
        while not m.actions and not any(t[2] == "executing" for t in m.transitions):
            assert time.monotonic() < end, "mission never started executing"
            time.sleep(0.01)
        time.sleep(0.2)
        t0 = time.monotonic()
        assert ex.handle_text(kind) is None
        ex.wait(m.command_id, 5.0)
        assert m.state == "cancelled" and m.reason.startswith(kind)
        assert time.monotonic() - t0 < 1.0  # halted within a few motion ticks
        assert ex.journal.get(m.command_id).state.value == "cancelled"
    finally:
        ex.stop()
        ex.journal.close()


def test_cancel_of_waiting_missions(tmp_path):
    ex, _ = local_executive(tmp_path)
    task = generate_task(1, "fetch")
    a = ex.submit(task.instruction, payload=task_payload(task))
    b = ex.submit(task.instruction, payload=task_payload(task))
    assert ex.cancel(b.command_id, kind="cancel", reason="user changed mind")
    assert b.state == "cancelled" and ex.journal.get(b.command_id).state.value == "cancelled"
    ex.run_next()
    assert a.state == "done" and ex.run_next() is None
    ex.journal.close()


def test_beyond_local_waits_then_fails_with_reason(tmp_path):
    from embodied_collab.link import LinkConfig

    ex, _ = local_executive(tmp_path, queue_wait_s=0.3)
    ex.router.config = LinkConfig(offline_action="refuse", local_difficulties=("fetch",))
    task = generate_task(2, "search")
    m = ex.submit(task.instruction, payload=task_payload(task))
    ex.run_next()
    assert m.state == "failed" and "link did not return" in m.reason
    states = [t.to_state.value for t in ex.journal.history(m.command_id)]
    assert states == ["accepted", "planning", "queued", "failed"]
    ex.journal.close()


def test_bad_input_is_refused(tmp_path):
    from embodied_collab.errors import InvalidInputError

    ex, _ = local_executive(tmp_path)
    with pytest.raises(InvalidInputError, match="non-empty"):
        ex.submit("   ")
    m = ex.submit("do something", payload={})  # accepted, then explicitly failed: no task
    ex.run_next()
    assert m.state == "failed" and "no task" in m.reason
    assert ex.journal.unfinished() == []
    ex.journal.close()


def test_motion_is_not_a_teleport(tmp_path):
    from embodied_collab.executive.config_executive import ExecutiveConfig
    from embodied_collab.executive.robot import SimRobot

    poses = []
    cfg = ExecutiveConfig(time_scale=20.0, journal_path=str(tmp_path / "j"))
    task = generate_task(3, "fetch")
    robot = SimRobot(task, cfg, pose_sink=lambda x, y, th: poses.append((x, y)))
    from embodied_collab.sim.oracle import oracle_plan

    first = oracle_plan(robot.world, task)[0]
    t0 = time.monotonic()
    out = robot.execute(first, threading.Event())
    wall = time.monotonic() - t0
    length = sum(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5
                 for a, b in zip(out.path, out.path[1:], strict=False))
    assert out.ok and len(poses) > 5
    assert out.duration_s == pytest.approx(length / cfg.robot_speed_mps, rel=1e-6)
    assert wall >= 0.8 * out.duration_s / cfg.time_scale


def test_a_plan_starting_where_the_robot_stands_is_kept(tmp_path):
    """A cloud plan whose first step drives to the robot's own place keeps its next steps."""
    from embodied_collab.executive.config_executive import ExecutiveConfig
    from embodied_collab.executive.executive import _skip_arrived
    from embodied_collab.executive.robot import SimRobot
    from embodied_collab.sim.oracle import oracle_plan

    cfg = ExecutiveConfig(time_scale=1000.0, journal_path=str(tmp_path / "j"))
    task = generate_task(3, "fetch")
    robot = SimRobot(task, cfg)
    plan = oracle_plan(robot.world, task)
    first, rest = plan[0], plan[1:]
    assert first.startswith("navigate") and not robot.here(first)
    assert _skip_arrived(robot, plan) == plan  # not there yet: nothing skipped
    assert robot.execute(first, threading.Event()).ok
    assert robot.here(first) and not robot.valid(first)
    assert _skip_arrived(robot, [first, *rest]) == rest
    assert robot.valid(rest[0])
    assert _skip_arrived(robot, [first]) == [first]  # a lone step is left for the caller
    assert not robot.here("navigate nowhere_9")
