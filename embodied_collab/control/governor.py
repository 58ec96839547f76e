"""The safety governor: the one path from any controller to the robot's velocity command.

The governor owns the command sink (the ``/cmd_vel`` publisher, or the simulator's
``set_cmd_vel``); controllers only *propose* commands. Every :meth:`SafetyGovernor.tick` it
sends one command to the sink, after:

1. refusing non-finite inputs (a NaN/inf proposal, scan or odometry stops the robot until a
   valid one arrives),
2. a watchdog (no proposal within ``cmd_timeout_s`` or no scan/odometry within
   ``sensor_timeout_s`` stops the robot),
3. velocity limits, then acceleration limits relative to the last command sent,
4. obstacle rules from the latest scan: no motion towards a hit inside ``stop_radius`` (within
   ``stop_cone_deg`` of the direction of travel), and a speed cap so the robot can always brake
   at ``a_brake`` before the predicted arc comes within ``safety_margin`` of a hit. Turning in
   place is always allowed (the footprint is a disc), so the robot can turn or back away.
   Where these rules would hold the robot below ``creep_speed``, the same rules with
   ``creep_margin`` and :attr:`ControlConfig.creep_stop_radius` (braking from creep speed takes
   millimetres) may still let it move at up to ``creep_speed`` (reason ``creep``): a passage
   the footprint fits with less than ``safety_margin`` on each side is driven through slowly.

Safety rules act after the comfort limits, so a sudden obstacle may brake harder than
``a_brake``. Stops are immediate (zero command): the base's own dynamics do the rest.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from embodied_collab.control.config_control import ControlConfig

logger = logging.getLogger(__name__)

#: Reasons a command differs from the proposal (``GovernorOutput.reasons``).
REASONS = (
    "no_command", "stale_command", "invalid_command", "no_scan", "stale_scan", "invalid_scan",
    "no_odom", "stale_odom", "invalid_odom", "velocity_limit", "accel_limit",
    "obstacle_front", "obstacle_rear", "braking_cap", "creep", "stopped",
)


@dataclass(frozen=True)
class GovernorOutput:
    """The command the governor sent.

    Attributes:
        v: forward speed (m/s).
        w: turn rate (rad/s).
        reasons: why it differs from the proposal (empty when passed through unchanged).
    """

    v: float
    w: float
    reasons: tuple[str, ...] = ()

    @property
    def halted(self) -> bool:
        """True if the governor forced a full stop (watchdog, invalid input or stop())."""
        return any(r.startswith(("no_", "stale_", "invalid_")) or r == "stopped"
                   for r in self.reasons)


def _finite(*values: float) -> bool:
    return all(isinstance(x, (int, float)) and math.isfinite(x) for x in values)


class SafetyGovernor:
    """Filters proposed velocity commands and is the only caller of the command sink.

    Args:
        config: limits, radii and timeouts.
        sink: called with ``(v, w)`` once per :meth:`tick`; nothing else in the control package
            holds it.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        config: ControlConfig,
        sink: Callable[[float, float], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cfg = config
        self.__sink = sink
        self._clock = clock
        self._proposal: tuple[float, float] | None = None
        self._proposal_t = -math.inf
        self._proposal_ok = True
        self._points = np.zeros((0, 2))
        self._scan_t = -math.inf
        self._scan_ok = True
        self._odom_t = -math.inf
        self._odom_ok = True
        self._last = (0.0, 0.0)
        self._last_t: float | None = None
        self._stopped = False

    # ------------------------------------------------------------------ inputs
    @property
    def config(self) -> ControlConfig:
        return self._cfg

    def reconfigure(self, config: ControlConfig) -> None:
        """Use new limits from the next tick on."""
        self._cfg = config

    def propose(self, v: float, w: float, stamp: float | None = None) -> bool:
        """A controller's command. Returns False (and stops the robot) if it is not finite."""
        t = self._clock() if stamp is None else stamp
        self._proposal_t = t
        if not _finite(v, w):
            logger.warning("governor refused non-finite command v=%r w=%r", v, w)
            self._proposal_ok = False
            self._proposal = None
            return False
        self._proposal_ok = True
        self._proposal = (float(v), float(w))
        return True

    def observe_scan(
        self,
        ranges: np.ndarray,
        angles: np.ndarray,
        *,
        range_max: float = math.inf,
        stamp: float | None = None,
    ) -> bool:
        """A lidar scan in the robot frame (ranges in metres at the given bearings).

        Hits at or beyond ``range_max`` are "no return". Returns False (and stops the robot) if
        any range or angle is NaN/inf or negative, or the arrays do not match.
        """
        t = self._clock() if stamp is None else stamp
        r = np.asarray(ranges, dtype=np.float64).ravel()
        a = np.asarray(angles, dtype=np.float64).ravel()
        if r.shape != a.shape or not np.isfinite(r).all() or not np.isfinite(a).all() or (
            r < 0
        ).any():
            logger.warning("governor refused an invalid scan (%d ranges, %d angles)", r.size,
                           a.size)
            self._scan_ok = False
            self._scan_t = t
            return False
        keep = r < range_max
        r, a = r[keep], a[keep]
        self._points = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
        self._scan_ok = True
        self._scan_t = t
        return True

    def observe_odom(self, v: float, w: float, stamp: float | None = None) -> bool:
        """Measured base velocity (only its freshness and validity are used)."""
        t = self._clock() if stamp is None else stamp
        self._odom_t = t
        self._odom_ok = _finite(v, w)
        if not self._odom_ok:
            logger.warning("governor refused non-finite odometry v=%r w=%r", v, w)
        return self._odom_ok

    def stop(self) -> GovernorOutput:
        """Latch a stop (until :meth:`resume`) and send zero now."""
        self._stopped = True
        return self.tick()

    def resume(self) -> None:
        """Release a latched :meth:`stop`."""
        self._stopped = False

    # -------------------------------------------------------------------- tick
    def tick(self, now: float | None = None) -> GovernorOutput:
        """Compute the command from the latest inputs and send it to the sink."""
        now = self._clock() if now is None else now
        cfg = self._cfg
        dt = cfg.period if self._last_t is None else min(max(now - self._last_t, 0.0),
                                                          2 * cfg.period)
        self._last_t = now
        halt = self._halt_reasons(now)
        if halt:
            out = GovernorOutput(0.0, 0.0, tuple(halt))
        else:
            out = self._filter(self._proposal, dt)  # type: ignore[arg-type]
        self._last = (out.v, out.w)
        self.__sink(out.v, out.w)
        return out

    def _halt_reasons(self, now: float) -> list[str]:
        cfg = self._cfg
        reasons = []
        if self._stopped:
            reasons.append("stopped")
        for name, ok, t, timeout in (
            ("command", self._proposal_ok, self._proposal_t, cfg.cmd_timeout_s),
            ("scan", self._scan_ok, self._scan_t, cfg.sensor_timeout_s),
            ("odom", self._odom_ok, self._odom_t, cfg.sensor_timeout_s),
        ):
            if t == -math.inf:
                reasons.append(f"no_{name}")
            elif not ok:
                reasons.append(f"invalid_{name}")
            elif now - t > timeout:
                reasons.append(f"stale_{name}")
        return reasons

    def _filter(self, proposal: tuple[float, float], dt: float) -> GovernorOutput:
        cfg = self._cfg
        reasons: list[str] = []
        v0, w0 = proposal
        v = min(max(v0, -cfg.v_reverse_max), cfg.v_max)
        w = min(max(w0, -cfg.w_max), cfg.w_max)
        if (v, w) != (v0, w0):
            reasons.append("velocity_limit")
        lv, lw = self._last
        # accelerate at a_max, brake (towards zero) at a_brake
        if abs(v) > abs(lv) or v * lv < 0:
            dv_max = cfg.a_max * dt if v * lv >= 0 else cfg.a_brake * dt
        else:
            dv_max = cfg.a_brake * dt
        va = min(max(v, lv - dv_max), lv + dv_max)
        wa = min(max(w, lw - cfg.alpha_max * dt), lw + cfg.alpha_max * dt)
        if (va, wa) != (v, w):
            reasons.append("accel_limit")
        v, w = va, wa
        v, w, why = self._obstacle_rules(v, w, dt)
        reasons.extend(why)
        return GovernorOutput(v, w, tuple(reasons))

    # --------------------------------------------------------------- obstacles
    def _obstacle_rules(self, v: float, w: float, dt: float) -> tuple[float, float, list[str]]:
        cfg = self._cfg
        if v == 0.0 or self._points.shape[0] == 0:
            return v, w, []
        clearance = cfg.robot_radius + cfg.safety_margin
        speed, why = self._allowed_speed(v, w, dt, cfg.stop_radius, clearance)
        slow = min(abs(v), cfg.creep_speed)
        if speed < slow:
            # creep: at creep speed the braking distance is millimetres, so only the footprint
            # plus creep_margin (and a stop radius to match) has to stay clear
            creep, creep_why = self._allowed_speed(math.copysign(slow, v), w, dt,
                                                   cfg.creep_stop_radius,
                                                   cfg.robot_radius + cfg.creep_margin)
            if creep > speed:
                speed, why = creep, creep_why + ["creep"]
        if speed < abs(v):
            return math.copysign(speed, v), w, why
        return v, w, []

    def _allowed_speed(self, v: float, w: float, dt: float, stop_radius: float,
                       clearance: float) -> tuple[float, list[str]]:
        """Largest speed <= |v| the obstacle rules allow at this stop radius and clearance."""
        cfg = self._cfg
        pts = self._points
        d = np.hypot(pts[:, 0], pts[:, 1])
        bearing = np.arctan2(pts[:, 1], pts[:, 0])
        if v < 0:
            bearing = np.abs(np.abs(bearing) - math.pi)
        half = math.radians(cfg.stop_cone_deg) / 2
        if np.any((d < stop_radius) & (np.abs(bearing) < half)):
            return 0.0, ["obstacle_front" if v > 0 else "obstacle_rear"]
        # speed cap: brake at a_brake before the arc comes within the clearance
        speed = abs(v)
        for _ in range(6):
            free = self.free_distance(math.copysign(1.0, v), w / speed, clearance)
            cap = math.sqrt(2 * cfg.a_brake * max(free - speed * dt, 0.0))
            if speed <= cap + 1e-9:
                break
            speed = cap
            if speed < 1e-3:
                speed = 0.0
                break
        return speed, (["braking_cap"] if speed < abs(v) else [])

    def free_distance(self, direction: float, curvature: float,
                      clearance: float | None = None) -> float:
        """Arc length the footprint can travel along a constant-curvature arc before coming
        within ``clearance`` (default: ``robot_radius + safety_margin``) of the latest scan's
        hits (capped at the planning horizon).

        Args:
            direction: +1 forward, -1 backward.
            curvature: turn rate over speed (1/m), positive to the left.
            clearance: distance kept between the robot's centre and hits (m).
        """
        cfg = self._cfg
        if clearance is None:
            clearance = cfg.robot_radius + cfg.safety_margin
        horizon = cfg.v_max ** 2 / (2 * cfg.a_brake) + 2 * cfg.v_max * cfg.period + 0.1
        return arc_free_distance(self._points, direction, curvature, clearance, horizon)


def scan_points(ranges: np.ndarray, angles: np.ndarray, range_max: float) -> np.ndarray:
    """Lidar hits (ranges below ``range_max``) as robot-frame points, shape (N, 2)."""
    r = np.asarray(ranges, dtype=np.float64).ravel()
    a = np.asarray(angles, dtype=np.float64).ravel()
    keep = np.isfinite(r) & (r < range_max)
    r, a = r[keep], a[keep]
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def arc_free_distance(points: np.ndarray, direction: float, curvature: float, clearance: float,
                      horizon: float, step: float = 0.02) -> float:
    """Arc length a disc can travel along a constant-curvature arc from the origin (robot
    frame) before its centre comes within ``clearance`` of a point, capped at ``horizon``.

    Only approaching a point counts, so a robot already closer than ``clearance`` can still
    move away from it. Shared by the governor (its braking cap) and the controllers (so they
    propose arcs the governor lets through).

    Args:
        points: robot-frame hit points, shape (N, 2).
        direction: +1 forward, -1 backward.
        curvature: turn rate over speed (1/m), positive to the left.
        clearance: footprint radius plus the margin kept (m).
        horizon: longest arc checked (m).
        step: arc sampling step (m).
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if pts.shape[0] == 0:
        return horizon
    d0 = np.hypot(pts[:, 0], pts[:, 1])
    near = d0 < horizon + clearance
    p, d0 = pts[near], d0[near]
    if p.shape[0] == 0:
        return horizon
    s = np.arange(step, horizon + step, step)
    k = curvature
    if abs(k) < 1e-6:
        cx, cy = s, np.zeros_like(s)
    else:
        cx, cy = np.sin(k * s) / k, (1 - np.cos(k * s)) / k
    cx = cx * direction
    # a backward arc with positive turn rate swings to the right of the robot
    cy = cy * (1.0 if direction > 0 else -1.0)
    dist = np.hypot(cx[:, None] - p[None, :, 0], cy[:, None] - p[None, :, 1])
    bad = (dist < clearance) & (dist < d0[None, :] - 1e-9)
    hit = np.nonzero(bad.any(axis=1))[0]
    if hit.size == 0:
        return horizon
    return float(max(s[hit[0]] - step, 0.0))
