"""Fast control on ROS 2: /scan and /odom in, /cmd_vel out at the loop rate, goals by name.

A thin adapter over :class:`embodied_collab.control.loop.ControlLoop`. Goals arrive on
``/control/goal`` (``std_msgs/String``: ``"x y [heading]"`` in the map/odom frame, a room,
furniture or object id, or ``"cancel"``); the goal's state is published on
``/control/status`` (``std_msgs/String`` holding JSON ``{"goal", "target", "status",
"message"}``, reliable and latched) on every change and at ``status_rate_hz``. The loop runs on a
steady-clock timer at ``rate_hz`` and publishes one ``/cmd_vel`` per tick (zero when idle, so
the base's own watchdog stays fed); every command comes out of the safety governor.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import numpy as np
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import LaserScan
from std_msgs.msg import String

from embodied_collab.control.config_control import ControlConfig
from embodied_collab.ros import convert, qos
from embodied_collab.ros.config_control_node import ControlNodeConfig
from embodied_collab.ros.graph import TOPICS
from embodied_collab.ros.loop_thread import LoopThread
from embodied_collab.ros.params import ParameterMirror, attribute_docs

GOAL_TOPIC = "/control/goal"
STATUS_TOPIC = "/control/status"
_READ_ONLY = ("world_seed", "world_path")


def load_map(cfg: ControlNodeConfig) -> Any:
    """The world whose map the robot plans on (plain Python, no ROS)."""
    if cfg.world_path:
        from embodied_collab.sim.world import World

        return World.load(cfg.world_path)
    from embodied_collab.sim.generate import generate_world

    return generate_world(cfg.world_seed)


def _control_config(cfg: ControlNodeConfig) -> ControlConfig:
    names = ControlConfig.__dataclass_fields__
    return ControlConfig(**{k: getattr(cfg, k) for k in names})


class ControlNode(Node):
    """ROS 2 adapter of the control loop (see the module docstring)."""

    def __init__(self, name: str = "control", *, world: Any = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        from embodied_collab.control.loop import ControlLoop

        self._params = ParameterMirror(self, ControlNodeConfig, read_only=_READ_ONLY,
                                       descriptions=attribute_docs(ControlConfig),
                                       on_change=self._on_config)
        cfg = self._params.config
        self._pub_cmd = self.create_publisher(Twist, TOPICS["cmd_vel"], qos.command_qos())
        self._pub_status = self.create_publisher(String, STATUS_TOPIC, qos.latched_qos())
        self.loop = ControlLoop(_control_config(cfg), world or load_map(cfg), self._send)
        self.create_subscription(Odometry, TOPICS["odom"], self._on_odom, qos.state_qos())
        self.create_subscription(LaserScan, TOPICS["scan"], self._on_scan, qos.sensor_qos())
        self.create_subscription(String, GOAL_TOPIC, self._on_goal, qos.command_qos())
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        # the loop thread and the executor's callbacks both use self.loop: one at a time
        self._loop_lock = threading.Lock()
        self._status_timer = self.create_timer(1.0 / cfg.status_rate_hz, self._publish_status,
                                               clock=self._steady)
        self._angles: tuple[tuple[float, float, int], np.ndarray] | None = None
        self._target = ""
        self._goal_id = 0
        self._message = ""
        self._last_status = None
        self.sent = 0
        self._publish_status()
        # started by the first spin of an executor, like a timer (see _start_loop)
        self._timer = LoopThread(1.0 / cfg.rate_hz, self._tick, name="control-loop")
        self._starter = self.create_timer(0.0, self._start_loop)
        self.get_logger().info(f"control loop at {cfg.rate_hz} Hz, controller "
                               f"{cfg.controller}, map {cfg.world_path or cfg.world_seed}")

    @property
    def config(self) -> ControlNodeConfig:
        """The current (validated) configuration."""
        return self._params.config

    def _on_config(self, cfg: ControlNodeConfig) -> None:
        with self._loop_lock:
            self.loop.config = _control_config(cfg)
            self.loop.governor.reconfigure(self.loop.config)
        self._timer.set_period(1.0 / cfg.rate_hz)

    def _start_loop(self) -> None:
        self._starter.cancel()
        if not self._timer.running:
            self._timer.start()

    def destroy_node(self) -> None:
        """Stop the loop thread, then destroy the node."""
        timer = getattr(self, "_timer", None)
        if timer is not None:
            timer.stop()
        super().destroy_node()

    # -- inputs ---------------------------------------------------------------------------
    def _on_odom(self, msg: Any) -> None:
        pose, vel = convert.odometry_to_pose(msg)
        with self._loop_lock:
            self.loop.on_odom(pose, vel)

    def _on_scan(self, msg: Any) -> None:
        ranges = convert.scan_to_array(msg)
        key = (msg.angle_min, msg.angle_increment, ranges.size)
        if self._angles is None or self._angles[0] != key:
            self._angles = (key, msg.angle_min + np.arange(ranges.size) * msg.angle_increment)
        with self._loop_lock:
            self.loop.on_scan(ranges, self._angles[1], msg.range_max)

    def _on_goal(self, msg: Any) -> None:
        from embodied_collab.control.global_path import parse_target
        from embodied_collab.errors import EmbodiedCollabError

        text = msg.data.strip()
        self._goal_id += 1
        self._target = text
        with self._loop_lock:
            if text == "cancel":
                self.loop.cancel()
                self._message = "cancelled"
            else:
                try:
                    self.loop.set_goal(parse_target(text))
                    self._message = ""
                except EmbodiedCollabError as exc:  # bad goal: say why, keep running
                    self.loop.cancel()
                    self._message = f"rejected: {exc}"
        if self._message.startswith("rejected"):
            self.get_logger().warning(f"goal {text!r} {self._message}")
        self._last_status = None
        self._publish_status()

    # -- loop -----------------------------------------------------------------------------
    def _send(self, v: float, w: float) -> None:
        self._pub_cmd.publish(convert.twist_msg(v, w))
        self.sent += 1

    def _tick(self) -> None:
        with self._loop_lock:
            res = self.loop.step(time.monotonic())
        if res.status != self._last_status:
            self._publish_status()

    def _publish_status(self) -> None:
        status = self.loop.status
        self._last_status = status
        self._pub_status.publish(String(data=json.dumps({
            "goal": self._goal_id, "target": self._target, "status": status.value,
            "message": self._message})))
