"""The planning environment's core: action slots, place distances, and one episode's state.

:class:`ActionCodec` maps action text to fixed discrete slots; :class:`PlaceMap` holds a world's
places and their all-pairs geodesic distances (computed once per world and cached by world
seed); :class:`Episode` executes high-level actions on a world, tracks what the robot has
observed, and builds the observation vector, the action mask and the text view. The Gymnasium
wrapper around it is :class:`embodied_collab.sim.planning_env.HouseholdPlanEnv`.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from typing import Any

import numpy as np

from embodied_collab.errors import InvalidActionError
from embodied_collab.sim import catalog
from embodied_collab.sim.config_planning import PlanningConfig
from embodied_collab.sim.navgrid import NavGrid
from embodied_collab.sim.scene_graph import SceneGraph
from embodied_collab.sim.tasks import Task
from embodied_collab.sim.world import World

logger = logging.getLogger(__name__)

MAX_ROOMS = 8
MAX_FURNITURE = 24
MAX_OBJECTS = 16
#: Place slots: the start pose, then rooms, then furniture.
N_PLACES = 1 + MAX_ROOMS + MAX_FURNITURE
#: Action slots, in this order: navigate room, navigate furniture, open, pick, place, done.
NAV_ROOM = 0
NAV_FURN = NAV_ROOM + MAX_ROOMS
OPEN = NAV_FURN + MAX_FURNITURE
PICK = OPEN + MAX_FURNITURE
PLACE = PICK + MAX_OBJECTS
DONE = PLACE + MAX_FURNITURE
N_ACTIONS = DONE + 1

_CATS = list(catalog.OBJECTS)
_COLS = list(catalog.COLOURS)
_SIZES = list(catalog.SIZES)
_FCATS = list(catalog.FURNITURE)
_REL = {"on": 0, "in": 1, "held": 2, "floor": 3}
_GOAL_REL = ("holding", "on", "in")
_DIST_SCALE = 20.0  # metres mapped to 1.0 in observations

# observation layout: name -> (size of one row, number of rows)
_LAYOUT = (
    ("goal", len(_CATS) + len(_COLS) + len(_SIZES) + len(_GOAL_REL) + MAX_FURNITURE, 1),
    ("robot", N_PLACES + MAX_OBJECTS + 2, 1),
    ("distances", N_PLACES - 1, 1),
    ("rooms", 3, MAX_ROOMS),
    ("furniture", 1 + MAX_ROOMS + len(_FCATS) + 2 + 2, MAX_FURNITURE),
    ("objects", 1 + len(_CATS) + len(_COLS) + len(_SIZES) + 5 + MAX_FURNITURE, MAX_OBJECTS),
)
OBS_SIZE = sum(w * n for _, w, n in _LAYOUT)


class ActionCodec:
    """Maps action text (``"pick cup_1"``) to the discrete action index and back for one world.

    Slots are fixed: :data:`MAX_ROOMS` ``navigate <room>``, :data:`MAX_FURNITURE`
    ``navigate <furniture>``, :data:`MAX_FURNITURE` ``open``, :data:`MAX_OBJECTS` ``pick``,
    :data:`MAX_FURNITURE` ``place``, and ``done`` last; entities fill slots in world order.

    Raises:
        ValueError: the world has more rooms, furniture or objects than there are slots.
    """

    def __init__(self, world: World) -> None:
        for what, items, cap in (("rooms", world.rooms, MAX_ROOMS),
                                 ("furniture", world.furniture, MAX_FURNITURE),
                                 ("objects", world.objects, MAX_OBJECTS)):
            if len(items) > cap:
                raise ValueError(f"world has {len(items)} {what}; the planning env supports "
                                 f"at most {cap}")
        self.rooms = [r.id for r in world.rooms]
        self.furniture = [f.id for f in world.furniture]
        self.objects = [o.id for o in world.objects]
        self.room_slot = {r: i for i, r in enumerate(self.rooms)}
        self.furn_slot = {f: i for i, f in enumerate(self.furniture)}
        self.obj_slot = {o: i for i, o in enumerate(self.objects)}
        names: list[str | None] = [None] * N_ACTIONS
        for i, r in enumerate(self.rooms):
            names[NAV_ROOM + i] = f"navigate {r}"
        for i, f in enumerate(self.furniture):
            names[NAV_FURN + i] = f"navigate {f}"
            names[OPEN + i] = f"open {f}"
            names[PLACE + i] = f"place {f}"
        for i, o in enumerate(self.objects):
            names[PICK + i] = f"pick {o}"
        names[DONE] = "done"
        self.names = names
        self._index = {n: i for i, n in enumerate(names) if n is not None}

    @staticmethod
    def parse(text: str) -> tuple[str, str | None]:
        """Split action text into ``(verb, argument)``; raises InvalidActionError if malformed."""
        words = str(text).strip().split()
        if not words or words[0].lower() not in catalog.PLAN_VERBS:
            raise InvalidActionError(f"unparseable action {text!r}: expected one of "
                                     f"{', '.join(catalog.PLAN_VERBS)} followed by an id")
        verb = words[0].lower()
        if verb == "done":
            if len(words) != 1:
                raise InvalidActionError(f"unparseable action {text!r}: 'done' takes no argument")
            return verb, None
        if len(words) != 2:
            raise InvalidActionError(f"unparseable action {text!r}: '{verb}' takes one id")
        return verb, words[1]

    def encode(self, text: str) -> int:
        """``"pick cup_1"`` -> its action index (InvalidActionError if unknown here)."""
        verb, arg = self.parse(text)
        name = verb if arg is None else f"{verb} {arg}"
        if name not in self._index:
            raise InvalidActionError(f"action {name!r} names nothing of this world")
        return self._index[name]

    def decode(self, index: int) -> str:
        """Action index -> text (InvalidActionError for an empty slot or out of range)."""
        if not 0 <= int(index) < N_ACTIONS:
            raise InvalidActionError(f"action index {index} out of range [0, {N_ACTIONS})")
        name = self.names[int(index)]
        if name is None:
            raise InvalidActionError(f"action index {index} is an empty slot in this world")
        return name


class PlaceMap:
    """The places of a world (start pose, room points, furniture approach poses) and the
    all-pairs geodesic distances between them, indexed by place slot (see :data:`N_PLACES`)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.codec = ActionCodec(world)
        self.grid = NavGrid(world)
        start = (world.robot.x, world.robot.y)
        reach = self.grid.component_mask(*start)
        self.points: list[tuple[float, float, float] | None] = [None] * N_PLACES
        self.points[0] = world.robot.pose
        for i, room in enumerate(world.rooms):
            self.points[1 + i] = (*self._room_point(room, reach), world.robot.theta)
        for i, f in enumerate(world.furniture):
            if f.approach is not None:
                self.points[1 + MAX_ROOMS + i] = tuple(f.approach)
        slots = [i for i, p in enumerate(self.points) if p is not None]
        d = self.grid.distances([(self.points[i][0], self.points[i][1]) for i in slots])
        self.dist = np.full((N_PLACES, N_PLACES), np.inf)
        self.dist[np.ix_(slots, slots)] = d
        np.fill_diagonal(self.dist, 0.0)
        self.dist_rows: list[list[float]] = self.dist.tolist()
        self.reachable = np.isfinite(self.dist)
        np.fill_diagonal(self.reachable, False)
        # the action mask's part that depends only on the place: navigation slots (in place
        # slot order) and done
        self.base_mask = np.zeros((N_PLACES, N_ACTIONS), dtype=np.int8)
        self.base_mask[:, NAV_ROOM:OPEN] = self.reachable[:, 1:]
        self.base_mask[:, DONE] = 1
        self.dist_scaled = np.minimum(self.dist / _DIST_SCALE, 1.0).astype(np.float32)
        self._static_features(world)

    def _static_features(self, world: World) -> None:
        codec = self.codec
        # room slot of every place slot (start: the room the robot starts in)
        self.place_room: list[int] = [-1] * N_PLACES
        start_room = world.room_at(world.robot.x, world.robot.y)
        if start_room is not None:
            self.place_room[0] = codec.room_slot[start_room.id]
        for i in range(len(world.rooms)):
            self.place_room[1 + i] = i
        for i, f in enumerate(world.furniture):
            self.place_room[1 + MAX_ROOMS + i] = codec.room_slot[f.room]
        self.room_exists = np.zeros(MAX_ROOMS, dtype=np.float32)
        self.room_exists[: len(world.rooms)] = 1.0
        self.container = [False] * MAX_FURNITURE
        self.surface = [False] * MAX_FURNITURE
        w = _width("furniture")
        self.furn_static = np.zeros((MAX_FURNITURE, w), dtype=np.float32)
        for i, f in enumerate(world.furniture):
            self.container[i], self.surface[i] = f.container, f.surface
            row = self.furn_static[i]
            row[0] = 1.0
            row[1 + codec.room_slot[f.room]] = 1.0
            row[1 + MAX_ROOMS + _FCATS.index(f.category)] = 1.0
            row[1 + MAX_ROOMS + len(_FCATS)] = float(f.container)
            row[2 + MAX_ROOMS + len(_FCATS)] = float(f.surface)
        self.obj_static = np.zeros((MAX_OBJECTS, len(_CATS) + len(_COLS) + len(_SIZES)),
                                   dtype=np.float32)
        for i, o in enumerate(world.objects):
            self.obj_static[i, _CATS.index(o.category)] = 1.0
            self.obj_static[i, len(_CATS) + _COLS.index(o.colour)] = 1.0
            self.obj_static[i, len(_CATS) + len(_COLS) + _SIZES.index(o.size)] = 1.0

    def _room_point(self, room, reach: np.ndarray) -> tuple[float, float]:
        x0, y0, x1, y1 = room.bounds
        g = self.grid
        mask = reach & (g._cx > x0) & (g._cx < x1) & (g._cy > y0) & (g._cy < y1)
        cx, cy = room.centre
        if not mask.any():
            return (cx, cy)
        d = np.where(mask, (g._cx - cx) ** 2 + (g._cy - cy) ** 2, np.inf)
        r, c = np.unravel_index(int(np.argmin(d)), d.shape)
        x, y = g.to_world(int(c), int(r))
        return (round(x, 3), round(y, 3))

    def slot(self, place: str | None) -> int:
        """Place slot of a room or furniture id (``None``: the start pose)."""
        if place is None:
            return 0
        if place in self.codec.room_slot:
            return 1 + self.codec.room_slot[place]
        return 1 + MAX_ROOMS + self.codec.furn_slot[place]

    def distance(self, a: str | None, b: str | None) -> float:
        """Geodesic distance (m) between two places (``None``: start pose; inf: unreachable)."""
        return float(self.dist[self.slot(a), self.slot(b)])


