"""Global paths on the map's grid: around obstacles, named places, replanning when blocked."""

import math

import numpy as np
import pytest

from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.global_path import GlobalPlanner, PathTracker
from embodied_collab.errors import InvalidActionError
from embodied_collab.sim.generate import generate_world


@pytest.fixture(scope="module")
def world():
    return generate_world(3)


def path_length(path):
    return sum(math.dist(a, b) for a, b in zip(path, path[1:], strict=False))


def far_room(world):
    start = world.robot.pose[:2]
    return max(world.rooms, key=lambda r: math.dist(r.centre, start))


def test_path_avoids_map_obstacles(world):
    gp = GlobalPlanner(world, ControlConfig())
    start = world.robot.pose[:2]
    goal = gp.resolve(far_room(world).id)
    path = gp.plan(start, goal[:2])
    assert path[0] == pytest.approx(start) and path[-1] == pytest.approx(goal[:2])
    # every segment stays in free space of the map (checked densely)
    free = gp.free_mask(tight=True)
    for a, b in zip(path, path[1:], strict=False):
        for t in np.linspace(0, 1, 50):
            x, y = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
            c, r = gp.grid.to_cell(x, y)
            assert free[r, c], f"path crosses an obstacle at ({x:.2f}, {y:.2f})"
    # shortened, but never shorter than the straight line nor much longer than the geodesic
    assert math.dist(start, goal[:2]) - 1e-6 <= path_length(path)
    assert path_length(path) <= gp.geodesic(start, goal[:2]) + 0.3


def test_named_places_resolve(world):
    gp = GlobalPlanner(world, ControlConfig())
    f = world.furniture[0]
    pose = gp.resolve(f.id)
    assert world.within_reach(f.id, pose)
    assert gp.resolve((1.0, 2.0)) == (1.0, 2.0, None)
    obj = world.objects[0]
    assert gp.resolve(obj.id)[:2] is not None
    with pytest.raises(InvalidActionError, match="no place 'moon'"):
        gp.resolve("moon")
    with pytest.raises(InvalidActionError, match="finite"):
        gp.resolve((math.nan, 0.0))


def test_replans_around_an_obstacle_seen_by_the_lidar(world):
    gp = GlobalPlanner(world, ControlConfig())
    start = world.robot.pose[:2]
    goal = gp.resolve(far_room(world).id)[:2]
    path = gp.plan(start, goal)
    assert not gp.blocked(path)
    # a floor object (disc of hits, 0.12 m radius) in the middle of the longest segment
    a, b = max(zip(path, path[1:], strict=False), key=lambda ab: math.dist(*ab))
    c = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    hits = np.array([(c[0] + 0.12 * math.cos(t), c[1] + 0.12 * math.sin(t))
                     for t in np.linspace(0, 2 * math.pi, 16)])
    assert gp.add_hits(hits) > 0
    assert gp.blocked(path)
    new = gp.plan(start, goal)
    assert new and not gp.blocked(new)
    # the new path keeps the robot's footprint off every hit
    for a, b in zip(new, new[1:], strict=False):
        for t in np.linspace(0, 1, 50):
            x, y = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
            assert np.hypot(hits[:, 0] - x, hits[:, 1] - y).min() > 0.18
    gp.clear_observations()
    assert not gp.blocked(path)


def test_unreachable_goal_gives_empty_path(world):
    gp = GlobalPlanner(world, ControlConfig())
    start = world.robot.pose[:2]
    goal = gp.resolve(far_room(world).id)[:2]
    # surround the goal with hits: no way in at planning clearance nor tight
    ring = [(goal[0] + 0.6 * math.cos(a), goal[1] + 0.6 * math.sin(a))
            for a in np.linspace(0, 2 * math.pi, 200)]
    gp.add_hits(np.array(ring))
    assert gp.plan(start, goal) == []


def test_path_tracker_progress_and_lookahead():
    tr = PathTracker([(0.0, 0.0), (2.0, 0.0), (2.0, 2.0)])
    assert tr.remaining((0.0, 0.0)) == pytest.approx(4.0)
    assert tr.lookahead((0.5, 0.1), 1.0) == pytest.approx((1.5, 0.0))
    tr.update((2.0, 0.5))
    assert tr.segment == 1
    assert tr.remaining((2.0, 0.5)) == pytest.approx(1.5)
    assert tr.lookahead((2.0, 0.5), 5.0) == (2.0, 2.0)
    with pytest.raises(ValueError, match="empty path"):
        PathTracker([])
