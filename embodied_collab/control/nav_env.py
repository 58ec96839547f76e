"""The training environment of the learned local controller: the real control loop on the
continuous simulator, the policy's action being the residual on top of pure pursuit.

Each episode is a :func:`embodied_collab.control.episodes.make_episode` problem on a *training*
layout (world seeds below 10**6; the benchmark's are above). Building a layout (world,
occupancy grids, simulator) is the slow part, so a pool of ``pool_size`` episodes is built
lazily and reused with a fresh heading and, half of the time, start and goal swapped.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import gymnasium as gym
import numpy as np

from embodied_collab.control.classical import LocalObservation, PurePursuit
from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.episodes import Episode, make_episode, make_sim
from embodied_collab.control.global_path import TIGHT_CLEARANCE
from embodied_collab.control.learned import OBS_DIM, action_to_command, policy_features
from embodied_collab.control.loop import ControlLoop, GoalStatus
from embodied_collab.sim.config_sim import SimConfig
from embodied_collab.sim.navgrid import NavGrid

logger = logging.getLogger(__name__)

_INTERVENTIONS = ("obstacle_front", "obstacle_rear", "braking_cap")


class _Residual:
    """The local controller inside training: pure pursuit + the policy's latest action."""

    def __init__(self, config: ControlConfig) -> None:
        self.config = config
        self.base = PurePursuit(config)
        self.action = np.zeros(2)

    def reset(self) -> None:
        self.action = np.zeros(2)

    def command(self, obs: LocalObservation) -> tuple[float, float]:
        base = self.base.command(obs)
        d = math.hypot(obs.goal[0] - obs.pose[0], obs.goal[1] - obs.pose[1])
        if d < self.config.goal_tolerance:
            return base
        return action_to_command(self.action, self.config, base)


class _Slot:
    """One pooled episode: its simulator, control loop and true geodesic field to the goal."""

    def __init__(self, ep: Episode, config: ControlConfig, ctl: _Residual, sink: Any) -> None:
        self.ep = ep
        self.sim = make_sim(ep, SimConfig(dt=config.period, v_max=config.v_max,
                                          w_max=config.w_max))
        self.loop = ControlLoop(config, ep.map_world, sink, controller=ctl,
                                clock=lambda: self.sim.time)
        truth = ep.world.copy()
        truth.objects.extend(ep.clutter)
        truth.reindex()
        self.grid = NavGrid(truth, clearance=TIGHT_CLEARANCE, include_floor_objects=True)
        self.fields = {}

    def field(self, goal: tuple[float, float]) -> np.ndarray:
        key = (round(goal[0], 3), round(goal[1], 3))
        if key not in self.fields:
            f = self.grid.distance_field(*goal)
            self.fields[key] = np.where(np.isfinite(f), f, np.nan)
        return self.fields[key]

    def geodesic(self, goal: tuple[float, float], p: tuple[float, float]) -> float:
        f = self.field(goal)
        c, r = self.grid.to_cell(*p)
        if not self.grid.in_grid(c, r):
            return math.nan
        return float(f[r, c])