_PLACE_CACHE: OrderedDict[Any, tuple[World, PlaceMap]] = OrderedDict()


def prepared_world(task: Task, cache_size: int = 512) -> tuple[World, PlaceMap]:
    """The task's pristine world and its :class:`PlaceMap`, cached by world seed (generated
    worlds) or by task identity (worlds given inline or by file). Do not mutate the world."""
    generated = task.world_seed is not None and task.world_doc is None and task.world_file is None
    key = ("seed", task.world_seed) if generated else ("task", id(task))
    hit = _PLACE_CACHE.get(key)
    if hit is not None and (generated or hit[0] is getattr(task, "_world", None)):
        _PLACE_CACHE.move_to_end(key)
        return hit
    if generated and getattr(task, "_world", None) is None:
        from embodied_collab.sim.generate import generate_world

        world = generate_world(task.world_seed)
    else:
        task.world()  # loads and validates once; keeps the pristine copy in task._world
        world = task._world
    entry = (world, PlaceMap(world))
    _PLACE_CACHE[key] = entry
    while len(_PLACE_CACHE) > cache_size:
        _PLACE_CACHE.popitem(last=False)
    return entry


def _width(name: str) -> int:
    return next(w for n, w, _ in _LAYOUT if n == name)


def _offsets() -> dict[str, tuple[int, int, int]]:
    out, at = {}, 0
    for name, w, n in _LAYOUT:
        out[name] = (at, w, n)
        at += w * n
    return out


