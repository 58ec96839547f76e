"""The simulator as a robot base on ROS 2: /cmd_vel in; /odom, /scan, RGB-D camera, /clock out.

A thin adapter over :class:`embodied_collab.sim.robot_sim.RobotSim`: it steps the simulation on a
steady wall-clock loop in its own thread (``rate_factor`` simulated seconds per second; see
:mod:`embodied_collab.ros.loop_thread`) and publishes each sensor at its configured rate in
simulated time; the executor only dispatches ``/cmd_vel``, services and parameter changes.
Stamps are simulated time when ``use_sim_time`` is true (then ``/clock`` is published), wall
time otherwise, like a real base's driver.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import CameraInfo, Image, LaserScan

from embodied_collab.ros import convert, interfaces, qos
from embodied_collab.ros.config_sim_node import SimNodeConfig
from embodied_collab.ros.graph import SERVICES, TOPICS
from embodied_collab.ros.loop_thread import LoopThread
from embodied_collab.ros.params import ParameterMirror

_READ_ONLY = ("world_seed", "world_path", "camera_width", "camera_height", "odom_frame",
              "base_frame", "laser_frame", "camera_frame")


def build_robot_sim(cfg: SimNodeConfig) -> Any:
    """The core simulator for ``cfg`` (plain Python, no ROS)."""
    from embodied_collab.sim.config_sim import SimConfig
    from embodied_collab.sim.robot_sim import RobotSim

    if cfg.world_path:
        from embodied_collab.sim.world import World

        world = World.load(cfg.world_path)
    else:
        from embodied_collab.sim.generate import generate_world

        world = generate_world(cfg.world_seed)
    sim_cfg = SimConfig(camera_width=cfg.camera_width, camera_height=cfg.camera_height,
                        cmd_timeout=cfg.cmd_timeout_s)
    return RobotSim(world, sim_cfg, seed=cfg.world_seed)


class _Schedule:
    """Fires every ``period`` of simulated time without drifting (skips if far behind)."""

    def __init__(self, rate_hz: float, now: float) -> None:
        self.period = 1.0 / rate_hz
        self.next = now

    def due(self, now: float) -> bool:
        if now + 1e-9 < self.next:
            return False
        self.next += self.period
        if self.next < now:
            self.next = now + self.period
        return True


class SimNode(Node):
    """ROS 2 node hosting the robot simulator (see the module docstring and docs/ros.md)."""

    def __init__(self, name: str = "sim", **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._lock = threading.Lock()
        self._params = ParameterMirror(self, SimNodeConfig, read_only=_READ_ONLY,
                                       on_change=self._on_config)
        cfg = self._params.config
        self._sim = build_robot_sim(cfg)
        self._pub_odom = self.create_publisher(Odometry, TOPICS["odom"],
                                               qos.state_qos())
        sensor = qos.sensor_qos()
        self._pub_scan = self.create_publisher(LaserScan, TOPICS["scan"], sensor)
        self._pub_image = self.create_publisher(Image, TOPICS["image"], sensor)
        self._pub_depth = self.create_publisher(Image, TOPICS["depth"], sensor)
        self._pub_info = self.create_publisher(CameraInfo,
                                               TOPICS["camera_info"], sensor)
        self._pub_clock = self.create_publisher(ClockMsg, "/clock", qos.clock_qos())
        # Commands are handled on the executor while the physics thread renders a camera
        # frame, so /cmd_vel -> /odom stays short (own callback group for a multi executor).
        self._state = (self._sim.pose, self._sim.velocity)
        self.create_subscription(Twist, TOPICS["cmd_vel"], self._on_cmd_vel, qos.command_qos(),
                                 callback_group=MutuallyExclusiveCallbackGroup())
        self._create_services()
        self._reset_schedules(cfg)
        self._wall = time.monotonic()
        # the physics loop: its own thread on absolute deadlines, not an executor timer; it
        # starts when an executor first spins the node (as a timer would), so that a process
        # hosting several nodes finishes building them before simulated time starts to flow
        self._loop = LoopThread(1.0 / cfg.physics_rate_hz, self._tick, name="sim-physics")
        self._starter = self.create_timer(0.0, self._start_loop)
        self.get_logger().info(
            f"simulating world {cfg.world_path or f'seed={cfg.world_seed}'} at "
            f"{cfg.rate_factor}x real time, camera {cfg.camera_width}x{cfg.camera_height} "
            f"@ {cfg.camera_rate_hz} Hz"
        )

    @property
    def config(self) -> SimNodeConfig:
        """The current (validated) configuration."""
        return self._params.config

    @property
    def sim(self) -> Any:
        """The core simulator (stepped by the node's timer; read it, do not step it)."""
        return self._sim

    # -- parameters -------------------------------------------------------------------------
    def _on_config(self, cfg: SimNodeConfig) -> None:
        with self._lock:
            self._reset_schedules(cfg)
            self._loop.set_period(1.0 / cfg.physics_rate_hz)

    def _start_loop(self) -> None:
        self._starter.cancel()
        if not self._loop.running:
            self._wall = time.monotonic()
            self._loop.start()

    def destroy_node(self) -> None:
        """Stop the physics loop, then destroy the node."""
        self._loop.stop()
        super().destroy_node()

    def _reset_schedules(self, cfg: SimNodeConfig) -> None:
        now = self._sim.time
        self._odom = _Schedule(cfg.odom_rate_hz, now)
        self._scan = _Schedule(cfg.scan_rate_hz, now)
        self._camera = _Schedule(cfg.camera_rate_hz, now)

    # -- time -------------------------------------------------------------------------------
    def _use_sim_time(self) -> bool:
        return bool(self.get_parameter("use_sim_time").value)

    def _stamp_ns(self) -> int:
        if self._use_sim_time():
            return int(round(self._sim.time * 1e9))
        return time.time_ns()

    # -- loop -------------------------------------------------------------------------------
    def _tick(self) -> None:
        cfg = self._params.config
        now = time.monotonic()
        elapsed = min(now - self._wall, 0.25) * cfg.rate_factor
        self._wall = now
        max_dt = 1.0 / cfg.physics_rate_hz
        with self._lock:
            while elapsed > 1e-9:
                dt = min(elapsed, max_dt)
                self._sim.step(dt)
                elapsed -= dt
            self._state = (self._sim.pose, self._sim.velocity)
            t = self._sim.time
            stamp = self._stamp_ns()
            if self._use_sim_time():
                self._pub_clock.publish(convert.clock_msg(stamp))
            if self._odom.due(t):
                self._publish_odom(stamp, *self._state)
            if self._scan.due(t):
                self._publish_scan(stamp)
            if self._camera.due(t):
                self._publish_camera(stamp)

    def _publish_odom(self, stamp: int, pose: tuple, velocity: tuple) -> None:
        cfg = self._params.config
        self._pub_odom.publish(convert.odometry_msg(
            pose, velocity, stamp_ns=stamp, frame_id=cfg.odom_frame,
            child_frame_id=cfg.base_frame))

    def _publish_scan(self, stamp: int) -> None:
        cfg = self._params.config
        s = self._sim
        self._pub_scan.publish(convert.scan_msg(
            s.scan(), angle_min=s.angle_min, angle_max=s.angle_max, range_min=s.range_min,
            range_max=s.range_max, stamp_ns=stamp, frame_id=cfg.laser_frame,
            scan_time=1.0 / cfg.scan_rate_hz))

    def _publish_camera(self, stamp: int) -> None:
        cfg = self._params.config
        rgb, depth = self._sim.camera()
        frame = cfg.camera_frame
        self._pub_image.publish(convert.image_msg(rgb, "rgb8", stamp_ns=stamp, frame_id=frame))
        if cfg.publish_depth:
            self._pub_depth.publish(convert.image_msg(depth.astype("float32", copy=False),
                                                      "32FC1", stamp_ns=stamp, frame_id=frame))
        fx, fy, cx, cy, width, height = self._sim.intrinsics
        self._pub_info.publish(convert.camera_info_msg(fx, fy, cx, cy, width, height,
                                                       stamp_ns=stamp, frame_id=frame))

    # -- commands ---------------------------------------------------------------------------
    def _on_cmd_vel(self, msg: Any) -> None:
        try:
            v, w = convert.twist_to_cmd(msg)
        except ValueError as exc:
            self.get_logger().warning(f"ignored /cmd_vel: {exc}")
            return
        # No lock: set_cmd_vel only stores the command, and odom reads the state snapshot the
        # physics loop leaves after each step, so a command never waits for a camera frame.
        self._sim.set_cmd_vel(v, w)
        if self._params.config.odom_on_cmd:
            self._publish_odom(self._stamp_ns(), *self._state)

    def _create_services(self) -> None:
        srv = interfaces.srv()
        if srv is None:
            self.get_logger().warning(
                "manipulation services disabled: embodied_collab_interfaces is not built "
                "(run scripts/build_ros_ws.sh)")
            return
        for key, srv_type, field, method in (
            ("pick", srv.Pick, "object_id", "pick"),
            ("place", srv.Place, "furniture_id", "place"),
            ("open", srv.Open, "furniture_id", "open"),
        ):
            self.create_service(srv_type, SERVICES[key], self._manipulation(method, field))

    def _manipulation(self, method: str, field: str):
        def handle(request: Any, response: Any) -> Any:
            target = getattr(request, field)
            with self._lock:
                try:
                    ok, message = getattr(self._sim, method)(target)
                except ValueError as exc:  # InvalidActionError and bad ids
                    ok, message = False, str(exc)
            response.success, response.message = bool(ok), str(message)
            self.get_logger().info(f"{method} {target!r}: {'ok' if ok else 'failed'} {message}")
            return response

        return handle
