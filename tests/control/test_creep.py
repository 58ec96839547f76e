"""Creep mode: narrow passages the footprint fits with less than the safety margin on each side
are driven through slowly at the creep margin (pure pursuit, the learned controller's hand-over,
the planner's footprint level, and real episodes that were `blocked` without it)."""

import math

import numpy as np
import pytest

from embodied_collab.control.classical import LocalObservation, PurePursuit
from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.episodes import make_episode, run_episode
from embodied_collab.control.global_path import GlobalPlanner
from embodied_collab.control.governor import arc_free_distance, scan_points
from embodied_collab.control.learned import LearnedController
from embodied_collab.control.loop import ControlLoop
from embodied_collab.sim.generate import generate_world

ANGLES = np.linspace(-math.pi, math.pi, 64, endpoint=False)


def discs_scan(discs, range_max: float = 6.0) -> np.ndarray:
    """Exact ranges of the 64 beams to discs ``(cx, cy, r)`` in the robot frame."""
    dx, dy = np.cos(ANGLES), np.sin(ANGLES)
    out = np.full(ANGLES.shape, range_max)
    for cx, cy, r in discs:
        b = cx * dx + cy * dy
        disc = b * b - (cx * cx + cy * cy - r * r)
        t = b - np.sqrt(np.maximum(disc, 0.0))
        out = np.where((disc >= 0) & (t > 0), np.minimum(out, t), out)
    return out


def gap_observation(slack: float, cfg: ControlConfig) -> LocalObservation:
    """Two clutter discs 0.2 m ahead leaving a gap of the footprint + creep_margin + slack on
    each side of the straight line to the waypoint."""
    r = 0.05
    half = cfg.robot_radius + cfg.creep_margin + slack
    ranges = discs_scan([(0.2, half + r, r), (0.2, -half - r, r)])
    return LocalObservation(pose=(0.0, 0.0, 0.0), velocity=(0.0, 0.0), waypoint=(1.0, 0.0),
                            goal=(3.0, 0.0), goal_heading=None, remaining=3.0, ranges=ranges,
                            angles=ANGLES, range_max=6.0)


def test_pure_pursuit_creeps_through_a_gap_narrower_than_the_margin():
    cfg = ControlConfig()
    obs = gap_observation(0.01, cfg)
    pts = scan_points(obs.ranges, ANGLES, 6.0)
    nominal = cfg.robot_radius + cfg.safety_margin
    assert all(arc_free_distance(pts, 1.0, k, nominal, 1.2, 0.03) < 0.45
               for k in PurePursuit.OFFSETS), "no arc is free at the safety margin"
    pp = PurePursuit(cfg)
    v, w = pp.command(obs)
    assert v == pytest.approx(cfg.creep_speed) and abs(w) < 0.05
    assert pp.creeping and pp.narrow
    # the arc it takes is free at the creep margin
    assert arc_free_distance(pts, 1.0, w / v, cfg.robot_radius + cfg.creep_margin, 1.2,
                             0.03) >= pp.creep_free
    # without a reduced margin (creep_margin = safety_margin) it can only turn in place
    strict = PurePursuit(ControlConfig(creep_margin=cfg.safety_margin))
    v, w = strict.command(obs)
    assert v == 0.0 and w != 0.0 and not strict.creeping
    # a gap narrower than the footprint + creep margin is not crept into
    v, _ = pp.command(gap_observation(-0.01, cfg))
    assert v == 0.0 and not pp.creeping
    # open space: no creep, full speed
    v, _ = pp.command(LocalObservation(**{**obs.__dict__, "ranges": np.full(64, 6.0)}))
    assert v == pytest.approx(cfg.v_max) and not pp.creeping and not pp.narrow


def test_learned_controller_hands_narrow_spots_to_pure_pursuit():
    cfg = ControlConfig(controller="learned")
    ctrl = LearnedController(cfg)  # the packaged policy
    obs = gap_observation(0.01, cfg)
    assert ctrl.command(obs) == PurePursuit(cfg).command(obs)
    assert ctrl.base.creeping


