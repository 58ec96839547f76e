"""Navigation episodes in the continuous world, shared by training and the benchmark.

An episode is a generated household (:func:`embodied_collab.sim.generate.generate_world`), a
start and a goal at least ``min_distance`` apart along the free space, clutter (floor objects
the map does not show, some of them on the way) and sometimes a piece of furniture missing from
the map the robot plans on. :func:`run_episode` drives it with a :class:`ControlLoop` on the
simulator in simulated time.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from embodied_collab.control.classical import LocalController
from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.global_path import TIGHT_CLEARANCE
from embodied_collab.control.loop import ControlLoop, GoalStatus
from embodied_collab.sim import catalog
from embodied_collab.sim.config_sim import SimConfig
from embodied_collab.sim.generate import generate_world
from embodied_collab.sim.navgrid import NavGrid
from embodied_collab.sim.robot_sim import RobotSim
from embodied_collab.sim.world import World, WorldObject

logger = logging.getLogger(__name__)


@dataclass
class Episode:
    """One navigation problem.

    Attributes:
        seed: the episode's seed (layout and everything else derive from it).
        world: the true world (what the simulator has).
        map_world: what the robot's map shows (may lack one piece of furniture).
        clutter: floor objects not on the map.
        start: start pose.
        goal: goal position.
        geodesic: shortest free path length from start to goal on the true world (m).
    """

    seed: int
    world: World
    map_world: World
    clutter: list[WorldObject]
    start: tuple[float, float, float]
    goal: tuple[float, float]
    geodesic: float
    hidden_furniture: str | None = None


def _clutter_object(i: int, rng: np.random.Generator, pos: tuple[float, float]) -> WorldObject:
    category = str(rng.choice(["box", "ball", "book", "bottle", "cup"]))
    return WorldObject(id=f"clutter_{i}", category=category,
                       colour=str(rng.choice(list(catalog.COLOURS))),
                       size=str(rng.choice(list(catalog.SIZES))), relation="floor",
                       support=None, position=(float(pos[0]), float(pos[1])))


def make_episode(seed: int, *, clutter: int = 3, min_distance: float = 3.0,
                 max_distance: float = 9.0, hide_furniture_p: float = 0.3,
                 layouts: str = "test") -> Episode:
    """A reproducible episode from ``seed`` (see the module docstring).

    ``layouts="test"`` draws world seeds at or above 10**6 (never seen in training);
    ``"train"`` draws them below.

    Raises:
        ValueError: if no start/goal pair fits after many tries (not seen with generated worlds).
    """
    if layouts not in ("test", "train"):
        raise ValueError(f"layouts must be 'test' or 'train', got {layouts!r}")
    rng = np.random.default_rng(seed)
    for _attempt in range(20):
        if layouts == "test":  # layouts unseen in training (world seeds below 10**6)
            world = generate_world(10**6 + int(rng.integers(0, 2**30)))
        else:
            world = generate_world(int(rng.integers(0, 10**6)))
        grid = NavGrid(world, clearance=0.12, include_floor_objects=True)
        free = np.argwhere(grid.free)
        if len(free) < 50:
            continue
        r0, c0 = free[rng.integers(len(free))]
        start_xy = grid.to_world(int(c0), int(r0))
        field_ = grid.distance_field(*start_xy)
        ok = np.isfinite(field_) & (field_ >= min_distance) & (field_ <= max_distance) & grid.free
        cand = np.argwhere(ok)
        if len(cand) == 0:
            continue
        r1, c1 = cand[rng.integers(len(cand))]
        goal = grid.to_world(int(c1), int(r1))
        path = grid.path(start_xy, goal)
        objs: list[WorldObject] = []
        for i in range(clutter):
            # on the path's middle part, pushed sideways a little, away from start and goal
            k = int(rng.integers(len(path) // 4, max(3 * len(path) // 4, len(path) // 4 + 1)))
            p = np.array(path[k]) + rng.normal(0.0, 0.15, 2)
            if min(math.dist(p, start_xy), math.dist(p, goal)) < 0.8:
                continue
            objs.append(_clutter_object(i, rng, (p[0], p[1])))
        # the goal must stay reachable with the clutter in place
        truth = world.copy()
        truth.objects.extend(objs)
        truth.reindex()
        tgrid = NavGrid(truth, clearance=TIGHT_CLEARANCE + 0.05, include_floor_objects=True)
        if not (tgrid.is_free(*start_xy) and tgrid.is_free(*goal)):
            continue
        geo = float(tgrid.distances([start_xy, goal])[0, 1])
        if not math.isfinite(geo):
            continue
        map_world = world.copy()
        hidden = None
        if rng.random() < hide_furniture_p and len(map_world.furniture) > 1:
            far = [f for f in map_world.furniture
                   if min(math.dist(f.centre, start_xy), math.dist(f.centre, goal)) > 1.5]
            if far:
                f = far[int(rng.integers(len(far)))]
                hidden = f.id
                map_world.furniture = [g for g in map_world.furniture if g.id != f.id]
                map_world.objects = [o for o in map_world.objects if o.support != f.id]
                map_world.reindex()
        theta = float(rng.uniform(-math.pi, math.pi))
        world.robot.x, world.robot.y, world.robot.theta = start_xy[0], start_xy[1], theta
        return Episode(seed=seed, world=world, map_world=map_world, clutter=objs,
                       start=(start_xy[0], start_xy[1], theta), goal=goal, geodesic=geo,
                       hidden_furniture=hidden)
    raise ValueError(f"could not build an episode from seed {seed}")


def make_sim(ep: Episode, sim_config: SimConfig | None = None) -> RobotSim:
    """The simulator for an episode (true world + clutter, robot at the start)."""
    sim = RobotSim(ep.world, sim_config or SimConfig(), extra_objects=ep.clutter, seed=ep.seed)
    sim.set_pose(*ep.start)
    return sim


@dataclass
class EpisodeResult:
    """Outcome of one driven episode."""

    seed: int
    status: str
    time_s: float
    oracle_time_s: float
    collisions: int
    governor_interventions: int
    replans: int
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def time_ratio(self) -> float:
        return self.time_s / self.oracle_time_s


def run_episode(ep: Episode, config: ControlConfig, controller: LocalController | None = None,
                *, time_limit_factor: float = 4.0) -> EpisodeResult:
    """Drive an episode with the control loop at ``config.rate_hz`` in simulated time."""
    sim = make_sim(ep)
    loop = ControlLoop(config, ep.map_world, sim.set_cmd_vel, controller=controller,
                       clock=lambda: sim.time)
    angles = sim.lidar.angles
    oracle = ep.geodesic / config.v_max
    limit = max(time_limit_factor * oracle, 20.0)
    dt = config.period
    collisions = 0
    reasons: dict[str, int] = {}

    def sense() -> None:
        loop.on_odom(sim.pose, sim.velocity, stamp=sim.time)
        loop.on_scan(sim.scan(), angles, sim.range_max, stamp=sim.time)

    sense()
    loop.set_goal(ep.goal)
    status = GoalStatus.ACTIVE
    while sim.time < limit:
        res = loop.step(sim.time)
        status = res.status
        for r in res.command.reasons:
            reasons[r] = reasons.get(r, 0) + 1
        if status.terminal:
            break
        sim.step(dt)
        collisions += int(sim.collided)
        sense()
    if not status.terminal:
        status = GoalStatus.FAILED
    interventions = sum(v for k, v in reasons.items()
                        if k in ("obstacle_front", "obstacle_rear", "braking_cap"))
    return EpisodeResult(seed=ep.seed, status=status.value, time_s=round(sim.time, 3),
                         oracle_time_s=round(oracle, 3), collisions=collisions,
                         governor_interventions=interventions, replans=loop.replans,
                         reasons=reasons)