_OFF = _offsets()
_FW = _OFF["furniture"][1]  # width of a furniture row
_OB = 1 + len(_CATS) + len(_COLS) + len(_SIZES)  # first relation column of an object row



class Episode:
    """One task being carried out: the world's state, what the robot has seen, and the tally.

    Args:
        task: the task (instruction + success predicate).
        world: a private, mutable copy of the task's initial world.
        places: the world's :class:`PlaceMap`.
        config: reward weights and limits.
    """

    def __init__(self, task: Task, world: World, places: PlaceMap, config: PlanningConfig) -> None:
        self.task, self.world, self.places, self.config = task, world, places, config
        codec = places.codec
        self.codec = codec
        self.steps = 0
        self.path_length = 0.0
        self.history: list[str] = []
        self.visits: list[tuple[float, float]] = [(world.robot.x, world.robot.y)]
        self.success = False
        self.done = False
        self._obs: np.ndarray | None = None
        self.place = 0
        self.holding = codec.obj_slot[world.robot.holding] if world.robot.holding else -1
        # per-slot state as Python lists: worlds hold few objects, and scalar list access is
        # much cheaper than small numpy operations
        self.n_objects = len(world.objects)
        self.obj_support = [-1] * MAX_OBJECTS
        self.obj_rel = [-1] * MAX_OBJECTS
        self.obj_room = [-1] * MAX_OBJECTS
        for i, _o in enumerate(world.objects):
            self._sync_object(i)
        self.open = [False] * MAX_FURNITURE
        for i, f in enumerate(world.furniture):
            self.open[i] = f.open
        self.observed = [False] * MAX_OBJECTS
        self.explored = np.zeros(MAX_ROOMS, dtype=np.float32)
        goal = task.goal
        self.target = codec.obj_slot.get(goal.object, -1) if goal else -1
        self.dest = codec.furn_slot.get(goal.target, -1) if goal and goal.target else -1
        self._target_seen = self._target_picked = False
        self.scene = SceneGraph(world, cache_text=True)
        if self.holding >= 0:
            self.scene.observed.add(world.robot.holding)
            self.observed[self.holding] = True
        if config.observe_start_room and config.observation_source == "ground_truth":
            self._observed(self.scene.move_to(None))
            self._explore(self.places.place_room[0])
        self._scene_text: str | None = None
        self._mask: np.ndarray | None = None
        self.last = {"action": None, "action_ok": True, "message": "reset", "path_length": 0.0}
        self._init_obs()

    # ----------------------------------------------------------- snapshots
    @staticmethod
    def snapshot(world: World) -> tuple:
        """The mutable state of a world, for :meth:`restore`."""
        return (
            [(o.relation, o.support, o.position, o.z) for o in world.objects],
            [f.open for f in world.furniture],
            (world.robot.x, world.robot.y, world.robot.theta, world.robot.holding),
        )

    @staticmethod
    def restore(world: World, snap: tuple) -> None:
        """Put a world back into a :meth:`snapshot` state (fast reset, no copying)."""
        objs, opens, robot = snap
        for o, (rel, sup, pos, z) in zip(world.objects, objs, strict=False):
            o.relation, o.support, o.position, o.z = rel, sup, pos, z
        for f, op in zip(world.furniture, opens, strict=False):
            f.open = op
        r = world.robot
        r.x, r.y, r.theta, r.holding = robot

    # ------------------------------------------------------------- helpers
    def _sync_object(self, i: int) -> None:
        o = self.world.objects[i]
        self.obj_rel[i] = _REL.get(o.relation, 3)
        self.obj_support[i] = self.codec.furn_slot[o.support] if o.support else -1
        if o.relation == "floor":
            room = self.world.room_at(*o.position)
            self.obj_room[i] = self.codec.room_slot[room.id] if room else -1

    def _explore(self, room_slot: int) -> None:
        if room_slot >= 0:
            self.explored[room_slot] = 1.0
            if self._obs is not None:
                self._rooms[room_slot, 1] = 1.0

    def _observed(self, ids: list[str]) -> int:
        for oid in ids:
            i = self.codec.obj_slot[oid]
            self.observed[i] = True
            if self._obs is not None:
                self._write_object(i)
        return len(ids)

    def _place_id(self, slot: int) -> str | None:
        if slot == 0:
            return None
        if slot <= MAX_ROOMS:
            return self.codec.rooms[slot - 1]
        return self.codec.furniture[slot - 1 - MAX_ROOMS]

    def observe(self, object_ids: list[str]) -> list[str]:
        """Mark objects as observed from outside the env (e.g. by the camera's detections),
        keeping the observation, mask and text in step. Returns the newly observed ids."""
        new = [o for o in object_ids if o in self.codec.obj_slot and o not in self.scene.observed]
        for oid in new:
            self.scene.observed.add(oid)
        if new:
            self.scene.invalidate()
            self._scene_text = None
            self._mask = None
        self._observed(new)
        return new

    @property
    def furniture_place(self) -> int:
        """Furniture slot the robot stands at, or -1."""
        return self.place - 1 - MAX_ROOMS if self.place > MAX_ROOMS else -1

    # ----------------------------------------------------------------- act
    def _resolve(self, action: int | str) -> tuple[str, str, int] | str:
        """(verb, text, slot) for an action, or the message of why it is invalid."""
        codec = self.codec
        if isinstance(action, str):
            try:
                verb, arg = codec.parse(action)
            except InvalidActionError as exc:
                return str(exc)
            if verb == "done":
                return ("done", "done", 0)
            text = f"{verb} {arg}"
            if verb == "navigate":
                if arg in codec.room_slot:
                    return ("nav", text, 1 + codec.room_slot[arg])
                if arg in codec.furn_slot:
                    return ("nav", text, 1 + MAX_ROOMS + codec.furn_slot[arg])
                return f"{arg!r} is not a room or furniture of this house"
            if verb == "pick":
                if arg in codec.obj_slot:
                    return ("pick", text, codec.obj_slot[arg])
                return f"{arg!r} is not a known object"
            if arg in codec.furn_slot:
                return (verb, text, codec.furn_slot[arg])
            return f"{arg!r} is not a piece of furniture of this house"
        idx = int(action)
        if not 0 <= idx < N_ACTIONS:
            return f"action index {idx} out of range [0, {N_ACTIONS})"
        name = codec.names[idx]
        if name is None:
            return f"action index {idx} is an empty slot in this house"
        if idx < NAV_FURN:
            return ("nav", name, 1 + idx - NAV_ROOM)
        if idx < OPEN:
            return ("nav", name, 1 + MAX_ROOMS + idx - NAV_FURN)
        if idx < PICK:
            return ("open", name, idx - OPEN)
        if idx < PLACE:
            return ("pick", name, idx - PICK)
        if idx < DONE:
            return ("place", name, idx - PLACE)
        return ("done", "done", 0)

    def act(self, action: int | str) -> tuple[float, bool]:
        """Execute one high-level action; returns ``(reward, terminated)``."""
        cfg = self.config
        self.steps += 1
        resolved = self._resolve(action)
        if isinstance(resolved, str):
            return self._outcome(str(action), False, resolved, cfg.penalty_invalid), False
        verb, text, slot = resolved
        if verb == "done":
            self.success = bool(self.task.is_success(self.world))
            self.done = True
            if self.success:
                return self._outcome(text, True, "task complete", cfg.reward_success), True
            return self._outcome(text, False, "done, but the task is not complete",
                                 cfg.penalty_failed), True
        return getattr(self, "_" + verb)(text, slot), False

    def _outcome(self, text: str, ok: bool, message: str, reward: float,
                 metres: float = 0.0) -> float:
        self.last = {"action": text, "action_ok": ok, "message": message, "path_length": metres}
        self.history.append(f"{text} -> {'ok' if ok else 'failed: ' + message}")
        if ok:
            self._scene_text = None
            self._mask = None
        return reward

    def _fail(self, text: str, message: str) -> float:
        return self._outcome(text, False, message, self.config.penalty_failed)

    def _shaped(self, new_objects: int) -> float:
        cfg = self.config
        r = cfg.explore_weight * new_objects
        if self.target >= 0 and not self._target_seen and self.observed[self.target]:
            self._target_seen = True
            r += cfg.progress_weight
        return r

    def _nav(self, text: str, slot: int) -> float:
        name = self._place_id(slot)
        if slot == self.place:
            return self._fail(text, f"already at {name}")
        d = self.places.dist_rows[self.place][slot]
        if not math.isfinite(d):
            return self._fail(text, f"{name} cannot be reached from here")
        self._move(slot)
        x, y, th = self.places.points[slot]
        r = self.world.robot
        r.x, r.y, r.theta = x, y, th
        if r.holding is not None:
            self.world.object_by_id(r.holding).position = (x, y)
        self.path_length += d
        self.visits.append((x, y))
        room = self.places.place_room[slot]
        # nothing new can show up in an explored room: only opening (observed there) or the
        # robot's own placing changes what is visible
        fresh = room >= 0 and not self.explored[room]
        self._explore(room)
        gt = self.config.observation_source == "ground_truth"
        new = self._observed(self.scene.move_to(name, observe=fresh and gt))
        reward = self._shaped(new) - self.config.distance_weight * d
        return self._outcome(text, True, f"arrived at {name} ({d:.1f} m)", reward, d)

    def _open(self, text: str, f: int) -> float:
        furn = self.world.furniture[f]
        if not furn.container:
            return self._fail(text, f"{furn.id} is not a container")
        if furn.open:
            return self._fail(text, f"{furn.id} is already open")
        if f != self.furniture_place:
            return self._fail(text, f"{furn.id} is out of reach; navigate there first")
        furn.open = True
        self.open[f] = True
        self._furn[f, _FW - 2] = 1.0
        if self.config.observation_source == "ground_truth":
            new = self._observed(self.scene.observe_container(furn.id))
        else:  # an external observer (the camera) reports what the opened container shows
            new = 0
        return self._outcome(text, True, f"opened {furn.id}, saw {new} new object(s)",
                             self._shaped(new))

    def _pick(self, text: str, i: int) -> float:
        obj = self.world.objects[i]
        if not self.observed[i]:
            return self._outcome(text, False, f"{obj.id} has not been observed",
                                 self.config.penalty_invalid)
        if self.holding >= 0:
            return self._fail(text, f"already holding {self.codec.objects[self.holding]}")
        fp = self.furniture_place
        if obj.relation == "floor":
            here = self.place - 1 if 0 < self.place <= MAX_ROOMS else -1
            if here < 0 or self.obj_room[i] != here:
                return self._fail(text, f"{obj.id} is out of reach; navigate to its room first")
        elif obj.relation == "held" or self.obj_support[i] != fp:
            return self._fail(text, f"{obj.id} is out of reach; navigate to its furniture first")
        elif obj.relation == "in" and not self.open[fp]:
            return self._fail(text, f"{obj.id} is inside the closed {obj.support}")
        if obj.support is not None:
            self.scene.invalidate(self.world.furniture[self.obj_support[i]].room)
        else:
            self.scene.invalidate()
        obj.relation, obj.support = "held", None
        obj.position = (self.world.robot.x, self.world.robot.y)
        self.world.robot.holding = obj.id
        self._set_holding(i)
        self._sync_object(i)
        self._write_object(i)
        reward = 0.0
        if i == self.target and not self._target_picked:
            self._target_picked = True
            reward = self.config.progress_weight
        return self._outcome(text, True, f"picked {obj.id}", reward)

    def _place(self, text: str, f: int) -> float:
        furn = self.world.furniture[f]
        if self.holding < 0:
            return self._fail(text, "holding nothing")
        if f != self.furniture_place:
            return self._fail(text, f"{furn.id} is out of reach; navigate there first")
        if furn.container and furn.open:
            rel, z = "in", furn.inner_height
        elif furn.surface:
            rel, z = "on", furn.height
        else:
            return self._fail(text, f"{furn.id} is closed; open it first")
        i = self.holding
        obj = self.world.objects[i]
        n_there = self.obj_support.count(f)
        cx, cy = furn.centre
        x0, y0, x1, y1 = furn.bounds
        dx = min(0.5 * (x1 - x0) - obj.radius, 0.12 * n_there) if n_there else 0.0
        obj.relation, obj.support, obj.position, obj.z = rel, furn.id, (cx + max(dx, 0.0), cy), z
        self.world.robot.holding = None
        self.scene.invalidate(furn.room)
        self._set_holding(-1)
        self._sync_object(i)
        self._write_object(i)
        return self._outcome(text, True, f"placed {obj.id} {rel} {furn.id}", 0.0)

    # ---------------------------------------------------------- observing
    def action_mask(self) -> np.ndarray:
        """1 for the actions whose preconditions hold now, else 0 (int8; do not modify)."""
        if self._mask is None:
            self._mask = self._compute_mask()
        return self._mask

    def _compute_mask(self) -> np.ndarray:
        m = self.places.base_mask[self.place].copy()  # navigation + done
        fp = self.furniture_place
        if fp >= 0:
            if self.places.container[fp] and not self.open[fp]:
                m[OPEN + fp] = 1
            if self.holding >= 0 and (self.places.surface[fp] or self.open[fp]):
                m[PLACE + fp] = 1
        if self.holding < 0:
            seen, sup, rel = self.observed, self.obj_support, self.obj_rel
            if fp >= 0:
                inside_ok = self.open[fp]
                for i in range(self.n_objects):
                    if seen[i] and sup[i] == fp and (rel[i] == 0 or (rel[i] == 1 and inside_ok)):
                        m[PICK + i] = 1
            elif 0 < self.place <= MAX_ROOMS:
                room = self.place - 1
                for i in range(self.n_objects):
                    if seen[i] and rel[i] == 3 and self.obj_room[i] == room:
                        m[PICK + i] = 1
        return m

    def _init_obs(self) -> None:
        t = np.zeros(OBS_SIZE, dtype=np.float32)
        pm = self.places
        self._obs = t
        a = _OFF["goal"][0]
        goal = self.task.goal
        ns = pm.obj_static.shape[1]
        if goal is not None and self.target >= 0:
            t[a:a + ns] = pm.obj_static[self.target]
            t[a + ns + _GOAL_REL.index(goal.relation)] = 1.0
            if self.dest >= 0:
                t[a + ns + len(_GOAL_REL) + self.dest] = 1.0
        self._robot = t[_OFF["robot"][0]:_OFF["robot"][0] + _OFF["robot"][1]]
        a, w, n = _OFF["rooms"]
        self._rooms = t[a:a + w * n].reshape(n, w)
        self._rooms[:, 0] = pm.room_exists
        self._rooms[:, 1] = self.explored
        a, w, n = _OFF["furniture"]
        self._furn = t[a:a + w * n].reshape(n, w)
        self._furn[:] = pm.furn_static
        self._furn[:, w - 2] = self.open
        if self.dest >= 0:
            self._furn[self.dest, w - 1] = 1.0
        a = _OFF["distances"][0]
        self._dist = t[a:a + N_PLACES - 1]
        a, w, n = _OFF["objects"]
        self._objs = t[a:a + w * n].reshape(n, w)
        self._set_holding(self.holding)
        place, self.place = self.place, -1
        self._move(place)
        for i in range(len(self.world.objects)):
            self._write_object(i)

    def _move(self, slot: int) -> None:
        """Set the robot's place slot and the place-dependent features."""
        old, self.place = self.place, slot
        pm, robot = self.places, self._robot
        if old >= 0:
            robot[old] = 0.0
            if pm.place_room[old] >= 0:
                self._rooms[pm.place_room[old], 2] = 0.0
        robot[slot] = 1.0
        if pm.place_room[slot] >= 0:
            self._rooms[pm.place_room[slot], 2] = 1.0
        self._dist[:] = pm.dist_scaled[slot, 1:]
        fp = self.furniture_place
        col = self._objs[:, _OB + 4]
        if fp >= 0 or old > MAX_ROOMS:
            seen, sup = self.observed, self.obj_support
            for i in range(self.n_objects):
                if seen[i]:
                    col[i] = 1.0 if fp >= 0 and sup[i] == fp else 0.0

    def _set_holding(self, i: int) -> None:
        robot = self._robot
        robot[N_PLACES:N_PLACES + MAX_OBJECTS + 1] = 0.0
        self.holding = i
        if i >= 0:
            robot[N_PLACES + i] = 1.0
            robot[N_PLACES + MAX_OBJECTS] = 1.0

    def _write_object(self, i: int) -> None:
        """Rewrite object slot ``i``'s features (all zero while it is unobserved)."""
        row = self._objs[i]
        row[:] = 0.0
        if not self.observed[i]:
            return
        row[0] = 1.0
        row[1:_OB] = self.places.obj_static[i]
        rel = int(self.obj_rel[i])
        if rel <= 2:
            row[_OB + rel] = 1.0
        if i == self.target:
            row[_OB + 3] = 1.0
        sup = int(self.obj_support[i])
        if sup >= 0:
            row[_OB + 5 + sup] = 1.0
            if sup == self.furniture_place:
                row[_OB + 4] = 1.0

    def observation(self) -> np.ndarray:
        """The feature vector (see :class:`~embodied_collab.sim.planning_env.HouseholdPlanEnv`);
        a fresh array each call."""
        self._robot[N_PLACES + MAX_OBJECTS + 1] = min(self.steps / self.config.max_steps, 1.0)
        return self._obs.copy()

    def scene_text(self) -> str:
        """:meth:`SceneGraph.to_text` of the current state (cached until the state changes)."""
        if self._scene_text is None:
            self._scene_text = self.scene.to_text()
        return self._scene_text

    def text(self) -> str:
        """Instruction, scene graph and the most recent actions, as one string."""
        n = self.config.text_history
        hist = "; ".join(self.history[-n:]) if n and self.history else "none"
        return f"instruction: {self.task.instruction}\n{self.scene_text()}\nhistory: {hist}"

    def info(self) -> dict[str, Any]:
        """The step's ``info`` dict."""
        return {
            **self.last,
            "total_path_length": self.path_length,
            "action_mask": self.action_mask().copy(),
            "text": self.text(),
            "is_success": self.success,
            "steps": self.steps,
            "task_id": self.task.id,
            "difficulty": self.task.difficulty,
        }

    def driven_path(self) -> list[tuple[float, float]]:
        """The robot's route as world points (shortest free paths between its stops)."""
        out: list[tuple[float, float]] = [self.visits[0]]
        for a, b in zip(self.visits, self.visits[1:], strict=False):
            seg = self.places.grid.path(a, b)
            out.extend(seg[1:] if seg else [b])
        return out