class ResidualNavEnv(gym.Env):
    """Drive to a goal with the control loop; the action is the residual on pure pursuit.

    ## Action Space
    ``Box(-1, 1, (2,))``: residual ``(dv, dw)`` as fractions of ``RESIDUAL_V * v_max`` and
    ``RESIDUAL_W * w_max``, added to the regulated pure-pursuit command; then the safety
    governor filters the sum.

    ## Observation Space
    ``Box(-2, 2, (OBS_DIM,))``: :func:`embodied_collab.control.learned.policy_features`.

    ## Rewards
    Geodesic progress (m, on the true world with clutter) minus ``time_penalty`` per step,
    minus ``intervention_penalty`` when the governor braked, minus ``collision_penalty`` on
    contact, plus ``success_bonus`` on success.

    ## Episode End
    Terminates on success; truncated when the loop reports failed/blocked or after
    ``max_steps``.

    ## Arguments
    ``config`` (control; its ``rate_hz`` is the simulation rate), ``pool_size``, ``seed_base``,
    ``clutter``, ``max_distance``, ``max_steps`` and the reward weights.

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": []}

    def __init__(self, config: ControlConfig | None = None, *, pool_size: int = 64,
                 seed_base: int = 0, clutter: int = 3, max_distance: float = 7.0,
                 max_steps: int = 250, time_penalty: float = 0.02,
                 intervention_penalty: float = 0.02, collision_penalty: float = 1.0,
                 success_bonus: float = 3.0) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be >= 1, got {pool_size!r}")
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps!r}")
        self.config = config or ControlConfig(rate_hz=10.0)
        self.pool_size = pool_size
        self.seed_base = seed_base
        self.clutter = clutter
        self.max_distance = max_distance
        self.max_steps = max_steps
        self.time_penalty = time_penalty
        self.intervention_penalty = intervention_penalty
        self.collision_penalty = collision_penalty
        self.success_bonus = success_bonus
        self.observation_space = gym.spaces.Box(-2.0, 2.0, (OBS_DIM,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._ctl = _Residual(self.config)
        self._pool: dict[int, _Slot] = {}
        self._slot: _Slot | None = None
        self._goal = (0.0, 0.0)
        self._prev = 0.0
        self._steps = 0

    def _sink(self, v: float, w: float) -> None:
        assert self._slot is not None
        self._slot.sim.set_cmd_vel(v, w)

    def _sense(self) -> None:
        s = self._slot
        s.loop.on_odom(s.sim.pose, s.sim.velocity, stamp=s.sim.time)
        s.loop.on_scan(s.sim.scan(), s.sim.lidar.angles, s.sim.range_max, stamp=s.sim.time)

    def _features(self) -> np.ndarray:
        obs = self._slot.loop.observation()
        if obs is None:
            return np.zeros(OBS_DIM, np.float32)
        return policy_features(obs, self.config, self._ctl.base.command(obs))

    def _get_slot(self, k: int) -> _Slot:
        if k not in self._pool:
            ep = make_episode(self.seed_base + k, clutter=self.clutter,
                              max_distance=self.max_distance, layouts="train")
            self._pool[k] = _Slot(ep, self.config, self._ctl, self._sink)
        return self._pool[k]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        k = int(self.np_random.integers(self.pool_size))
        slot = self._slot = self._get_slot(k)
        ep = slot.ep
        start, goal = (ep.start[0], ep.start[1]), ep.goal
        if self.np_random.random() < 0.5:
            start, goal = goal, start
        slot.sim.set_pose(start[0], start[1], float(self.np_random.uniform(-math.pi, math.pi)))
        self._goal = (float(goal[0]), float(goal[1]))
        self._ctl.reset()
        slot.loop.governor._last = (0.0, 0.0)  # the base was just put down at rest
        self._sense()
        slot.loop.set_goal(self._goal)
        slot.loop.step(slot.sim.time)  # plans the first path
        self._prev = slot.geodesic(self._goal, start)
        self._steps = 0
        return self._features(), {"episode_index": k}

    def step(self, action: np.ndarray):
        s = self._slot
        self._ctl.action = np.asarray(action, np.float64)
        res = s.loop.step(s.sim.time)
        s.sim.step(self.config.period)
        self._steps += 1
        self._sense()
        d = s.geodesic(self._goal, s.sim.pose[:2])
        reward = (self._prev - d) if math.isfinite(d) and math.isfinite(self._prev) else 0.0
        if math.isfinite(d):
            self._prev = d
        reward -= self.time_penalty
        if any(r in res.command.reasons for r in _INTERVENTIONS):
            reward -= self.intervention_penalty
        if s.sim.collided:
            reward -= self.collision_penalty
        status = s.loop.status
        if status is GoalStatus.ACTIVE:
            s.loop._update_status(s.sim.time)
            status = s.loop.status
        terminated = status is GoalStatus.SUCCEEDED
        if terminated:
            reward += self.success_bonus
        truncated = (not terminated) and (status.terminal or self._steps >= self.max_steps)
        info = {"success": terminated, "collided": bool(s.sim.collided)}
        return self._features(), float(reward), terminated, truncated, info
