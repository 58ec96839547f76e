"""Configuration of the continuous simulator: robot dynamics, lidar, camera and sensor noise."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(kw_only=True)
class SimConfig:
    """Parameters of :class:`embodied_collab.sim.robot_sim.RobotSim` and the continuous env.

    Attributes:
        dt: default integration step (s) of ``RobotSim.step`` and the env's control period.
        max_substep: longest distance (m) the robot moves in one collision-checked substep;
            keeps collision checks exact at any speed (no tunnelling).
        v_max: largest forward/backward speed (m/s).
        w_max: largest turn rate (rad/s).
        accel_v: linear acceleration limit (m/s^2).
        accel_w: angular acceleration limit (rad/s^2).
        cmd_timeout: seconds after the last ``set_cmd_vel`` at which the command falls to zero
            (a dead-man switch for the ROS node); 0 disables it.
        lidar_beams: number of lidar rays.
        lidar_fov: lidar field of view (rad), centred on the robot's heading.
        lidar_range: maximum lidar range (m); rays that hit nothing report this.
        lidar_range_min: minimum lidar range (m).
        lidar_noise: standard deviation (m) of Gaussian noise added to lidar ranges.
        camera_width: camera image width (px).
        camera_height: camera image height (px).
        camera_hfov: horizontal field of view (degrees).
        camera_z: optical centre height above the floor (m); the camera has zero pitch.
        camera_far: largest depth (m) the camera reports.
        camera_noise: standard deviation of per-pixel RGB noise (0-255 scale); 0 disables it.
        depth_noise: relative standard deviation of depth noise (fraction of the depth).
    """

    dt: float = 0.1
    max_substep: float = 0.04
    v_max: float = 0.6
    w_max: float = 1.5
    accel_v: float = 1.5
    accel_w: float = 4.0
    cmd_timeout: float = 0.5
    lidar_beams: int = 64
    lidar_fov: float = 2 * math.pi
    lidar_range: float = 6.0
    lidar_range_min: float = 0.05
    lidar_noise: float = 0.0
    camera_width: int = 160
    camera_height: int = 120
    camera_hfov: float = 90.0
    camera_z: float = 1.0
    camera_far: float = 20.0
    camera_noise: float = 0.0
    depth_noise: float = 0.0

    def __post_init__(self) -> None:
        positive = ("dt", "max_substep", "v_max", "w_max", "accel_v", "accel_w", "lidar_range",
                    "lidar_range_min", "camera_far")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name in ("cmd_timeout", "lidar_noise", "camera_noise", "depth_noise"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        if not isinstance(self.lidar_beams, int) or self.lidar_beams < 1:
            raise ValueError(f"lidar_beams must be an integer >= 1, got {self.lidar_beams!r}")
        if not 0 < self.lidar_fov <= 2 * math.pi + 1e-9:
            raise ValueError(f"lidar_fov must be in (0, 2*pi] rad, got {self.lidar_fov!r}")
        if self.lidar_range_min >= self.lidar_range:
            raise ValueError(
                f"lidar_range_min ({self.lidar_range_min}) must be < lidar_range "
                f"({self.lidar_range})"
            )
        for name in ("camera_width", "camera_height"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 8 <= value <= 4096:
                raise ValueError(f"{name} must be an integer in [8, 4096], got {value!r}")
        if not 10.0 <= self.camera_hfov <= 170.0:
            raise ValueError(f"camera_hfov must be in [10, 170] degrees, got {self.camera_hfov!r}")
        if not 0.05 <= self.camera_z <= 2.3:
            raise ValueError(f"camera_z must be in [0.05, 2.3] m, got {self.camera_z!r}")
