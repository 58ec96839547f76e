"""``embodied-collab bench ros``: sensor rates and command latency across processes over DDS.

The simulator node runs in a child process (``embodied-collab ros run sim``); this process
subscribes to its sensors and measures, on a private loopback-only DDS domain:

- ``scan_hz`` / ``camera_hz``: received message rates;
- ``camera_latency_ms_p50``: receive time minus the image stamp (render + transport);
- ``cmd_to_odom_ms_p50`` / ``_p99``: from publishing a /cmd_vel to receiving the /odom the
  simulator publishes once it has applied that command (``odom_on_cmd``): the first /odom
  stamped after the publish. Periodic /odom is slowed to 1 Hz in this run so that it cannot be
  mistaken for the answer; scan and camera run at their configured rates meanwhile.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from embodied_collab.errors import EmbodiedCollabError, require
from embodied_collab.ros import procs

logger = logging.getLogger(__name__)


class BenchError(EmbodiedCollabError, RuntimeError):
    """The benchmark could not run (the simulator node did not come up, no messages)."""


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def run_bench(
    *,
    duration_s: float = 5.0,
    width: int = 320,
    height: int = 240,
    camera_hz: float = 30.0,
    scan_hz: float = 10.0,
    cmd_samples: int = 200,
    startup_timeout_s: float = 60.0,
    domain_id: int | None = None,
    baseline: bool = False,
    executor: str | None = None,
) -> dict[str, Any]:
    """Run the benchmark; see the module docstring for the measured quantities.

    With ``baseline`` the command loop is repeated against a bare echo node afterwards
    (``echo_cmd_to_odom_ms_*``): the floor this machine's DDS and Python set. ``executor``
    (``"events"``/``"multi"``, None = :func:`embodied_collab.ros.host.executor_kind`) is used by
    the simulator node, the echo node and this process's measuring nodes alike.

    Raises:
        BenchError: if the simulator node does not publish within ``startup_timeout_s``.
    """
    rclpy = require("rclpy", "ros")
    import sys

    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from rclpy.context import Context
    from rclpy.signals import SignalHandlerOptions
    from sensor_msgs.msg import Image, LaserScan

    from embodied_collab.ros import convert, qos
    from embodied_collab.ros.host import (
        EXECUTOR_ENV,
        SWITCH_INTERVAL_S,
        executor_kind,
        make_executor,
        spin_in_thread,
        stop_spinning,
    )

    kind = executor_kind(executor)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    domain = procs.unique_domain_id() if domain_id is None else domain_id
    env = procs.ros_env(domain)
    env[EXECUTOR_ENV] = kind
    procs.use_private_domain(domain)
    log = Path(tempfile.mkdtemp(prefix="ec-bench-ros-")) / "sim.log"
    cmd = procs.cli_command(
        "ros", "run", "sim", "--ros-args",
        "-p", f"camera_width:={width}", "-p", f"camera_height:={height}",
        "-p", f"camera_rate_hz:={float(camera_hz)}", "-p", f"scan_rate_hz:={float(scan_hz)}",
        "-p", "cmd_timeout_s:=5.0", "-p", "odom_rate_hz:=1.0", "-p", "odom_on_cmd:=true",
        "-p", "use_sim_time:=false",
    )
    proc = procs.spawn(cmd, env, log_path=str(log))
    context = Context()
    rclpy.init(context=context, domain_id=domain, signal_handler_options=SignalHandlerOptions.NO)
    # Sensors and the command loop on separate nodes and executor threads, so that a command's
    # answer is not queued behind camera frames in this process.
    node = rclpy.create_node("bench_ros_sensors", context=context)
    cmd_node = rclpy.create_node("bench_ros_cmd", context=context)
    sensor_executor = make_executor(kind, context=context, num_threads=1)
    cmd_executor = make_executor(kind, context=context, num_threads=1)
    lock = threading.Lock()
    scans: list[float] = []
    images: list[float] = []
    latencies: list[float] = []
    pending: dict[str, Any] = {"armed": False, "t0": 0.0, "t0_ns": 0, "event": threading.Event()}

    def on_scan(msg: Any) -> None:
        with lock:
            scans.append(time.monotonic())

    def on_image(msg: Any) -> None:
        now = time.time_ns()
        with lock:
            images.append(time.monotonic())
            latencies.append((now - convert.stamp_ns(msg.header.stamp)) / 1e6)

    def on_odom(msg: Any) -> None:
        if pending["armed"] and convert.stamp_ns(msg.header.stamp) >= pending["t0_ns"]:
            pending["trips"].append((time.perf_counter() - pending["t0"]) * 1e3)
            pending["armed"] = False
            pending["event"].set()

    node.create_subscription(LaserScan, "/scan", on_scan, qos.sensor_qos())
    node.create_subscription(Image, "/camera/image_raw", on_image, qos.sensor_qos())
    cmd_node.create_subscription(Odometry, "/odom", on_odom, qos.state_qos())
    pub = cmd_node.create_publisher(Twist, "/cmd_vel", qos.command_qos())
    sensor_executor.add_node(node)  # after the subscriptions (the events executor takes them
    cmd_executor.add_node(cmd_node)  # when the node is added)
    spinning = [(ex, *spin_in_thread(ex)) for ex in (sensor_executor, cmd_executor)]
    echo = None
    try:
        deadline = time.monotonic() + startup_timeout_s
        ready = lambda: images and scans and pub.get_subscription_count()  # noqa: E731
        while time.monotonic() < deadline and not ready():
            if proc.poll() is not None:
                raise BenchError(f"simulator node exited with {proc.returncode}: "
                                 f"{log.read_text()[-2000:]}")
            time.sleep(0.05)
        if not (images and scans):
            raise BenchError(f"no sensor data within {startup_timeout_s} s; log: {log}")
        time.sleep(0.5)  # let the first frames' discovery hiccups pass
        with lock:
            scans.clear(), images.clear(), latencies.clear()
        time.sleep(duration_s)
        with lock:
            scan_times, image_times, lat = list(scans), list(images), list(latencies)
        round_trips = _round_trips(pub, pending, cmd_samples)
        pub.publish(convert.twist_msg(0.0, 0.0))
        if baseline:  # the same loop against a bare echo node: what DDS + Python cost here
            rc = procs.stop(proc)
            logger.info("simulator node exited with %s", rc)
            echo = procs.spawn([sys.executable, "-c", _ECHO], env)
            deadline = time.monotonic() + startup_timeout_s
            while time.monotonic() < deadline and not pub.get_subscription_count():
                time.sleep(0.05)
            time.sleep(0.5)
            echo_trips = _round_trips(pub, pending, cmd_samples)
    finally:
        for ex, thread, stopped in spinning:
            stop_spinning(ex, thread, stopped, 2.0)
        node.destroy_node()
        cmd_node.destroy_node()
        context.try_shutdown()
        rc = procs.stop(proc)
        logger.info("simulator node exited with %s", rc)
        if echo is not None:
            procs.stop(echo)
    result = {
        "scan_hz": _rate(scan_times),
        "camera_hz": _rate(image_times),
        "camera_latency_ms_p50": _percentile(lat, 50),
        "cmd_to_odom_ms_p50": _percentile(round_trips, 50),
        "cmd_to_odom_ms_p99": _percentile(round_trips, 99),
        "cmd_samples": len(round_trips),
        "camera_width": width,
        "camera_height": height,
        "camera_rate_hz_requested": camera_hz,
        "duration_s": duration_s,
        "executor": kind,
    }
    if baseline:
        result["echo_cmd_to_odom_ms_p50"] = _percentile(echo_trips, 50)
        result["echo_cmd_to_odom_ms_p99"] = _percentile(echo_trips, 99)
    return result


def _round_trips(pub: Any, pending: dict[str, Any], n: int) -> list[float]:
    """Publish ``n`` commands, one at a time; milliseconds until each one's /odom."""
    from embodied_collab.ros import convert

    trips: list[float] = []
    pending["trips"] = trips
    for k in range(n):
        w = 0.2 if k % 2 else -0.2  # turn in place, back and forth
        pending["event"].clear()
        pending["t0_ns"] = time.time_ns()
        pending["t0"] = time.perf_counter()
        pending["armed"] = True
        pub.publish(convert.twist_msg(0.0, w))
        if not pending["event"].wait(1.0):
            pending["armed"] = False
            logger.warning("no /odom answered command %d within 1 s", k)
        time.sleep(0.005)
    return trips


#: A bare node answering each /cmd_vel with an /odom at once (the --baseline reference).
_ECHO = """
import sys, time, rclpy
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from embodied_collab.ros import convert, qos
from embodied_collab.ros.host import SWITCH_INTERVAL_S, make_executor
sys.setswitchinterval(SWITCH_INTERVAL_S)
rclpy.init()
node = rclpy.create_node("bench_echo")
pub = node.create_publisher(Odometry, "/odom", qos.state_qos())
node.create_subscription(Twist, "/cmd_vel", lambda m: pub.publish(convert.odometry_msg(
    (0.0, 0.0, 0.0), convert.twist_to_cmd(m), stamp_ns=time.time_ns())), qos.command_qos())
executor = make_executor(num_threads=1)  # the kind from $EMBODIED_COLLAB_ROS_EXECUTOR
executor.add_node(node)
try:
    while True:
        executor.spin_once(timeout_sec=0.1)
except BaseException:
    pass
"""


def _rate(times: list[float]) -> float:
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])
