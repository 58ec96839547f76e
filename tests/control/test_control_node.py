"""The control node over real DDS: the simulator node and the control node in child processes,
a probe node here sends goals and watches /cmd_vel and /control/status."""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

import pytest

from embodied_collab.ros import procs

pytestmark = pytest.mark.ros

DOMAIN_ID = procs.unique_domain_id(7919)
STARTUP_S = 60.0
WORLD_SEED = 3


def _goal_near_start() -> tuple[float, float]:
    """A free point 1.5-2.5 m (geodesic) from the robot's start in the test world."""
    import numpy as np

    from embodied_collab.sim.generate import generate_world
    from embodied_collab.sim.navgrid import NavGrid

    world = generate_world(WORLD_SEED)
    grid = NavGrid(world, clearance=0.15)
    field = grid.distance_field(world.robot.x, world.robot.y)
    rows, cols = np.nonzero(np.isfinite(field) & (field > 1.5) & (field < 2.5) & grid.free)
    return grid.to_world(int(cols[0]), int(rows[0]))


@pytest.fixture(scope="module")
def graph():
    """The simulator node and the control node (classical controller) in child processes."""
    procs.use_private_domain(DOMAIN_ID)
    env = procs.ros_env(DOMAIN_ID)
    logdir = Path(tempfile.mkdtemp(prefix="ec-control-test-"))
    sim = procs.spawn(procs.cli_command(
        "ros", "run", "sim", "--ros-args", "-p", f"world_seed:={WORLD_SEED}",
        "-p", "use_sim_time:=false", "-p", "camera_rate_hz:=1.0", "-p", "camera_width:=32",
        "-p", "camera_height:=24", "-p", "scan_rate_hz:=20.0"), env,
        log_path=str(logdir / "sim.log"))
    ctl = None
    try:
        ctl = procs.spawn(procs.cli_command(
            "ros", "run", "control", "--ros-args", "-p", f"world_seed:={WORLD_SEED}",
            "-p", "controller:=classical", "-p", "rate_hz:=50.0"), env,
            log_path=str(logdir / "control.log"))
        yield logdir
    finally:
        if ctl is not None:
            procs.stop(ctl, timeout=5.0)
        procs.stop(sim, timeout=5.0)


def test_goal_is_driven_to_at_the_loop_rate(graph):
    import rclpy
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions
    from std_msgs.msg import String

    from embodied_collab.ros import qos

    ctx = Context()
    rclpy.init(context=ctx, domain_id=DOMAIN_ID, signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("control_probe", context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    cmds, statuses, odom = [], [], []
    node.create_subscription(Twist, "/cmd_vel", lambda m: cmds.append(time.monotonic()),
                             qos.command_qos())
    node.create_subscription(String, "/control/status",
                             lambda m: statuses.append(json.loads(m.data)), qos.latched_qos())
    node.create_subscription(Odometry, "/odom", lambda m: odom.append(m), qos.state_qos())
    pub = node.create_publisher(String, "/control/goal", qos.command_qos())

    def wait_for(pred, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return
            ex.spin_once(timeout_sec=0.02)
        logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in graph.glob("*.log"))
        pytest.fail(f"timed out after {timeout} s waiting for {what}\n{logs}")

    try:
        wait_for(lambda: statuses and odom and len(cmds) > 20 and pub.get_subscription_count(),
                 STARTUP_S, "control node status, /odom and /cmd_vel")
        # idle: /cmd_vel still flows at the loop rate (zero), measured over 2 s
        cmds.clear()
        t0 = time.monotonic()
        wait_for(lambda: time.monotonic() - t0 > 2.0, 5.0, "2 s of /cmd_vel")
        rate = (len(cmds) - 1) / (cmds[-1] - cmds[0])
        assert rate == pytest.approx(50.0, rel=0.15)
        # a bad goal is refused with the reason
        pub.publish(String(data="no_such_place"))
        wait_for(lambda: statuses and "rejected" in statuses[-1]["message"], 10.0,
                 "the rejection of a bad goal")
        gx, gy = _goal_near_start()
        pub.publish(String(data=f"{gx} {gy}"))
        wait_for(lambda: statuses[-1]["target"] == f"{gx} {gy}" and statuses[-1]["status"]
                 in ("succeeded", "failed", "blocked"), 40.0, "the goal's outcome")
        assert statuses[-1]["status"] == "succeeded", statuses[-1]
        assert any(s["status"] == "active" for s in statuses)
        p = odom[-1].pose.pose.position
        assert math.hypot(p.x - gx, p.y - gy) < 0.3
    finally:
        ex.shutdown(timeout_sec=2.0)
        node.destroy_node()
        ctx.try_shutdown()
