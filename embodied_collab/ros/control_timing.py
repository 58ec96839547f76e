"""Loop rate and period jitter of the control node measured through ROS 2.

The simulator node and the control node run in child processes on a private loopback DDS domain;
a subscriber node in this process sends the control node a goal and records the arrival times
of ``/cmd_vel``. ``loop_hz`` is one over the mean arrival period; ``period_jitter_ms_p99`` the
99th percentile of ``|period - 1/rate_hz|``, so it includes DDS delivery and scheduling on the
receiving side (what a base driver sees).
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from embodied_collab.ros import procs

logger = logging.getLogger(__name__)


def measure_control_over_ros(controller: str, *, rate_hz: float = 50.0, seconds: float = 10.0,
                             world_seed: int = 3, startup_s: float = 90.0,
                             executor: str | None = None) -> dict:
    """Run the sim and control nodes, drive to the farthest room, time ``/cmd_vel`` arrivals.

    ``executor`` (``"events"``/``"multi"``, None = the default of
    :func:`embodied_collab.ros.host.executor_kind`) is used by both nodes and the subscriber here.

    Returns:
        ``{"loop_hz", "period_jitter_ms_p99", "period_ms_p50", "messages", "goal_status"}``.

    Raises:
        TimeoutError: if the nodes do not come up within ``startup_s``.
    """
    import json

    import rclpy
    from geometry_msgs.msg import Twist
    from rclpy.context import Context
    from rclpy.signals import SignalHandlerOptions
    from std_msgs.msg import String

    from embodied_collab.ros import qos
    from embodied_collab.ros.host import EXECUTOR_ENV, executor_kind, make_executor
    from embodied_collab.sim.generate import generate_world

    world = generate_world(world_seed)
    r = world.robot
    goal = max(world.rooms, key=lambda room: (room.centre[0] - r.x) ** 2
               + (room.centre[1] - r.y) ** 2).id
    domain = procs.unique_domain_id()
    env = procs.ros_env(domain)
    kind = executor_kind(executor)
    env[EXECUTOR_ENV] = kind
    logdir = Path(tempfile.mkdtemp(prefix="ec-control-timing-"))
    children = []
    ctx = Context()
    rclpy.init(context=ctx, domain_id=domain, signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("control_timing", context=ctx)
    ex = make_executor(kind, context=ctx, num_threads=1)
    arrivals: list[float] = []
    status: list[dict] = []
    try:
        children.append(procs.spawn(procs.cli_command(
            "ros", "run", "sim", "--ros-args", "-p", f"world_seed:={world_seed}",
            "-p", "use_sim_time:=false", "-p", "camera_rate_hz:=1.0", "-p", "camera_width:=32",
            "-p", "camera_height:=24", "-p", "scan_rate_hz:=20.0"), env,
            log_path=str(logdir / "sim.log")))
        children.append(procs.spawn(procs.cli_command(
            "ros", "run", "control", "--ros-args", "-p", f"world_seed:={world_seed}",
            "-p", f"controller:={controller}", "-p", f"rate_hz:={float(rate_hz)}"), env,
            log_path=str(logdir / "control.log")))
        node.create_subscription(Twist, "/cmd_vel", lambda m: arrivals.append(
            time.perf_counter()), qos.command_qos())
        node.create_subscription(String, "/control/status",
                                 lambda m: status.append(json.loads(m.data)), qos.latched_qos())
        pub = node.create_publisher(String, "/control/goal", qos.command_qos())
        ex.add_node(node)  # after its subscriptions: the events executor takes them at add
        end = time.monotonic() + startup_s
        while not (status and len(arrivals) > 10 and pub.get_subscription_count()):
            if time.monotonic() > end:
                raise TimeoutError(f"control/sim nodes not up in {startup_s} s (logs {logdir})")
            ex.spin_once(timeout_sec=0.05)
        # the scan/odom must be flowing too: wait until the goal is accepted as active
        pub.publish(String(data=goal))
        end = time.monotonic() + 10.0
        while not (status and status[-1]["target"] == goal) and time.monotonic() < end:
            ex.spin_once(timeout_sec=0.05)
        arrivals.clear()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ex.spin_once(timeout_sec=0.05)
    finally:
        ex.shutdown(timeout_sec=2.0)
        node.destroy_node()
        ctx.try_shutdown()
        for child in reversed(children):
            procs.stop(child, timeout=5.0)
    t = np.asarray(arrivals)
    p = np.diff(t)
    if p.size < 2:
        return {"loop_hz": 0.0, "period_jitter_ms_p99": None, "messages": int(t.size)}
    jitter = np.abs(p - 1.0 / rate_hz) * 1e3
    return {
        "loop_hz": round(float(1.0 / p.mean()), 2),
        "period_jitter_ms_p99": round(float(np.percentile(jitter, 99)), 3),
        "period_ms_p50": round(float(np.median(p) * 1e3), 3),
        "messages": int(t.size),
        "goal_status": status[-1]["status"] if status else None,
        "executor": kind,
    }
