"""Configuration of fast control: global path, local controller, safety governor, loop rate."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Local controllers selectable by :attr:`ControlConfig.controller`.
CONTROLLERS = ("learned", "classical")


def _in_range(name: str, value: object, lo: float, hi: float, *, lo_open: bool = True) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (lo < value if lo_open else lo <= value) and value <= hi
    if not ok:
        bracket = "(" if lo_open else "["
        raise ValueError(f"{name} must be a number in {bracket}{lo}, {hi}], got {value!r}")


@dataclass(kw_only=True)
class ControlConfig:
    """Parameters of the control loop (mirrored one-to-one as ROS parameters).

    Attributes:
        controller: local controller, ``"learned"`` (the trained policy) or ``"classical"``
            (pure pursuit); the other one is never run.
        policy_path: a policy checkpoint (``.npz``) to load instead of the packaged one
            ("" = the packaged ``embodied_collab/data/control/policy.npz``).
        rate_hz: control loop rate (Hz).
        v_max: forward speed limit (m/s).
        v_reverse_max: backward speed limit (m/s, a positive number).
        w_max: turn rate limit (rad/s).
        a_max: linear acceleration limit (m/s^2).
        a_brake: linear deceleration the governor plans stops with (m/s^2, >= ``a_max``).
        alpha_max: angular acceleration limit (rad/s^2).
        robot_radius: radius of the robot's footprint (m).
        stop_radius: the governor forbids driving towards any lidar hit closer than this to
            the robot's centre (m); turning in place and backing away stay allowed.
        stop_cone_deg: width of the cone around the direction of travel in which a hit inside
            ``stop_radius`` blocks motion (degrees).
        safety_margin: clearance kept between the footprint and lidar hits along the predicted
            arc; the governor caps speed so the robot can brake before losing it (m).
        creep_speed: at or below this forward/backward speed the governor keeps only
            ``creep_margin`` (and a stop radius of the footprint + ``creep_margin`` + the
            braking distance at this speed) instead of ``safety_margin`` / ``stop_radius``: the
            braking distance is then millimetres, so a narrow passage the footprint fits can be
            driven through slowly (m/s, <= ``v_max``).
        creep_margin: clearance kept between the footprint and lidar hits while creeping (m,
            <= ``safety_margin``; 0 means the bare footprint).
        cmd_timeout_s: stop when the controller sent no command for this long (s).
        sensor_timeout_s: stop when no scan or odometry arrived for this long (s).
        lookahead: distance along the global path of the waypoint the local controller
            steers to (m).
        goal_tolerance: the goal counts as reached within this distance (m).
        plan_clearance: clearance beyond the robot radius preferred by the global planner (m);
            it falls back to the map's minimum when no such path exists.
        grid_resolution: cell size of the planning grid (m).
        replan_period_s: replan the global path at least this often while driving (s).
        blocked_timeout_s: report ``blocked`` after making no progress for this long since the
            goal was set, progress was made or the last recovery ended (s).
        max_recoveries: stuck recoveries (back off, forget lidar obstacles, replan) per stall,
            each after half of ``blocked_timeout_s`` without progress and restarting that
            clock; ``blocked`` follows ``blocked_timeout_s`` without progress after the last
            one (progress gives the recoveries back).
        goal_timeout_s: report ``failed`` when the goal is not reached in this time (s).
    """

    controller: str = "learned"
    policy_path: str = ""
    rate_hz: float = 50.0
    v_max: float = 0.6
    v_reverse_max: float = 0.2
    w_max: float = 1.5
    a_max: float = 1.5
    a_brake: float = 1.5
    alpha_max: float = 4.0
    robot_radius: float = 0.18
    stop_radius: float = 0.27
    stop_cone_deg: float = 100.0
    safety_margin: float = 0.05
    creep_speed: float = 0.1
    creep_margin: float = 0.015
    cmd_timeout_s: float = 0.25
    sensor_timeout_s: float = 0.5
    lookahead: float = 0.6
    goal_tolerance: float = 0.15
    plan_clearance: float = 0.12
    grid_resolution: float = 0.1
    replan_period_s: float = 2.0
    blocked_timeout_s: float = 6.0
    max_recoveries: int = 2
    goal_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if self.controller not in CONTROLLERS:
            raise ValueError(f"controller must be one of {CONTROLLERS}, got {self.controller!r}")
        if not isinstance(self.policy_path, str):
            raise ValueError(f"policy_path must be a string, got {self.policy_path!r}")
        _in_range("rate_hz", self.rate_hz, 0.0, 1000.0)
        _in_range("v_max", self.v_max, 0.0, 5.0)
        _in_range("v_reverse_max", self.v_reverse_max, 0.0, 5.0, lo_open=False)
        _in_range("w_max", self.w_max, 0.0, 20.0)
        _in_range("a_max", self.a_max, 0.0, 50.0)
        _in_range("a_brake", self.a_brake, 0.0, 100.0)
        if self.a_brake < self.a_max:
            raise ValueError(f"a_brake must be >= a_max ({self.a_max}), got {self.a_brake!r}")
        _in_range("alpha_max", self.alpha_max, 0.0, 200.0)
        _in_range("robot_radius", self.robot_radius, 0.0, 2.0)
        _in_range("stop_radius", self.stop_radius, 0.0, 5.0)
        if self.stop_radius <= self.robot_radius:
            raise ValueError(
                f"stop_radius must be > robot_radius ({self.robot_radius}), "
                f"got {self.stop_radius!r}"
            )
        _in_range("stop_cone_deg", self.stop_cone_deg, 0.0, 360.0)
        _in_range("safety_margin", self.safety_margin, 0.0, 1.0, lo_open=False)
        _in_range("creep_speed", self.creep_speed, 0.0, self.v_max)
        _in_range("creep_margin", self.creep_margin, 0.0, self.safety_margin, lo_open=False)
        _in_range("cmd_timeout_s", self.cmd_timeout_s, 0.0, 10.0)
        _in_range("sensor_timeout_s", self.sensor_timeout_s, 0.0, 10.0)
        _in_range("lookahead", self.lookahead, 0.0, 5.0)
        _in_range("goal_tolerance", self.goal_tolerance, 0.0, 2.0)
        _in_range("plan_clearance", self.plan_clearance, 0.0, 1.0, lo_open=False)
        _in_range("grid_resolution", self.grid_resolution, 0.0, 1.0)
        _in_range("replan_period_s", self.replan_period_s, 0.0, 60.0)
        _in_range("blocked_timeout_s", self.blocked_timeout_s, 0.0, 600.0)
        if (not isinstance(self.max_recoveries, int) or isinstance(self.max_recoveries, bool)
                or not 0 <= self.max_recoveries <= 20):
            raise ValueError(
                f"max_recoveries must be an integer in [0, 20], got {self.max_recoveries!r}")
        _in_range("goal_timeout_s", self.goal_timeout_s, 0.0, 3600.0)

    @property
    def period(self) -> float:
        """Loop period (s)."""
        return 1.0 / self.rate_hz

    @property
    def creep_stop_radius(self) -> float:
        """Stop radius while creeping: footprint + ``creep_margin`` + the distance covered in
        one tick and while braking at ``a_brake`` from ``creep_speed`` (never above
        ``stop_radius``)."""
        brake = self.creep_speed ** 2 / (2 * self.a_brake) + self.creep_speed * self.period
        return min(self.stop_radius, self.robot_radius + self.creep_margin + brake)
