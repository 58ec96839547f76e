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
from embodied_collab.control.governor import arc_free_distance, scan_points


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
    """Regulated pure pursuit with an arc check: arc to the lookahead waypoint, swerving to the
    nearest free arc when the lidar shows the pure-pursuit arc blocked, slowing so it could
    stop before the arc's free distance runs out, and for the goal; turns in place when the
    waypoint is far off the heading or no forward arc is free.

    Creep: when no forward arc is free at ``safety_margin`` but one is at ``creep_margin``
    (a narrow passage the footprint fits), it drives that arc at ``creep_speed``, where the
    governor keeps only ``creep_margin``; :attr:`creeping` says so, and :attr:`narrow` also
    when a hit is inside the footprint plus ``safety_margin``.

    Arcs are checked with the governor's own test (:func:`governor.arc_free_distance`, the
    footprint plus ``safety_margin``), so what it proposes is what the governor lets through.

    Args:
        config: speed limits, ``a_brake``, ``robot_radius`` and ``safety_margin`` are used.
        rotate_threshold: turn in place when the waypoint bearing exceeds this (rad).
        curvature_speed: speed is divided by ``1 + curvature_speed * |curvature|``.
        horizon: arc length checked against the lidar (m).
        min_free: an arc counts as free when this much of it is (m; less near the goal).
        creep_free: when no arc is free at ``safety_margin``, an arc free for this long at
            ``creep_margin`` is driven at ``creep_speed`` (m; less near the goal).
    """

    #: Curvature offsets (1/m) tried, nearest first, when the pure-pursuit arc is blocked.
    OFFSETS = (0.0, 0.4, -0.4, 0.8, -0.8, 1.3, -1.3, 2.0, -2.0, 3.0, -3.0)

    def __init__(
        self,
        config: ControlConfig,
        *,
        rotate_threshold: float = 1.0,
        curvature_speed: float = 0.2,
        horizon: float = 1.2,
        min_free: float = 0.45,
        creep_free: float = 0.2,
    ) -> None:
        self.config = config
        self.rotate_threshold = rotate_threshold
        self.curvature_speed = curvature_speed
        self.horizon = horizon
        self.min_free = min_free
        self.creep_free = creep_free

        #: whether the last command was a creep (see :meth:`command`)
        self.creeping = False
        #: whether the robot was in a narrow spot at the last command: creeping, or a lidar
        #: hit closer than the footprint plus ``safety_margin``
        self.narrow = False

    def reset(self) -> None:
        """Forget the last command's mode."""
        self.creeping = self.narrow = False

    def command(self, obs: LocalObservation) -> tuple[float, float]:
        cfg = self.config
        r = np.asarray(obs.ranges, dtype=np.float64)
        hits = r[np.isfinite(r) & (r < obs.range_max)]
        self.narrow = bool(hits.size) and float(hits.min()) < cfg.robot_radius + cfg.safety_margin
        self.creeping = False
        v, w = self._command(obs)
        self.narrow |= self.creeping
        return v, w

    def _command(self, obs: LocalObservation) -> tuple[float, float]:
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
        if abs(alpha) > self.rotate_threshold:
            return 0.0, float(np.clip(2.5 * alpha, -cfg.w_max, cfg.w_max))
        kappa = 2.0 * math.sin(alpha) / ld
        pts = scan_points(obs.ranges, obs.angles, obs.range_max)
        # near the goal an arc only has to reach the goal tolerance
        need = min(self.min_free, max(d_goal - cfg.goal_tolerance, 0.0) + 0.03)
        chosen, widest = self._free_arc(pts, kappa, cfg.robot_radius + cfg.safety_margin, need)
        if chosen is None:
            # no forward arc is free at the safety margin: creep along one that is free at the
            # creep margin (the governor lets creep speed through there)
            chosen, widest = self._free_arc(pts, kappa, cfg.robot_radius + cfg.creep_margin,
                                            min(need, self.creep_free))
            if chosen is not None:
                k, free = chosen
                v = min(cfg.creep_speed, math.sqrt(cfg.a_brake * max(free - 0.02, 0.0)))
                self.creeping = v > 0.0
                return float(v), float(v * k)
            # nor at the creep margin: turn in place towards the most open arc (always allowed)
            side = math.copysign(1.0, widest if abs(widest) > 1e-6 else alpha)
            return 0.0, side * 0.6 * cfg.w_max
        k, free = chosen
        v = cfg.v_max / (1.0 + self.curvature_speed * abs(k))
        # stop before the end of the free arc, and at the goal, at half the braking deceleration
        v = min(v, math.sqrt(2.0 * 0.5 * cfg.a_brake * max(free - 0.05, 0.0)) + 0.05)
        v = min(v, math.sqrt(2.0 * 0.5 * cfg.a_brake * max(obs.remaining, 0.0)) + 0.05)
        w = v * k
        if abs(w) > cfg.w_max:
            v *= cfg.w_max / abs(w)
            w = math.copysign(cfg.w_max, w)
        return float(v), float(w)

    def _free_arc(self, pts: np.ndarray, kappa: float, clearance: float,
                  need: float) -> tuple[tuple[float, float] | None, float]:
        """The arc of curvature nearest ``kappa`` (among :data:`OFFSETS`) with at least
        ``need`` metres free at ``clearance``, as ``(curvature, free length)`` or None, and the
        curvature of the most open arc."""
        widest = (-1.0, kappa)
        for dk in self.OFFSETS:
            k = kappa + dk
            free = arc_free_distance(pts, 1.0, k, clearance, self.horizon, step=0.03)
            if free >= need:
                return (k, free), k
            widest = max(widest, (free, k))
        return None, widest[1]


#: Local controllers by :attr:`ControlConfig.controller` name.
CONTROLLER_REGISTRY: dict[str, Callable[[ControlConfig], LocalController]] = {
    "classical": PurePursuit,
}


def make_controller(config: ControlConfig) -> LocalController:
    """The local controller named by ``config.controller``."""
    if config.controller == "learned" and "learned" not in CONTROLLER_REGISTRY:
        from embodied_collab.control import learned  # noqa: F401  (registers itself)
    return CONTROLLER_REGISTRY[config.controller](config)
