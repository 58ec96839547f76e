"""Local controllers' common interface and the classical one: regulated pure pursuit.

A local controller turns a :class:`LocalObservation` (pose, velocity, the lookahead waypoint on
the global path, the lidar scan) into a proposed ``(v, w)``; the safety governor decides what is
actually sent. Controllers are chosen by name from :data:`CONTROLLER_REGISTRY`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from embodied_collab.control.config_control import ControlConfig


@dataclass
class LocalObservation:
    """What a local controller sees at one tick.

    Attributes:
        pose: ``(x, y, theta)`` in the map frame.
        velocity: measured ``(v, w)``.
        waypoint: lookahead point on the global path (map frame).
        goal: final goal position (map frame).
        goal_heading: heading wanted at the goal, or None.
        remaining: path distance left to the goal (m).
        ranges: lidar ranges (m).
        angles: lidar bearings in the robot frame (rad).
        range_max: lidar maximum range (m); hits at or beyond it are "no return".
    """

    pose: tuple[float, float, float]
    velocity: tuple[float, float]
    waypoint: tuple[float, float]
    goal: tuple[float, float]
    goal_heading: float | None
    remaining: float
    ranges: np.ndarray
    angles: np.ndarray
    range_max: float


class LocalController(Protocol):
    """What the control loop needs from a local controller."""

    def reset(self) -> None: ...

    def command(self, obs: LocalObservation) -> tuple[float, float]: ...


def wrap_angle(a: float) -> float:
    """Angle in [-pi, pi)."""
    return (a + math.pi) % (2 * math.pi) - math.pi


def to_robot_frame(pose: tuple[float, float, float],
                   p: tuple[float, float]) -> tuple[float, float]:
    """A map point in the robot frame (x forward, y left)."""
    dx, dy = p[0] - pose[0], p[1] - pose[1]
    c, s = math.cos(pose[2]), math.sin(pose[2])
    return (c * dx + s * dy, -s * dx + c * dy)


class PurePursuit:
    """Regulated pure pursuit: arc to the lookahead waypoint, slowing for curvature, nearby
    obstacles and the goal; turns in place when the waypoint is far off the heading.

    Args:
        config: speed limits, ``a_brake`` and ``robot_radius`` are used.
        rotate_threshold: turn in place when the waypoint bearing exceeds this (rad).
        curvature_speed: speed is divided by ``1 + curvature_speed * |curvature|``.
        slow_distance: obstacles closer than this (m, from the footprint, ahead) slow it down.
    """

    def __init__(
        self,
        config: ControlConfig,
        *,
        rotate_threshold: float = 0.9,
        curvature_speed: float = 0.5,
        slow_distance: float = 0.5,
    ) -> None:
        self.config = config
        self.rotate_threshold = rotate_threshold
        self.curvature_speed = curvature_speed
        self.slow_distance = slow_distance

    def reset(self) -> None:
        """No internal state."""

    def command(self, obs: LocalObservation) -> tuple[float, float]:
        cfg = self.config
        d_goal = math.hypot(obs.goal[0] - obs.pose[0], obs.goal[1] - obs.pose[1])
        if d_goal < cfg.goal_tolerance:
            if obs.goal_heading is None:
                return 0.0, 0.0
            err = wrap_angle(obs.goal_heading - obs.pose[2])
            return 0.0, float(np.clip(3.0 * err, -cfg.w_max, cfg.w_max))
        x, y = to_robot_frame(obs.pose, obs.waypoint)
        ld = math.hypot(x, y)
        if ld < 1e-6:
            return 0.0, 0.0
        alpha = math.atan2(y, x)
        escape = self._escape_turn(obs, alpha)
        if escape is not None:
            return 0.0, escape
        if abs(alpha) > self.rotate_threshold:
            return 0.0, float(np.clip(2.5 * alpha, -cfg.w_max, cfg.w_max))
        kappa = 2.0 * math.sin(alpha) / ld
        v = cfg.v_max / (1.0 + self.curvature_speed * abs(kappa))
        v = min(v, math.sqrt(2.0 * 0.5 * cfg.a_brake * max(obs.remaining, 0.0)) + 0.05)
        v = min(v, self._obstacle_speed(obs))
        w = v * kappa
        if abs(w) > cfg.w_max:
            v *= cfg.w_max / abs(w)
            w = math.copysign(cfg.w_max, w)
        return float(v), float(w)

    def _escape_turn(self, obs: LocalObservation, alpha: float) -> float | None:
        """Turn rate that swings a hit inside the governor's margin out of the forward half.

        The governor forbids any forward motion that approaches such a hit, so driving on
        would freeze the robot (``blocked``); turning in place is always allowed.
        """
        cfg = self.config
        r = np.asarray(obs.ranges, dtype=np.float64)
        a = np.asarray(obs.angles, dtype=np.float64)
        a = (a + math.pi) % (2 * math.pi) - math.pi
        close = (r < cfg.robot_radius + cfg.safety_margin + 0.015) & (np.abs(a) < 0.45 * math.pi)
        if not close.any():
            return None
        # the waypoint side decides when both sides are close; otherwise away from the hit
        left = bool((a[close] > 0).any())
        right = bool((a[close] < 0).any())
        if left and right:
            side = 1.0 if alpha > 0 else -1.0
        else:
            side = -1.0 if left else 1.0
        return side * 0.6 * cfg.w_max

    def _obstacle_speed(self, obs: LocalObservation) -> float:
        cfg = self.config
        r = np.asarray(obs.ranges, dtype=np.float64)
        a = np.asarray(obs.angles, dtype=np.float64)
        ahead = (np.abs(a) < math.pi / 3) & (r < obs.range_max)
        if not ahead.any():
            return cfg.v_max
        gap = float(r[ahead].min()) - cfg.robot_radius
        if gap >= self.slow_distance:
            return cfg.v_max
        return cfg.v_max * max(gap / self.slow_distance, 0.25)


#: Local controllers by :attr:`ControlConfig.controller` name.
CONTROLLER_REGISTRY: dict[str, Callable[[ControlConfig], LocalController]] = {
    "classical": PurePursuit,
}


def make_controller(config: ControlConfig) -> LocalController:
    """The local controller named by ``config.controller``."""
    if config.controller == "learned" and "learned" not in CONTROLLER_REGISTRY:
        from embodied_collab.control import learned  # noqa: F401  (registers itself)
    return CONTROLLER_REGISTRY[config.controller](config)