def test_planner_falls_back_to_the_footprint_level_through_a_narrow_gap():
    world = generate_world(3)
    cfg = ControlConfig()
    gp = GlobalPlanner(world, cfg)
    start = world.robot.pose[:2]
    room = max(world.rooms, key=lambda r: math.dist(r.centre, start))
    goal = gp.resolve(room.id)[:2]
    path = gp.plan(start, goal)
    assert path and gp.level == "preferred"
    # a wall of lidar hits across the path's first segment, with one gap 0.4 m wide (the
    # footprint and 2 cm on each side): only the footprint level goes through
    a, b = np.array(path[0]), np.array(path[1])
    d = (b - a) / np.linalg.norm(b - a)
    n = np.array([-d[1], d[0]])
    mid = a + d * min(0.8, 0.5 * np.linalg.norm(b - a))
    half_gap = cfg.robot_radius + 0.02
    s = np.r_[np.arange(-6.0, -half_gap, 0.02), np.arange(half_gap, 6.0, 0.02)]
    gp.add_hits(mid + s[:, None] * n)
    path = gp.plan(start, goal)
    assert path, "the goal is still reachable through the gap"
    assert gp.level == "footprint"
    assert not gp.blocked(path)
    # the path crosses the wall of hits within the gap
    crossings = []
    for p, q in zip(path, path[1:], strict=False):
        p, q = np.array(p), np.array(q)
        sp, sq = np.dot(p - mid, d), np.dot(q - mid, d)
        if sp * sq <= 0 and sp != sq:
            crossings.append(np.dot(p + (q - p) * sp / (sp - sq) - mid, n))
    assert crossings and all(abs(c) < half_gap for c in crossings)
    with pytest.raises(ValueError, match="level must be one of"):
        gp.free_mask(level="loose")


@pytest.mark.parametrize("controller", ["classical", "learned"])
def test_episode_blocked_without_creep_succeeds_with_it_without_collisions(controller):
    """Seed 500102: clutter leaves ~3 cm on each side of the footprint; it was `blocked`."""
    ep = make_episode(500_102)
    res = run_episode(ep, ControlConfig(controller=controller))
    assert res.status == "succeeded" and res.collisions == 0
    assert res.reasons.get("creep", 0) > 0, "the governor let it creep"
    if controller == "classical":
        strict = ControlConfig(controller=controller, creep_margin=0.05)
        res = run_episode(make_episode(500_102), strict)
        assert res.status != "succeeded" and res.collisions == 0


class FakeDetourPlanner:
    """Fake stand-in wrapping the real planner: after ``detour_from`` plans, every plan gets a
    detour 1 m sideways (a longer way round, as a start cell moving in and out of an inflated
    zone can produce)."""

    def __init__(self, planner, detour_from: int) -> None:
        self._planner = planner
        self.calls = 0
        self.detour_from = detour_from

    def __getattr__(self, name):
        return getattr(self._planner, name)

    def plan(self, start, goal):
        self.calls += 1
        path = self._planner.plan(start, goal)
        if self.calls <= self.detour_from or len(path) < 2:
            return path
        (x0, y0), (x1, y1) = path[0], path[1]
        return [path[0], ((x0 + x1) / 2 + 1.0, (y0 + y1) / 2 + 1.0)] + path[1:]


def test_periodic_replan_keeps_a_clear_path_instead_of_a_longer_one():
    world = generate_world(3)
    cfg = ControlConfig()
    t = [0.0]
    loop = ControlLoop(cfg, world, lambda v, w: None, clock=lambda: t[0])
    fake = FakeDetourPlanner(loop.planner, detour_from=1)
    loop.planner = fake
    pose = (*world.robot.pose[:2], 0.0)
    room = max(world.rooms, key=lambda r: math.dist(r.centre, pose[:2]))
    loop.on_odom(pose, (0.0, 0.0), stamp=0.0)
    loop.on_scan(np.full(64, 6.0), ANGLES, 6.0, stamp=0.0)
    loop.set_goal(room.id)
    loop.step(0.0)
    first = list(loop.path)
    t[0] = cfg.replan_period_s + 0.1  # the periodic replan: a longer path, the current is clear
    loop.on_odom(pose, (0.0, 0.0), stamp=t[0])
    loop.on_scan(np.full(64, 6.0), ANGLES, 6.0, stamp=t[0])
    loop.step(t[0])
    assert fake.calls == 2 and loop.replans == 2
    assert loop.path == first
    # a replan that is not periodic (after a recovery) takes the new path
    loop._t_plan = -math.inf
    loop.step(t[0] + 0.02)
    assert fake.calls == 3 and loop.path != first and len(loop.path) == len(first) + 1
