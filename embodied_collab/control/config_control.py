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
        cmd_timeout_s: stop when the controller sent no command for this long (s).
        sensor_timeout_s: stop when no scan or odometry arrived for this long (s).
        lookahead: distance along the global path of the waypoint the local controller
            steers to (m).
        goal_tolerance: the goal counts as reached within this distance (m).
        plan_clearance: clearance beyond the robot radius preferred by the global planner (m);
            it falls back to the map's minimum when no such path exists.
        grid_resolution: cell size of the planning grid (m).
        replan_period_s: replan the global path at least this often while driving (s).
        blocked_timeout_s: report ``blocked`` after making no progress for this long (s).
        goal_timeout_s: report ``failed`` when the goal is not reached in this time (s).
    """

    controller: str = "classical"
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
    cmd_timeout_s: float = 0.25
    sensor_timeout_s: float = 0.5
    lookahead: float = 0.6
    goal_tolerance: float = 0.15
    plan_clearance: float = 0.12
    grid_resolution: float = 0.1
    replan_period_s: float = 2.0
    blocked_timeout_s: float = 6.0
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
        _in_range("cmd_timeout_s", self.cmd_timeout_s, 0.0, 10.0)
        _in_range("sensor_timeout_s", self.sensor_timeout_s, 0.0, 10.0)
        _in_range("lookahead", self.lookahead, 0.0, 5.0)
        _in_range("goal_tolerance", self.goal_tolerance, 0.0, 2.0)
        _in_range("plan_clearance", self.plan_clearance, 0.0, 1.0, lo_open=False)
        _in_range("grid_resolution", self.grid_resolution, 0.0, 1.0)
        _in_range("replan_period_s", self.replan_period_s, 0.0, 60.0)
        _in_range("blocked_timeout_s", self.blocked_timeout_s, 0.0, 600.0)
        _in_range("goal_timeout_s", self.goal_timeout_s, 0.0, 3600.0)

    @property
    def period(self) -> float:
        """Loop period (s)."""
        return 1.0 / self.rate_hz
