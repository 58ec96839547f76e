"""The control driver: the executive's navigation driven by the control loop on the simulator."""

import math
import threading

import pytest

from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.driver import ControlDriver, control_sim_robot
from embodied_collab.control.loop import GoalStatus
from embodied_collab.executive.config_executive import ExecutiveConfig
from embodied_collab.sim.generate import generate_task


@pytest.fixture(scope="module")
def task():
    return generate_task(3, "fetch")


def test_navigate_is_driven_by_the_control_loop(task):
    poses = []
    robot = control_sim_robot(task, ExecutiveConfig(time_scale=1000.0),
                              pose_sink=lambda x, y, th: poses.append((x, y, th)))
    target = robot.world.furniture[0].id
    start = robot.pose[:2]
    out = robot.navigate(target)
    assert out.ok and robot.driver.last_status is GoalStatus.SUCCEEDED
    assert robot.driver.collisions == 0
    # driven, not teleported: many intermediate poses, each step short, ending at the goal
    assert len(out.path) > 5 and math.dist(out.path[0], start) < 1e-6
    steps = [math.dist(a, b) for a, b in zip(out.path, out.path[1:], strict=False)]
    assert max(steps) < 0.6 * 5 * ControlConfig().period + 0.05
    goal = robot.env.unwrapped.episode.places.points[
        robot.env.unwrapped.episode.places.slot(target)]
    assert math.dist(out.path[-1], goal[:2]) < ControlConfig().goal_tolerance + 1e-6
    assert len(poses) >= len(out.path) - 1


def test_cancel_stops_the_drive(task):
    cancel = threading.Event()
    cancel.set()
    driver = ControlDriver(control_sim_robot(task).world, ControlConfig(controller="classical"))
    x, y, _ = driver.sim.pose
    driven = driver.drive([(x, y), (x + 2.0, y)], cancel)
    assert driver.last_status is GoalStatus.IDLE and len(driven) <= 2
    assert driver.sim.velocity == (0.0, 0.0)


@pytest.mark.parametrize("kwargs, match", [({"time_scale": -1.0}, "time_scale"),
                                           ({"max_sim_s": 0.0}, "max_sim_s"),
                                           ({"emit_every": 0}, "emit_every")])
def test_driver_validation(task, kwargs, match):
    world = control_sim_robot(task).world
    with pytest.raises(ValueError, match=match):
        ControlDriver(world, **kwargs)
    with pytest.raises(ValueError, match="empty path"):
        ControlDriver(world).drive([])
