"""The simulated robot with the real on-board camera + detector and the fast-control driver.

The decisions here come from the privileged oracle (a stand-in for the planners, which other
tests cover); what is under test is that navigation is driven by the control loop and that
objects reach the planner's scene graph only through the camera and the committed detector.
"""

from __future__ import annotations

import pytest

from embodied_collab.control.driver import ControlDriver, attach_driver
from embodied_collab.executive.config_executive import ExecutiveConfig
from embodied_collab.executive.robot import CameraObserver, SimRobot
from embodied_collab.sim.generate import generate_task
from embodied_collab.sim.oracle import OraclePolicy


@pytest.fixture(scope="module")
def observer():
    return CameraObserver()


def run_oracle(robot: SimRobot, max_steps: int = 12) -> list[tuple[str, bool]]:
    policy = OraclePolicy()
    steps = []
    for _ in range(max_steps):
        out = robot.execute(policy.next_action(robot.env.unwrapped))
        steps.append((out.action, out.ok))
        if out.finished:
            break
    return steps


def test_mission_with_camera_perception_and_control_driving(tmp_path, observer):
    cfg = ExecutiveConfig(journal_path=str(tmp_path / "j.sqlite"), time_scale=1000.0,
                          manipulation_s=0.0)
    task = generate_task(0, "multi_step")
    robot = attach_driver(SimRobot(task, cfg, observer=observer))
    assert isinstance(robot.driver, ControlDriver)
    env = robot.env.unwrapped
    assert env.config.observation_source == "external"
    target = task.goal.object
    assert target not in env.scene.observed  # not visible from the start pose
    steps = run_oracle(robot)
    assert robot.success, steps
    assert target in env.scene.observed
    # the robot drove (many control ticks along the way), it was not put at its goals
    assert len(robot.trail) > 2 * sum(1 for a, ok in steps if a.startswith("navigate") and ok)


def test_without_observer_the_simulator_reveals_objects(tmp_path):
    cfg = ExecutiveConfig(journal_path=str(tmp_path / "j.sqlite"), time_scale=1000.0,
                          manipulation_s=0.0)
    robot = SimRobot(generate_task(0, "multi_step"), cfg)
    assert robot.env.unwrapped.config.observation_source == "ground_truth"
    assert robot.driver is None
    assert robot.success is False
    steps = run_oracle(robot)
    assert robot.success, steps


@pytest.mark.parametrize("kwargs, match", [
    ({"navigation": "teleport"}, "navigation"),
    ({"perception": "magic"}, "perception"),
])
def test_config_choices_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ExecutiveConfig(**kwargs)


def test_observer_validates_its_settings(observer):
    with pytest.raises(ValueError, match="headings"):
        CameraObserver(headings=0, perception=observer.perception)
    with pytest.raises(ValueError, match="glance_m"):
        CameraObserver(glance_m=0, perception=observer.perception)
