"""The shared arc check, pure pursuit swerving to a free arc, and the loop's stuck recovery
(back off, forget, replan) on the real simulator."""

import math

import numpy as np
import pytest

from embodied_collab.control.classical import LocalObservation, PurePursuit
from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.episodes import make_episode, make_sim
from embodied_collab.control.governor import SafetyGovernor, arc_free_distance, scan_points
from embodied_collab.control.loop import (
    RECOVERY_AFTER,
    RECOVERY_BACKOFF_S,
    ControlLoop,
    GoalStatus,
)

ANGLES = np.linspace(-math.pi, math.pi, 64, endpoint=False)


def disc_scan(cx: float, cy: float, r: float, range_max: float = 6.0) -> np.ndarray:
    """Exact ranges of the 64 beams to a disc at (cx, cy) in the robot frame."""
    dx, dy = np.cos(ANGLES), np.sin(ANGLES)
    b = cx * dx + cy * dy
    disc = b * b - (cx * cx + cy * cy - r * r)
    t = b - np.sqrt(np.maximum(disc, 0.0))
    return np.where((disc >= 0) & (t > 0), t, range_max)


def test_arc_free_distance_straight_curved_and_moving_away():
    pts = np.array([[1.0, 0.0]])
    # straight ahead: the centre stops clearance short of the hit
    assert arc_free_distance(pts, 1.0, 0.0, 0.25, 2.0) == pytest.approx(0.75, abs=0.021)
    # backwards and a sharp left turn never approach it within the horizon
    assert arc_free_distance(pts, -1.0, 0.0, 0.25, 2.0) == pytest.approx(2.0)
    assert arc_free_distance(pts, 1.0, 3.0, 0.25, 0.5) == pytest.approx(0.5)
    # already inside the clearance: moving away is free, moving closer is not
    close = np.array([[0.2, 0.0]])
    assert arc_free_distance(close, 1.0, 0.0, 0.25, 1.0) == 0.0
    assert arc_free_distance(close, -1.0, 0.0, 0.25, 1.0) == pytest.approx(1.0)
    assert arc_free_distance(np.zeros((0, 2)), 1.0, 0.0, 0.25, 1.0) == 1.0
    # the governor uses the same test
    cfg = ControlConfig()
    gov = SafetyGovernor(cfg, lambda v, w: None, clock=lambda: 0.0)
    gov.observe_scan(disc_scan(0.8, 0.0, 0.1), ANGLES, range_max=6.0)
    pts = scan_points(disc_scan(0.8, 0.0, 0.1), ANGLES, 6.0)
    horizon = cfg.v_max ** 2 / (2 * cfg.a_brake) + 2 * cfg.v_max * cfg.period + 0.1
    assert gov.free_distance(1.0, 0.0) == arc_free_distance(
        pts, 1.0, 0.0, cfg.robot_radius + cfg.safety_margin, horizon)


def observation(ranges, waypoint=(1.0, 0.0)):
    return LocalObservation(pose=(0.0, 0.0, 0.0), velocity=(0.3, 0.0), waypoint=waypoint,
                            goal=(3.0, 0.0), goal_heading=None, remaining=3.0, ranges=ranges,
                            angles=ANGLES, range_max=6.0)


def test_pure_pursuit_swerves_around_a_blocked_arc_and_turns_when_boxed_in():
    cfg = ControlConfig()
    pp = PurePursuit(cfg)
    v, w = pp.command(observation(np.full(64, 6.0)))
    assert v == pytest.approx(cfg.v_max) and w == pytest.approx(0.0)
    # an object 0.7 m ahead on the straight arc: it takes a curved arc that is free
    ranges = disc_scan(0.7, 0.0, 0.1)
    straight = arc_free_distance(scan_points(ranges, ANGLES, 6.0), 1.0, 0.0,
                                 cfg.robot_radius + cfg.safety_margin, 1.2, 0.03)
    assert straight < pp.min_free
    v, w = pp.command(observation(ranges))
    assert v > 0 and abs(w) > 0.1
    clearance = cfg.robot_radius + cfg.safety_margin
    free = arc_free_distance(scan_points(ranges, ANGLES, 6.0), 1.0, w / v, clearance, 1.2, 0.03)
    assert free >= pp.min_free
    # hits all around in front: no forward arc is free, so it turns in place
    wall = np.where(np.abs(ANGLES) < 0.5 * math.pi, 0.3, 6.0)
    v, w = pp.command(observation(wall))
    assert v == 0.0 and abs(w) > 0


class FakeStandStill:
    """Fake local controller that never moves (pure-logic stand-in for a stuck controller)."""

    def reset(self) -> None:
        pass

    def command(self, obs):
        return 0.0, 0.0


@pytest.mark.parametrize("max_recoveries", [0, 1, 2])
def test_stuck_loop_backs_off_a_bounded_number_of_times_then_reports_blocked(max_recoveries):
    ep = make_episode(500_001)
    cfg = ControlConfig(controller="classical", max_recoveries=max_recoveries)
    sim = make_sim(ep)
    loop = ControlLoop(cfg, ep.map_world, sim.set_cmd_vel, controller=FakeStandStill(),
                       clock=lambda: sim.time)

    def sense():
        loop.on_odom(sim.pose, sim.velocity, stamp=sim.time)
        loop.on_scan(sim.scan(), sim.lidar.angles, sim.range_max, stamp=sim.time)

    sense()
    loop.set_goal(ep.goal)
    backing, status = [], GoalStatus.ACTIVE
    while sim.time < 4 * cfg.blocked_timeout_s and not status.terminal:
        res = loop.step(sim.time)
        status = res.status
        if res.command.v < 0:
            backing.append(sim.time)
        sim.step(cfg.period)
        sense()
    assert status is GoalStatus.BLOCKED
    assert loop.recoveries == max_recoveries
    # recovery k starts half the blocked timeout after the previous back-off ended
    t_half = RECOVERY_AFTER * cfg.blocked_timeout_s
    starts = [t_half + k * (t_half + RECOVERY_BACKOFF_S) for k in range(max_recoveries)]
    brake = cfg.v_reverse_max / cfg.a_brake + 0.05
    for t0 in starts:
        window = [t for t in backing if t0 - 0.1 <= t <= t0 + RECOVERY_BACKOFF_S + brake]
        assert window and window[0] <= t0 + 0.1, f"a back-off starts at {t0:.1f} s"
    # ... for the back-off time, then it brakes to a stop within the deceleration limit
    assert all(any(t0 - 0.1 <= t <= t0 + RECOVERY_BACKOFF_S + brake for t0 in starts)
               for t in backing)
    # blocked: the full timeout after the last back-off ended (or after the goal was set)
    last = starts[-1] + RECOVERY_BACKOFF_S if starts else 0.0
    assert sim.time == pytest.approx(last + cfg.blocked_timeout_s, abs=0.1)
