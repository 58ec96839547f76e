"""The simulated robot as the ROS simulator node sees it: velocity commands in, odometry, laser
scans and RGB-D frames out, plus a gripper.

:class:`RobotSim` owns the world (mutating the robot's pose and the objects it moves) and a
simulated clock. It is plain Python; ``embodied_collab/ros`` wraps it in a node.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from embodied_collab.sim import physics
from embodied_collab.sim.camera import Camera, Frame
from embodied_collab.sim.config_sim import SimConfig
from embodied_collab.sim.lidar import Lidar
from embodied_collab.sim.world import World, WorldObject

logger = logging.getLogger(__name__)


def _approach(value: float, target: float, step: float) -> float:
    return min(value + step, target) if target > value else max(value - step, target)


class RobotSim:
    """A differential-drive robot with lidar, RGB-D camera and gripper in a household world.

    Args:
        world: the world to simulate (mutated: robot pose, held and placed objects).
        config: simulator parameters (defaults if None).
        extra_objects: floor objects not in ``world`` (clutter): obstacles for the robot,
            lidar and camera.
        seed: seed of the sensor-noise generator.
    """

    def __init__(self, world: World, config: SimConfig | None = None,
                 extra_objects: list[WorldObject] | None = None, seed: int | None = None) -> None:
        self.world = world
        self.config = config or SimConfig()
        cfg = self.config
        self.extra_objects = list(extra_objects or [])
        self.obstacles = physics.Obstacles(world, self.extra_objects)
        self.lidar = Lidar(self.obstacles, beams=cfg.lidar_beams, fov=cfg.lidar_fov,
                           range_max=cfg.lidar_range, range_min=cfg.lidar_range_min,
                           noise=cfg.lidar_noise)
        self._camera: Camera | None = None
        self.rng = np.random.default_rng(seed)
        self._cmd = (0.0, 0.0)
        self._cmd_time = 0.0
        self._v = 0.0
        self._w = 0.0
        self._time = 0.0
        self.collided = False
        self.distance_travelled = 0.0

    # ------------------------------------------------------------------- state
    @property
    def pose(self) -> tuple[float, float, float]:
        """(x, y, theta) of the robot in the world frame."""
        return self.world.robot.pose

    @property
    def velocity(self) -> tuple[float, float]:
        """Current (v, w): linear (m/s) and angular (rad/s) velocity."""
        return (self._v, self._w)

    @property
    def time(self) -> float:
        """Simulated seconds since construction."""
        return self._time

    def set_pose(self, x: float, y: float, theta: float) -> None:
        """Teleport the robot (and stop it)."""
        r = self.world.robot
        r.x, r.y, r.theta = float(x), float(y), float(theta)
        self._v = self._w = 0.0
        self._cmd = (0.0, 0.0)

    # ---------------------------------------------------------------- commands
    def set_cmd_vel(self, v: float, w: float) -> None:
        """Command a linear and angular velocity; clamped to ``v_max``/``w_max``.

        Raises:
            ValueError: a non-finite value.
        """
        if not (math.isfinite(v) and math.isfinite(w)):
            raise ValueError(f"cmd_vel must be finite, got v={v!r}, w={w!r}")
        cfg = self.config
        self._cmd = (max(-cfg.v_max, min(cfg.v_max, float(v))),
                     max(-cfg.w_max, min(cfg.w_max, float(w))))
        self._cmd_time = self._time

    def step(self, dt: float | None = None) -> None:
        """Advance the simulation by ``dt`` seconds (default ``config.dt``).

        Velocities move toward the command within the acceleration limits; the command falls to
        zero ``cmd_timeout`` seconds after the last ``set_cmd_vel``. Sets :attr:`collided`.
        """
        cfg = self.config
        dt = cfg.dt if dt is None else float(dt)
        if not dt > 0:
            raise ValueError(f"dt must be > 0, got {dt!r}")
        v_cmd, w_cmd = self._cmd
        if cfg.cmd_timeout > 0 and self._time - self._cmd_time > cfg.cmd_timeout:
            v_cmd = w_cmd = 0.0
        self._v = _approach(self._v, v_cmd, cfg.accel_v * dt)
        self._w = _approach(self._w, w_cmd, cfg.accel_w * dt)
        r = self.world.robot
        old = (r.x, r.y)
        (r.x, r.y, r.theta), self.collided = physics.integrate(
            self.obstacles, r.pose, self._v, self._w, dt, cfg.max_substep)
        if self.collided:
            self._v = 0.0
        self.distance_travelled += math.hypot(r.x - old[0], r.y - old[1])
        if r.holding is not None:
            obj = self.world.object_by_id(r.holding)
            obj.position = (r.x, r.y)
        self._time += dt

    # ----------------------------------------------------------------- sensors
    @property
    def angle_min(self) -> float:
        return self.lidar.angle_min

    @property
    def angle_max(self) -> float:
        return self.lidar.angle_max

    @property
    def angle_increment(self) -> float:
        return self.lidar.angle_increment

    @property
    def range_min(self) -> float:
        return self.lidar.range_min

    @property
    def range_max(self) -> float:
        return self.lidar.range_max

    def scan(self) -> np.ndarray:
        """Lidar ranges (float32, m) from the current pose; see :attr:`angle_min`,
        :attr:`angle_max`, :attr:`angle_increment`, :attr:`range_max`."""
        return self.lidar.scan(self.pose, self.rng)

    @property
    def camera_model(self) -> Camera:
        """The camera (created on first use)."""
        if self._camera is None:
            cfg = self.config
            self._camera = Camera(cfg.camera_width, cfg.camera_height, cfg.camera_hfov,
                                  cfg.camera_z, cfg.camera_far, cfg.camera_noise, cfg.depth_noise)
        return self._camera

    @property
    def intrinsics(self) -> tuple[float, float, float, float, int, int]:
        """(fx, fy, cx, cy, width, height) of the camera."""
        return self.camera_model.intrinsics

    def camera_frame(self) -> Frame:
        """A full :class:`~embodied_collab.sim.camera.Frame` (RGB, depth, instances, boxes)."""
        return self.camera_model.render(self.world, self.pose, self.extra_objects, self.rng)

    def camera(self) -> tuple[np.ndarray, np.ndarray]:
        """(rgb uint8 HxWx3, depth float32 HxW metres) from the current pose."""
        f = self.camera_frame()
        return f.rgb, f.depth

    # ----------------------------------------------------------------- gripper
    def pick(self, object_id: str) -> tuple[bool, str]:
        """Pick up an object within reach; (ok, message)."""
        ok, msg = physics.pick(self.world, object_id)
        if ok:
            self.obstacles.refresh_objects()
        logger.debug(msg)
        return ok, msg

    def place(self, furniture_id: str, relation: str | None = None) -> tuple[bool, str]:
        """Place the held object on/in furniture within reach; (ok, message)."""
        ok, msg = physics.place(self.world, furniture_id, relation)
        if ok:
            self.obstacles.refresh_objects()
        logger.debug(msg)
        return ok, msg

    def open(self, furniture_id: str) -> tuple[bool, str]:
        """Open a container within reach; (ok, message)."""
        return physics.set_open(self.world, furniture_id, True)

    def close(self, furniture_id: str) -> tuple[bool, str]:
        """Close a container within reach; (ok, message)."""
        return physics.set_open(self.world, furniture_id, False)
