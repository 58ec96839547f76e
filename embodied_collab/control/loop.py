"""The control loop: global path -> local controller -> safety governor -> command.

:class:`ControlLoop` is plain Python: feed it scans and odometry (``on_scan``/``on_odom``), give
it a goal (``set_goal``) and call :meth:`ControlLoop.step` at a fixed rate; the governor sends
the command to the sink you gave. :class:`TimingStats` measures the loop's rate and period
jitter; :func:`run_fixed_rate` runs any step function at a fixed rate with absolute deadlines.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from embodied_collab.control.classical import LocalController, LocalObservation, make_controller
from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.global_path import GlobalPlanner, PathTracker, Pose
from embodied_collab.control.governor import GovernorOutput, SafetyGovernor
from embodied_collab.sim.world import World

logger = logging.getLogger(__name__)

#: New lidar obstacles are checked against the path at most this often (s): the check costs
#: far more than a tick, and the governor keeps the robot safe in between.
BLOCK_CHECK_PERIOD_S = 0.3
#: After this fraction of ``blocked_timeout_s`` without progress the loop recovers (at most
#: ``max_recoveries`` times per stall): it backs off for :data:`RECOVERY_BACKOFF_S` (the
#: governor still checks behind), forgets the lidar obstacles (what blocked it may have moved
#: or been misplaced), re-adds the latest scan and replans; the stall clock restarts when the
#: back-off ends.
RECOVERY_AFTER = 0.5
RECOVERY_BACKOFF_S = 0.8
#: A periodic replan keeps the current path while it is not blocked unless the new one is no
#: more than this (m) longer than what is left of it: no flip-flopping between two ways around
#: an obstacle as the robot's start cell moves in and out of inflated zones.
PATH_SWITCH_TOLERANCE = 0.25


class GoalStatus(str, enum.Enum):
    """State of the current navigation goal."""

    IDLE = "idle"
    ACTIVE = "active"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BLOCKED = "blocked"

    @property
    def terminal(self) -> bool:
        return self in (GoalStatus.SUCCEEDED, GoalStatus.FAILED, GoalStatus.BLOCKED)


class TimingStats:
    """Tick times of a fixed-rate loop: achieved rate and period jitter.

    Args:
        nominal_period: the intended period (s).
        capacity: ticks kept (a ring of the latest).
    """

    def __init__(self, nominal_period: float, capacity: int = 100_000) -> None:
        self.nominal_period = nominal_period
        self._t = np.zeros(capacity)
        self._n = 0
        self._busy: list[float] = []

    def record(self, t: float, busy: float | None = None) -> None:
        """Record a tick at time ``t`` (s), optionally with its compute time (s)."""
        self._t[self._n % self._t.size] = t
        self._n += 1
        if busy is not None and len(self._busy) < self._t.size:
            self._busy.append(busy)

    def periods(self) -> np.ndarray:
        n = min(self._n, self._t.size)
        if self._n <= self._t.size:
            t = self._t[:n]
        else:
            i = self._n % self._t.size
            t = np.concatenate([self._t[i:], self._t[:i]])
        return np.diff(t)

    def summary(self) -> dict[str, float]:
        """``loop_hz``, ``period_jitter_ms_p99`` (|period - nominal|), ``period_ms_p50``,
        ``compute_ms_p99`` and ``ticks``."""
        p = self.periods()
        if p.size == 0:
            return {"loop_hz": 0.0, "period_jitter_ms_p99": math.nan, "period_ms_p50": math.nan,
                    "compute_ms_p99": math.nan, "ticks": self._n}
        jitter = np.abs(p - self.nominal_period) * 1e3
        busy = np.asarray(self._busy) * 1e3
        return {
            "loop_hz": round(float(1.0 / p.mean()), 2),
            "period_jitter_ms_p99": round(float(np.percentile(jitter, 99)), 3),
            "period_ms_p50": round(float(np.median(p) * 1e3), 3),
            "compute_ms_p99": round(float(np.percentile(busy, 99)), 3) if busy.size else math.nan,
            "ticks": self._n,
        }


def run_fixed_rate(
    step: Callable[[float], bool],
    rate_hz: float,
    duration_s: float,
    *,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> TimingStats:
    """Call ``step(now)`` every ``1/rate_hz`` s (absolute deadlines, no drift) for at most
    ``duration_s`` or until it returns False; returns the timing stats."""
    period = 1.0 / rate_hz
    stats = TimingStats(period)
    start = clock()
    deadline = start
    while True:
        now = clock()
        if now - start >= duration_s:
            break
        stats.record(now)
        if step(now) is False:
            break
        stats._busy.append(clock() - now)
        deadline += period
        if deadline < clock() - period:  # far behind: skip missed ticks instead of bursting
            deadline = clock()
        wait = deadline - clock()
        if wait > 0:
            sleep(wait)
    return stats


@dataclass
class StepResult:
    """One loop tick: the goal status and the command the governor sent."""

    status: GoalStatus
    command: GovernorOutput


class ControlLoop:
    """Drives the robot to goals: plans, follows, governs.

    Args:
        config: the control configuration.
        world: the map (floor objects are left to the lidar).
        sink: called with ``(v, w)`` by the governor, once per step.
        controller: a local controller (default: the one ``config.controller`` names).
        clock: monotonic seconds for the governor's watchdog and status timers.
    """

    def __init__(
        self,
        config: ControlConfig,
        world: World,
        sink: Callable[[float, float], None],
        *,
        controller: LocalController | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.planner = GlobalPlanner(world, config)
        self.governor = SafetyGovernor(config, sink, clock)
        self.controller = controller if controller is not None else make_controller(config)
        self._clock = clock
        self.timing = TimingStats(config.period)
        self.status = GoalStatus.IDLE
        self.goal: Pose | None = None
        self.path: list[tuple[float, float]] = []
        self._tracker: PathTracker | None = None
        self._pose: tuple[float, float, float] | None = None
        self._vel = (0.0, 0.0)
        self._scan: tuple[np.ndarray, np.ndarray, float] | None = None
        self._new_hits = False
        self._t_plan = -math.inf
        self._t_check = -math.inf
        self._t_goal = 0.0
        self._best_remaining = math.inf
        self._t_progress = 0.0
        self._t_stall = 0.0
        self._stall_recoveries = 0
        self._recover_until = -math.inf
        self.replans = 0
        self.recoveries = 0

    # ------------------------------------------------------------------ inputs
    def on_odom(self, pose: tuple[float, float, float], velocity: tuple[float, float],
                stamp: float | None = None) -> None:
        """Latest pose (map frame) and measured velocity."""
        if self.governor.observe_odom(velocity[0], velocity[1], stamp) and all(
            math.isfinite(v) for v in pose
        ):
            self._pose = (float(pose[0]), float(pose[1]), float(pose[2]))
            self._vel = (float(velocity[0]), float(velocity[1]))

    def on_scan(self, ranges: np.ndarray, angles: np.ndarray, range_max: float,
                stamp: float | None = None) -> None:
        """Latest lidar scan (robot-frame bearings)."""
        ranges = np.asarray(ranges, dtype=np.float64)
        angles = np.asarray(angles, dtype=np.float64)
        if not self.governor.observe_scan(ranges, angles, range_max=range_max, stamp=stamp):
            return
        self._scan = (ranges, angles, float(range_max))
        if self._pose is not None and self.status is GoalStatus.ACTIVE:
            self._new_hits |= self.planner.add_scan(self._pose, ranges, angles, range_max) > 0

    # ------------------------------------------------------------------- goals
    def set_goal(self, target: str | tuple[float, ...]) -> Pose:
        """Start driving to ``target`` (a pose or a room/furniture/object id).

        Raises:
            InvalidActionError: if the target is unknown.
        """
        self.goal = self.planner.resolve(target)
        self.planner.clear_observations()
        self.controller.reset()
        self.governor.resume()
        self.path, self._tracker = [], None
        now = self._clock()
        self._t_goal = self._t_progress = self._t_stall = now
        self._t_plan = -math.inf
        self._best_remaining = math.inf
        self._stall_recoveries = 0
        self._recover_until = -math.inf
        self.status = GoalStatus.ACTIVE
        logger.info("new goal %s -> %s", target, self.goal)
        return self.goal

    def cancel(self) -> None:
        """Drop the goal and stop."""
        self.status = GoalStatus.IDLE
        self.goal = None

    # -------------------------------------------------------------------- step
    def _replan(self, now: float, periodic: bool = False) -> None:
        assert self._pose is not None and self.goal is not None
        current = None
        if periodic and self._tracker is not None and not self.planner.blocked(
                self.path, self._tracker.segment):
            current = (self._tracker.remaining(self._pose[:2]), self.planner.level)
        path = self.planner.plan(self._pose[:2], self.goal[:2])
        if path and current is not None:
            length = sum(math.dist(a, b) for a, b in zip(path, path[1:], strict=False))
            if length > current[0] + PATH_SWITCH_TOLERANCE:
                self.planner.level = current[1]  # keep the current path
                self._t_plan = now
                self._new_hits = False
                self.replans += 1
                return
        if not path and self.planner.observed.any():
            self.planner.clear_observations()  # what blocked it may have moved
            path = self.planner.plan(self._pose[:2], self.goal[:2])
        self._t_plan = now
        self._new_hits = False
        self.replans += 1
        if path:
            self.path, self._tracker = path, PathTracker(path)
            # progress is measured on the newest path when it is a detour (a stall is still
            # timed from the last real progress)
            remaining = self._tracker.remaining(self._pose[:2])
            if remaining > self._best_remaining:
                self._best_remaining = remaining
        else:
            self.path, self._tracker = [], None

    def _start_recovery(self, now: float) -> None:
        """Back off, forget lidar obstacles and replan once the back-off ends."""
        self._stall_recoveries += 1
        self._recover_until = now + RECOVERY_BACKOFF_S
        self._t_stall = self._recover_until
        self.recoveries += 1
        self.planner.clear_observations()
        if self._scan is not None and self._pose is not None:
            self.planner.add_scan(self._pose, *self._scan)
        self._t_plan = -math.inf  # replan when the back-off ends
        self.controller.reset()
        logger.info("goal %s: no progress for %.1f s, recovering", self.goal,
                    now - self._t_progress)

    def observation(self) -> LocalObservation | None:
        """What the local controller sees now (None before pose, scan and path exist)."""
        if self._pose is None or self._scan is None or self._tracker is None:
            return None
        assert self.goal is not None
        p = self._pose[:2]
        self._tracker.update(p)
        ranges, angles, range_max = self._scan
        return LocalObservation(
            pose=self._pose, velocity=self._vel,
            waypoint=self._tracker.lookahead(p, self.config.lookahead),
            goal=(self.goal[0], self.goal[1]), goal_heading=self.goal[2],
            remaining=self._tracker.remaining(p), ranges=ranges, angles=angles,
            range_max=range_max)

    def _update_status(self, now: float) -> None:
        cfg = self.config
        assert self._pose is not None and self.goal is not None
        d = math.hypot(self.goal[0] - self._pose[0], self.goal[1] - self._pose[1])
        heading_ok = self.goal[2] is None or abs(
            (self.goal[2] - self._pose[2] + math.pi) % (2 * math.pi) - math.pi) < 0.2
        if d < cfg.goal_tolerance and heading_ok:
            self.status = GoalStatus.SUCCEEDED
        elif now - self._t_goal > cfg.goal_timeout_s:
            self.status = GoalStatus.FAILED
        elif self._tracker is not None:
            remaining = self._tracker.remaining(self._pose[:2])
            if remaining < self._best_remaining - 0.1:
                self._best_remaining, self._t_progress = remaining, now
                self._t_stall = max(self._t_stall, now)
                self._stall_recoveries = 0
            elif now - self._t_stall > cfg.blocked_timeout_s:
                self.status = GoalStatus.BLOCKED
        if self.status.terminal:
            logger.info("goal %s: %s", self.goal, self.status.value)

    def step(self, now: float | None = None) -> StepResult:
        """One tick: replan if needed, ask the local controller, send through the governor."""
        t0 = time.perf_counter()
        now = self._clock() if now is None else now
        if self.status is GoalStatus.ACTIVE and self._pose is not None:
            self._update_status(now)
        proposal = (0.0, 0.0)
        if self.status is GoalStatus.ACTIVE and self._pose is not None:
            if (self._stall_recoveries < self.config.max_recoveries and now >= self._recover_until
                    and now - self._t_stall > RECOVERY_AFTER * self.config.blocked_timeout_s):
                self._start_recovery(now)
            if now < self._recover_until:
                self.governor.propose(-self.config.v_reverse_max, 0.0, stamp=now)
                out = self.governor.tick(now)
                self.timing.record(now, time.perf_counter() - t0)
                return StepResult(self.status, out)
            blocked = False
            if (self._new_hits and self._tracker is not None
                    and now - self._t_check >= BLOCK_CHECK_PERIOD_S):
                self._t_check = now
                self._new_hits = False
                blocked = self.planner.blocked(self.path, self._tracker.segment)
            if (self._tracker is None or blocked
                    or now - self._t_plan > self.config.replan_period_s):
                self._replan(now, periodic=self._tracker is not None and not blocked
                             and self._t_plan > -math.inf)
                if not self.path:  # unreachable even on the map alone
                    self.status = GoalStatus.FAILED
                    logger.info("goal %s: unreachable", self.goal)
            obs = self.observation() if self.status is GoalStatus.ACTIVE else None
            if obs is not None:
                proposal = self.controller.command(obs)
        self.governor.propose(*proposal, stamp=now)
        out = self.governor.tick(now)
        self.timing.record(now, time.perf_counter() - t0)
        return StepResult(self.status, out)
