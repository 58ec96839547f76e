"""The planning environment: the household as a scene graph with high-level actions.

The robot plans over places (rooms, furniture) and objects, not motor commands: ``navigate``,
``open``, ``pick``, ``place`` and ``done``. Each action is checked against the world, executed
instantly, and reports success or failure and the path length the robot would drive (geodesic
distance on the world's :class:`~embodied_collab.sim.navgrid.NavGrid` between approach poses).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from embodied_collab.sim.config_planning import PlanningConfig
from embodied_collab.sim.planning_episode import (  # noqa: F401  (re-exported API)
    DONE,
    MAX_FURNITURE,
    MAX_OBJECTS,
    MAX_ROOMS,
    N_ACTIONS,
    N_PLACES,
    NAV_FURN,
    NAV_ROOM,
    OBS_SIZE,
    OPEN,
    PICK,
    PLACE,
    ActionCodec,
    Episode,
    PlaceMap,
    prepared_world,
)
from embodied_collab.sim.scene_graph import SceneGraph
from embodied_collab.sim.tasks import Suite, Task
from embodied_collab.sim.world import World


class HouseholdPlanEnv(gym.Env):
    """## Description

    A household (rooms, furniture, containers, movable objects) seen as a scene graph under
    partial observability. The robot is told an instruction ("Find the red cup and put it in the
    fridge") and acts with high-level actions until it declares ``done``. The furniture layout
    is known; objects are unknown until seen (arriving in a room reveals its open surfaces and
    open containers; opening a container reveals its contents). Tasks come from a suite or are
    generated from seeds at a difficulty (see ``docs/world.md``).

    ## Action Space

    ``Discrete(N_ACTIONS)`` (97) over fixed slots, entities in world order:
    ``navigate <room>`` x8, ``navigate <furniture>`` x24, ``open <furniture>`` x24,
    ``pick <object>`` x16, ``place <furniture>`` x24, ``done``. :class:`ActionCodec` maps text
    to indices (``env.codec.encode("pick cup_1")``); ``step`` also accepts the text directly.
    ``info["action_mask"]`` marks the actions whose preconditions hold now.

    ## Observation Space

    ``Box(0, 1, (OBS_SIZE,), float32)`` (1,438 values), in this order: the goal (target
    category, colour and size one-hots, relation holding/on/in, destination furniture slot); the
    robot (place slot one-hot over start + rooms + furniture, held object slot, holding flag,
    step fraction); the driving distance from the robot's place to every room and furniture slot
    (metres / 20, capped at 1; 1 for empty or unreachable slots); per room slot (exists,
    explored, robot inside); per furniture slot (exists, room, category, container, surface,
    open, is destination); per object slot (observed; then category, colour, size, on/in/held,
    is target, at the robot's place, support slot; all zero while unobserved).
    ``info["text"]`` holds the same state as text (instruction, :meth:`SceneGraph.to_text`,
    recent actions) for language models.

    ## Rewards

    ``reward_success`` (+5) for ``done`` when the success predicate holds; ``penalty_failed``
    (-0.3) for a well-formed action whose preconditions fail and for ``done`` without success;
    ``penalty_invalid`` (-0.1) for an unparseable action, an empty slot or an unobserved object;
    otherwise ``explore_weight`` per newly observed object plus ``progress_weight`` the first
    time the target is seen and first picked, minus ``distance_weight`` per metre driven.

    ## Starting State

    The task's initial world; the robot at its start pose, having seen its start room
    (``observe_start_room``).

    ## Episode End

    Terminated on ``done`` (``info["is_success"]`` says whether the predicate held). Truncated
    after ``max_steps`` actions.

    ## Arguments

    ``gymnasium.make("embodied_collab/HouseholdPlan-v0", config=PlanningConfig(...),
    suite=None)``: ``suite`` is a :class:`Suite`, a suite file path, or a list of tasks (episodes
    draw a task from it); without it, tasks are generated. ``reset(options=...)`` accepts
    ``{"task": Task}``, ``{"task_index": i}`` or ``{"world_seed": s, "difficulty": d}``.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}

    def __init__(
        self,
        config: PlanningConfig | None = None,
        suite: Suite | str | Path | list[Task] | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.config = config or PlanningConfig()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, "
                             f"got {render_mode!r}")
        self.render_mode = render_mode
        if isinstance(suite, (str, Path)):
            suite = Suite.load(suite)
        self.tasks: list[Task] | None = list(suite) if suite is not None else None
        if self.tasks is not None and not self.tasks:
            raise ValueError("suite has no tasks")
        from embodied_collab.sim.generate import parse_difficulty

        self._difficulties = parse_difficulty(self.config.difficulty)
        self.action_space = spaces.Discrete(N_ACTIONS)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(OBS_SIZE,), dtype=np.float32)
        self._working: OrderedDict[int, tuple[World, Any, Any]] = OrderedDict()
        self.episode: Episode | None = None

    # ------------------------------------------------------------ accessors
    @property
    def task(self) -> Task:
        return self._ep().task

    @property
    def world(self) -> World:
        """The world as it is now (ground truth; mutated by the episode)."""
        return self._ep().world

    @property
    def codec(self) -> ActionCodec:
        return self._ep().places.codec

    @property
    def scene(self) -> SceneGraph:
        return self._ep().scene

    def _ep(self) -> Episode:
        if self.episode is None:
            raise RuntimeError("call reset() before using the environment")
        return self.episode

    def action_mask(self) -> np.ndarray:
        """Actions whose preconditions hold now (int8, length :data:`N_ACTIONS`)."""
        return self._ep().action_mask()

    def observe(self, object_ids: list[str]) -> list[str]:
        """Mark objects as observed (seen by a camera, say); returns the newly observed ids.
        Unknown ids are ignored. The next step's observation, mask and text include them."""
        return self._ep().observe(list(object_ids))

    def driven_path(self) -> list[tuple[float, float]]:
        """The polyline the robot drove this episode (NavGrid shortest paths between stops)."""
        return self._ep().driven_path()

    # ------------------------------------------------------------ gym API
    def _draw_task(self, options: dict[str, Any]) -> Task:
        if "task" in options:
            if not isinstance(options["task"], Task):
                raise TypeError(f"options['task'] must be a Task, got {type(options['task'])}")
            return options["task"]
        if "task_index" in options:
            if self.tasks is None:
                raise ValueError("options['task_index'] needs an env built with a suite")
            return self.tasks[int(options["task_index"])]
        if "world_seed" in options:
            diff = options.get("difficulty") or self._difficulties[0]
            return _generated_task(int(options["world_seed"]), diff)
        if self.tasks is not None:
            return self.tasks[int(self.np_random.integers(len(self.tasks)))]
        cfg = self.config
        seed = int(self.np_random.integers(cfg.world_seed_low, cfg.world_seed_high))
        diff = self._difficulties[int(self.np_random.integers(len(self._difficulties)))]
        return _generated_task(seed, diff)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        task = self._draw_task(options or {})
        pristine, places = prepared_world(task, self.config.cache_size)
        key = id(places)
        hit = self._working.get(key)
        # the entry keeps its PlaceMap alive and is checked by identity: an id alone can be
        # reused once the shared prepared-world cache has evicted that PlaceMap
        if hit is None or hit[2] is not places:
            world = _clone(pristine)
            hit = (world, Episode.snapshot(world), places)
            self._working[key] = hit
            while len(self._working) > self.config.cache_size:
                self._working.popitem(last=False)
        else:
            self._working.move_to_end(key)
        world, snap, _ = hit
        Episode.restore(world, snap)
        self.episode = Episode(task, world, places, self.config)
        return self.episode.observation(), self.episode.info()

    def step(self, action: int | str):
        ep = self._ep()
        reward, terminated = ep.act(action)
        truncated = not terminated and ep.steps >= self.config.max_steps
        return ep.observation(), float(reward), terminated, truncated, ep.info()

    def render(self):
        if self.render_mode == "ansi":
            return self._ep().text()
        if self.render_mode == "rgb_array":
            from embodied_collab.sim.render import render_topdown

            return render_topdown(self.world, trail=self.driven_path(),
                                  title=self.task.instruction)
        return None


def _clone(world: World) -> World:
    """A copy whose mutable parts (objects, furniture, robot) are private; rooms, doors and
    walls, which nothing mutates, are shared."""
    out = copy.copy(world)
    out.objects = [copy.copy(o) for o in world.objects]
    out.furniture = [copy.copy(f) for f in world.furniture]
    out.robot = copy.copy(world.robot)
    out.reindex()
    return out


def _generated_task(world_seed: int, difficulty: str) -> Task:
    from embodied_collab.sim.generate import generate_task

    return generate_task(world_seed, difficulty)
