"""Gymnasium environment: drive a differential-drive robot to a goal in a household, with lidar
(and optionally an RGB-D camera). Registered as ``embodied_collab/HouseholdNav-v0``."""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from embodied_collab.sim import catalog
from embodied_collab.sim.config_sim import SimConfig
from embodied_collab.sim.generate import generate_world
from embodied_collab.sim.navgrid import NavGrid
from embodied_collab.sim.physics import Obstacles
from embodied_collab.sim.robot_sim import RobotSim
from embodied_collab.sim.world import ROBOT_RADIUS, World, WorldObject

GOAL_DIST_NORM = 10.0  # metres mapped to 1.0 in the observation
_CACHE_SIZE = 16


class HouseholdNavEnv(gym.Env):
    """Drive to a goal through a household with walls, doors, furniture and clutter.

    ## Description
    A disc robot (radius 0.18 m) with differential drive starts at a random free pose in a
    procedurally generated household (or a given world) and must reach a goal: the approach
    pose of a random piece of furniture, a furniture id or an (x, y) point given in
    ``reset(options={"goal": ...})``, or the furniture a suite task's target object stands on.
    Floor clutter (``clutter=N``) is not in the map: only the lidar sees it.

    ## Action Space
    ``Box(-1, 1, (2,), float32)``: normalised (v, w), scaled by ``v_max`` and ``w_max``
    (defaults 0.6 m/s, 1.5 rad/s); acceleration limits apply.

    ## Observation Space
    ``Box(-1, 1, (beams + 5,), float32)``:

    | index          | observation                                               |
    |----------------|-----------------------------------------------------------|
    | 0 .. beams-1   | lidar ranges / range_max (beam 0 points backwards, CCW)  |
    | beams          | Euclidean distance to the goal / 10 m, clipped to 1       |
    | beams+1, +2    | cos and sin of the goal's bearing in the robot frame      |
    | beams+3, +4    | current v / v_max and w / w_max                           |

    With ``camera=True`` the observation is a ``Dict`` with ``state`` (the vector above),
    ``rgb`` (uint8 HxWx3) and ``depth`` (float32 HxW, metres).

    ## Rewards
    Progress along the geodesic distance to the goal (metres, from the occupancy grid's
    distance field, so detours around walls are not punished) times ``progress_scale``, minus
    ``time_penalty`` per step, minus ``collision_penalty`` on contact, plus ``success_bonus``
    on reaching the goal.

    ## Starting State
    A random free pose at least 1 m (geodesic) from the goal, random heading, at rest
    (``random_start=False``: the world's own robot pose).

    ## Episode End
    Terminates on success (within ``goal_tolerance`` = 0.25 m of the goal position) and, with
    ``terminate_on_collision=True`` (default), on a collision. Truncated by the registered
    ``max_episode_steps=600`` (60 s of simulated time at the default 0.1 s control period).

    ## Arguments
    ``gym.make("embodied_collab/HouseholdNav-v0", world_seed=None, world_seeds=None, world=None,
    suite=None, clutter=0, camera=False, terminate_on_collision=True, random_start=True,
    config=None, render_mode=None)``: ``world_seed`` fixes one generated world;
    ``world_seeds`` draws one per episode; with neither, every episode gets a fresh seed in
    [0, 10**6). ``world`` is a :class:`World` or a world JSON file; ``suite`` a suite file
    whose tasks are drawn per episode. ``config`` is a :class:`SimConfig`.
    ``render_mode="rgb_array"`` returns a top-down map.

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        world_seed: int | None = None,
        world_seeds: Sequence[int] | None = None,
        world: World | str | Path | None = None,
        suite: Any = None,
        clutter: int = 0,
        camera: bool = False,
        terminate_on_collision: bool = True,
        random_start: bool = True,
        config: SimConfig | None = None,
        render_mode: str | None = None,
        goal_tolerance: float = 0.25,
        time_penalty: float = 0.01,
        collision_penalty: float = 1.0,
        success_bonus: float = 10.0,
        progress_scale: float = 1.0,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or "
                             f"None, got {render_mode!r}")
        if not isinstance(clutter, int) or clutter < 0:
            raise ValueError(f"clutter must be a non-negative integer, got {clutter!r}")
        if goal_tolerance <= 0:
            raise ValueError(f"goal_tolerance must be > 0, got {goal_tolerance}")
        if world_seeds is not None and len(world_seeds) == 0:
            raise ValueError("world_seeds must not be empty")
        self.config = config or SimConfig()
        self.render_mode = render_mode
        self.clutter = clutter
        self.use_camera = bool(camera)
        self.terminate_on_collision = terminate_on_collision
        self.random_start = random_start
        self.goal_tolerance = float(goal_tolerance)
        self.time_penalty = float(time_penalty)
        self.collision_penalty = float(collision_penalty)
        self.success_bonus = float(success_bonus)
        self.progress_scale = float(progress_scale)
        self.world_seed = world_seed
        self.world_seeds = list(world_seeds) if world_seeds is not None else None
        if isinstance(world, (str, Path)):
            world = World.load(world)
        self._fixed_world = world
        self._suite = self._load_suite(suite)
        self._cache: OrderedDict[Any, tuple[World, NavGrid, np.ndarray]] = OrderedDict()
        self._start_ok: np.ndarray | None = None

        cfg = self.config
        n = cfg.lidar_beams + 5
        state = spaces.Box(-1.0, 1.0, shape=(n,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        if self.use_camera:
            h, w = cfg.camera_height, cfg.camera_width
            self.observation_space = spaces.Dict({
                "state": state,
                "rgb": spaces.Box(0, 255, shape=(h, w, 3), dtype=np.uint8),
                "depth": spaces.Box(0.0, cfg.camera_far, shape=(h, w), dtype=np.float32),
            })
        else:
            self.observation_space = state
        self.sim: RobotSim | None = None
        self.world: World | None = None
        self.grid: NavGrid | None = None
        self.goal = (0.0, 0.0)
        self.goal_id: str | None = None
        self._field: np.ndarray | None = None
        self._geo = 0.0

    # ---------------------------------------------------------------- worlds
    @staticmethod
    def _load_suite(suite):
        if suite is None:
            return None
        from embodied_collab.sim.tasks import Suite

        return suite if isinstance(suite, Suite) else Suite.load(suite)

    def _world_for(self, key, make) -> tuple[World, NavGrid]:
        if key not in self._cache:
            w = make()
            grid = NavGrid(w)
            # start cells: free in the grid and with real clearance for the robot's disc
            gap = Obstacles(w).static_gap(grid._cx, grid._cy)
            self._cache[key] = (w, grid, grid.free & (gap > ROBOT_RADIUS + 0.05))
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        base, grid, start_ok = self._cache[key]
        world = copy.deepcopy(base)
        grid.world = world  # the grid only reads static geometry, shared by every copy
        self._start_ok = start_ok
        return world, grid

    def _choose_world(self) -> tuple[World, NavGrid, str | None]:
        rng = self.np_random
        if self._fixed_world is not None:
            w, g = self._world_for("fixed", lambda: self._fixed_world)
            return w, g, None
        if self._suite is not None:
            task = self._suite.tasks[int(rng.integers(len(self._suite.tasks)))]
            w, g = self._world_for(("task", task.id), task.world)
            goal = task.goal
            target = None
            if goal is not None and w.has(goal.object):
                obj = w.object_by_id(goal.object)
                target = obj.support
            return w, g, target
        if self.world_seeds is not None:
            seed = int(self.world_seeds[int(rng.integers(len(self.world_seeds)))])
        elif self.world_seed is not None:
            seed = int(self.world_seed)
        else:
            seed = int(rng.integers(10**6))
        w, g = self._world_for(("seed", seed), lambda: generate_world(seed))
        return w, g, None

    # -------------------------------------------------------------- geodesic
    def _geodesic(self, x: float, y: float) -> float:
        """Bilinear interpolation of the goal's distance field (finite neighbours only)."""
        g, f = self.grid, self._field
        res = g.resolution
        fx = (x - g.origin[0]) / res - 0.5
        fy = (y - g.origin[1]) / res - 0.5
        c0, r0 = int(math.floor(fx)), int(math.floor(fy))
        ax, ay = fx - c0, fy - r0
        total, wsum = 0.0, 0.0
        for dr, dc, wgt in ((0, 0, (1 - ax) * (1 - ay)), (0, 1, ax * (1 - ay)),
                            (1, 0, (1 - ax) * ay), (1, 1, ax * ay)):
            r, c = r0 + dr, c0 + dc
            if 0 <= r < f.shape[0] and 0 <= c < f.shape[1] and math.isfinite(f[r, c]):
                total += wgt * f[r, c]
                wsum += wgt
        if wsum > 1e-6:
            d = total / wsum
        else:  # off the free grid (touching an obstacle): nearest free cell plus the gap
            p = g.nearest_free(x, y, 1.0)
            if p is None:
                return self._geo
            c, r = g.to_cell(*p)
            d = float(f[r, c]) + math.hypot(p[0] - x, p[1] - y)
        # the field is zero at the goal cell's centre: near the goal use the exact distance
        e = math.hypot(x - self.goal[0], y - self.goal[1])
        return e if e < 2 * res else max(d, e)

    # ------------------------------------------------------------------ gym
    def _clutter(self, world: World, grid: NavGrid, start) -> list[WorldObject]:
        rng = self.np_random
        free = np.argwhere(grid.free)
        out: list[WorldObject] = []
        cats = list(catalog.OBJECTS)
        cols = list(catalog.COLOURS)
        for _ in range(self.clutter * 20):
            if len(out) >= self.clutter or len(free) == 0:
                break
            r, c = free[int(rng.integers(len(free)))]
            x, y = grid.to_world(int(c), int(r))
            if math.hypot(x - start[0], y - start[1]) < 0.7:
                continue
            if math.hypot(x - self.goal[0], y - self.goal[1]) < 0.7:
                continue
            if any(math.hypot(x - d.centre[0], y - d.centre[1]) < 0.9 for d in world.doors):
                continue
            if any(math.hypot(x - o.position[0], y - o.position[1]) < 0.5 for o in out):
                continue
            out.append(WorldObject(
                id=f"clutter_{len(out) + 1}", category=str(cats[int(rng.integers(len(cats)))]),
                colour=str(cols[int(rng.integers(len(cols)))]), size="large",
                relation="floor", support=None, position=(round(x, 3), round(y, 3))))
        return out

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = options or {}
        world, grid, target = self._choose_world()
        rng = self.np_random
        goal = options.get("goal", target)
        if goal is None:
            cands = [f for f in world.furniture if f.approach is not None]
            goal = cands[int(rng.integers(len(cands)))].id
        if isinstance(goal, str):
            f = world.furniture_by_id(goal)
            if f.approach is None:
                raise ValueError(f"furniture {goal!r} has no approach pose to drive to")
            self.goal, self.goal_id = (float(f.approach[0]), float(f.approach[1])), goal
        else:
            self.goal, self.goal_id = (float(goal[0]), float(goal[1])), None
        self.world, self.grid = world, grid
        self._field = grid.distance_field(*self.goal)
        if self.random_start:
            ok = np.isfinite(self._field) & self._start_ok
            reach = np.argwhere(ok & (self._field >= 1.0))
            if len(reach) == 0:
                reach = np.argwhere(ok)
            if len(reach) == 0:
                raise ValueError(f"no free start pose can reach the goal {self.goal}")
            r, c = reach[int(rng.integers(len(reach)))]
            sx, sy = grid.to_world(int(c), int(r))
            world.robot.x, world.robot.y = sx, sy
            world.robot.theta = float(rng.uniform(-math.pi, math.pi))
        extra = self._clutter(world, grid, (world.robot.x, world.robot.y)) if self.clutter else []
        self.sim = RobotSim(world, self.config, extra_objects=extra,
                            seed=int(rng.integers(2**31)))
        self._geo = self._geodesic(world.robot.x, world.robot.y)
        return self._obs(), self._info(False)

    def step(self, action):
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (2,) or not np.all(np.isfinite(a)):
            raise ValueError(f"action must be 2 finite numbers, got {action!r}")
        a = np.clip(a, -1.0, 1.0)
        cfg = self.config
        self.sim.set_cmd_vel(float(a[0]) * cfg.v_max, float(a[1]) * cfg.w_max)
        self.sim.step(cfg.dt)
        x, y, _ = self.sim.pose
        geo = self._geodesic(x, y)
        progress = self._geo - geo
        self._geo = geo
        success = math.hypot(x - self.goal[0], y - self.goal[1]) <= self.goal_tolerance
        collided = self.sim.collided
        reward = self.progress_scale * progress - self.time_penalty
        if collided:
            reward -= self.collision_penalty
        if success:
            reward += self.success_bonus
        terminated = success or (collided and self.terminate_on_collision)
        return self._obs(), float(reward), bool(terminated), False, self._info(success)

    def _state(self) -> np.ndarray:
        sim, cfg = self.sim, self.config
        x, y, th = sim.pose
        scan = sim.scan() / np.float32(cfg.lidar_range)
        dx, dy = self.goal[0] - x, self.goal[1] - y
        bearing = math.atan2(dy, dx) - th
        v, w = sim.velocity
        tail = np.array([min(math.hypot(dx, dy) / GOAL_DIST_NORM, 1.0), math.cos(bearing),
                         math.sin(bearing), v / cfg.v_max, w / cfg.w_max], dtype=np.float32)
        return np.clip(np.concatenate([scan, tail]), -1.0, 1.0).astype(np.float32)

    def _obs(self):
        state = self._state()
        if not self.use_camera:
            return state
        rgb, depth = self.sim.camera()
        return {"state": state, "rgb": rgb, "depth": depth}

    def _info(self, success: bool) -> dict[str, Any]:
        return {"geodesic_distance": float(self._geo), "success": success,
                "collided": bool(self.sim.collided), "goal": self.goal, "goal_id": self.goal_id,
                "world_seed": self.world.seed, "time": self.sim.time}

    def render(self):
        if self.render_mode != "rgb_array" or self.sim is None:
            return None
        from embodied_collab.sim.render import render_topdown

        return render_topdown(self.world, goal=self.goal, extra_objects=self.sim.extra_objects)
