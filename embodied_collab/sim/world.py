"""The household world: rooms joined by doors, furniture, movable objects and the robot.

A :class:`World` is plain data (dataclasses over floats and strings) that every other part of the
stack reads: the continuous simulator moves the robot through it, the planning environment and
the oracle reason over it, the renderer draws it, speech and the cloud LLM name its entities.
Coordinates are metres in a right-handed plane frame (x east, y north), angles in radians.
The JSON form (``World.to_dict``/``World.from_dict``) is documented in ``docs/world.md`` and
validated by the JSON Schema ``embodied_collab/sim/schemas/world.schema.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embodied_collab.errors import InvalidFileError
from embodied_collab.sim import catalog

WORLD_FORMAT = "embodied_collab.world"
WORLD_VERSION = 1

#: Robot body radius (m) and how far its gripper reaches from the body centre to an edge (m).
ROBOT_RADIUS = 0.18
REACH = 0.75
#: Wall height and camera-relevant constants (m).
WALL_HEIGHT = 2.4

Bounds = tuple[float, float, float, float]  # x0, y0, x1, y1 with x0 < x1, y0 < y1


@dataclass(kw_only=True)
class Room:
    """An axis-aligned room. ``id`` is unique (``kitchen``, ``bedroom_2``); ``type`` is a
    :data:`catalog.ROOM_TYPES` key."""

    id: str
    type: str
    bounds: Bounds

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.bounds
        return (0.5 * (x0 + x1), 0.5 * (y0 + y1))

    @property
    def name(self) -> str:
        return catalog.display_name(self.type)

    def contains(self, x: float, y: float) -> bool:
        x0, y0, x1, y1 = self.bounds
        return x0 <= x <= x1 and y0 <= y <= y1


@dataclass(kw_only=True)
class Door:
    """A gap in the wall between two rooms, from ``a`` to ``b`` (a wall segment's sub-span)."""

    id: str
    rooms: tuple[str, str]
    a: tuple[float, float]
    b: tuple[float, float]

    @property
    def centre(self) -> tuple[float, float]:
        return (0.5 * (self.a[0] + self.b[0]), 0.5 * (self.a[1] + self.b[1]))


@dataclass(kw_only=True)
class Furniture:
    """A static, axis-aligned piece of furniture.

    ``approach`` is the pose (x, y, heading) the robot drives to in order to reach it: free of
    collisions and within :data:`REACH` of its footprint.
    """

    id: str
    category: str
    room: str
    bounds: Bounds
    height: float
    colour: str
    container: bool = False
    surface: bool = True
    open: bool = False
    approach: tuple[float, float, float] | None = None

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.bounds
        return (0.5 * (x0 + x1), 0.5 * (y0 + y1))

    @property
    def inner_height(self) -> float:
        """Height of the shelf that objects inside a container stand on."""
        return round(0.35 * self.height, 3)

    @property
    def name(self) -> str:
        return catalog.display_name(self.category)


@dataclass(kw_only=True)
class WorldObject:
    """A movable object.

    ``relation`` says where it is: ``on`` / ``in`` a furniture ``support``, on the ``floor``, or
    ``held`` by the robot. ``position`` is its centre in the plane; ``z`` the height of its base.
    """

    id: str
    category: str
    colour: str
    size: str
    relation: str
    support: str | None
    position: tuple[float, float]
    z: float = 0.0

    @property
    def spec(self) -> catalog.ObjectSpec:
        return catalog.OBJECTS[self.category]

    @property
    def radius(self) -> float:
        return self.spec.radius * catalog.SIZES[self.size]

    @property
    def height(self) -> float:
        return self.spec.height * catalog.SIZES[self.size]

    def describe(self, *, colour: bool = True, size: bool = False) -> str:
        words = ([self.size] if size else []) + ([self.colour] if colour else [])
        return " ".join(words + [self.category])


@dataclass(kw_only=True)
class Robot:
    """The robot's pose and what its gripper holds."""

    x: float
    y: float
    theta: float = 0.0
    holding: str | None = None

    @property
    def pose(self) -> tuple[float, float, float]:
        return (self.x, self.y, self.theta)


@dataclass(kw_only=True)
class Appearance:
    """Per-world rendering variation: light level, ambient share, colour tint and textures."""

    light: float = 1.0
    ambient: float = 0.45
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    wall_texture: int = 0
    floor_texture: int = 0
    wall_colour: tuple[int, int, int] = (200, 195, 185)
    floor_colour: tuple[int, int, int] = (150, 130, 105)


@dataclass(kw_only=True)
class World:
    """A whole household. See the module docstring for the frame and ``docs/world.md``."""

    rooms: list[Room]
    doors: list[Door]
    walls: list[tuple[float, float, float, float]]
    furniture: list[Furniture]
    objects: list[WorldObject]
    robot: Robot
    appearance: Appearance = field(default_factory=Appearance)
    seed: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        self._index: dict[str, Any] = {}
        self.reindex()

    # ----------------------------------------------------------------- lookup
    def reindex(self) -> None:
        """Rebuild the id index (call after adding or removing entities)."""
        index: dict[str, Any] = {}
        for group in (self.rooms, self.doors, self.furniture, self.objects):
            for ent in group:
                if ent.id in index:
                    raise ValueError(f"duplicate id {ent.id!r} in world")
                index[ent.id] = ent
        self._index = index

    def entity(self, entity_id: str) -> Room | Door | Furniture | WorldObject:
        """The room, door, furniture or object with this id (KeyError naming it otherwise)."""
        try:
            return self._index[entity_id]
        except KeyError:
            raise KeyError(f"no entity {entity_id!r} in this world") from None

    def has(self, entity_id: str) -> bool:
        return entity_id in self._index

    def room(self, room_id: str) -> Room:
        ent = self.entity(room_id)
        if not isinstance(ent, Room):
            raise KeyError(f"{room_id!r} is not a room")
        return ent

    def furniture_by_id(self, furniture_id: str) -> Furniture:
        ent = self.entity(furniture_id)
        if not isinstance(ent, Furniture):
            raise KeyError(f"{furniture_id!r} is not a piece of furniture")
        return ent

    def object_by_id(self, object_id: str) -> WorldObject:
        ent = self.entity(object_id)
        if not isinstance(ent, WorldObject):
            raise KeyError(f"{object_id!r} is not an object")
        return ent

    def room_at(self, x: float, y: float) -> Room | None:
        """The room containing the point, or None (outside / inside a wall)."""
        for room in self.rooms:
            if room.contains(x, y):
                return room
        return None

    def objects_at(self, furniture_id: str) -> list[WorldObject]:
        """Objects on or in a piece of furniture."""
        return [o for o in self.objects if o.support == furniture_id]

    def bounds(self) -> Bounds:
        xs = [r.bounds[0] for r in self.rooms] + [r.bounds[2] for r in self.rooms]
        ys = [r.bounds[1] for r in self.rooms] + [r.bounds[3] for r in self.rooms]
        return (min(xs), min(ys), max(xs), max(ys))

    # ---------------------------------------------------------------- geometry
    def wall_segments(self) -> np.ndarray:
        """Walls as an (N, 4) float array of segments ``x0, y0, x1, y1``."""
        return np.asarray(self.walls, dtype=np.float64).reshape(-1, 4)

    def furniture_boxes(self) -> np.ndarray:
        """Furniture footprints as an (N, 4) float array ``x0, y0, x1, y1``."""
        return np.asarray([f.bounds for f in self.furniture], dtype=np.float64).reshape(-1, 4)

    def distance_to_furniture(self, x: float, y: float, furniture_id: str) -> float:
        """Distance from a point to a furniture footprint (0 inside it)."""
        x0, y0, x1, y1 = self.furniture_by_id(furniture_id).bounds
        dx = max(x0 - x, 0.0, x - x1)
        dy = max(y0 - y, 0.0, y - y1)
        return math.hypot(dx, dy)

    def within_reach(self, furniture_id: str, pose: tuple[float, ...] | None = None) -> bool:
        """Whether the robot (or ``pose``) can reach a furniture footprint with its gripper."""
        x, y = (pose[0], pose[1]) if pose is not None else (self.robot.x, self.robot.y)
        return self.distance_to_furniture(x, y, furniture_id) <= REACH + 1e-6

    def visible_objects(self) -> list[WorldObject]:
        """Objects not hidden inside a closed container (and not held)."""
        out = []
        for o in self.objects:
            if o.relation == "in" and o.support and not self.furniture_by_id(o.support).open:
                continue
            if o.relation == "held":
                continue
            out.append(o)
        return out

    # ------------------------------------------------------------- vocabulary
    def vocabulary(self) -> dict[str, dict[str, str]]:
        """Names of this world's entities, for speech grounding and prompts.

        Returns ``{"rooms": {id: name}, "furniture": {id: "name in room"},
        "objects": {id: "size colour category"}}``.
        """
        return {
            "rooms": {r.id: catalog.display_name(r.id) for r in self.rooms},
            "furniture": {
                f.id: f"{f.name} in the {catalog.display_name(f.room)}" for f in self.furniture
            },
            "objects": {o.id: o.describe(colour=True, size=True) for o in self.objects},
        }

    # -------------------------------------------------------------------- copy
    def copy(self) -> World:
        """A deep copy (worlds are mutated by simulation)."""
        return World.from_dict(self.to_dict())

    # --------------------------------------------------------------------- I/O
    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready document (see ``docs/world.md``)."""
        a = self.appearance
        return {
            "format": WORLD_FORMAT,
            "version": WORLD_VERSION,
            "name": self.name,
            "seed": self.seed,
            "rooms": [{"id": r.id, "type": r.type, "bounds": list(r.bounds)} for r in self.rooms],
            "doors": [
                {"id": d.id, "rooms": list(d.rooms), "a": list(d.a), "b": list(d.b)}
                for d in self.doors
            ],
            "walls": [list(w) for w in self.walls],
            "furniture": [
                {
                    "id": f.id,
                    "category": f.category,
                    "room": f.room,
                    "bounds": list(f.bounds),
                    "height": f.height,
                    "colour": f.colour,
                    "container": f.container,
                    "surface": f.surface,
                    "open": f.open,
                    **({"approach": list(f.approach)} if f.approach is not None else {}),
                }
                for f in self.furniture
            ],
            "objects": [
                {
                    "id": o.id,
                    "category": o.category,
                    "colour": o.colour,
                    "size": o.size,
                    "relation": o.relation,
                    "support": o.support,
                    "position": list(o.position),
                    "z": o.z,
                }
                for o in self.objects
            ],
            "robot": {
                "pose": [self.robot.x, self.robot.y, self.robot.theta],
                "holding": self.robot.holding,
            },
            "appearance": {
                "light": a.light,
                "ambient": a.ambient,
                "tint": list(a.tint),
                "wall_texture": a.wall_texture,
                "floor_texture": a.floor_texture,
                "wall_colour": list(a.wall_colour),
                "floor_colour": list(a.floor_colour),
            },
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any], *, source: str = "<memory>") -> World:
        """Build a world from its JSON document, validating schema and consistency.

        Raises:
            InvalidFileError: naming the JSON path of the first problem.
        """
        from embodied_collab.sim.files import check_schema, check_world_consistency

        check_schema(doc, "world", source=source)
        rooms = [Room(id=r["id"], type=r["type"], bounds=tuple(r["bounds"])) for r in doc["rooms"]]
        doors = [
            Door(id=d["id"], rooms=tuple(d["rooms"]), a=tuple(d["a"]), b=tuple(d["b"]))
            for d in doc.get("doors", [])
        ]
        furniture = []
        for f in doc["furniture"]:
            spec = catalog.FURNITURE[f["category"]]
            furniture.append(
                Furniture(
                    id=f["id"],
                    category=f["category"],
                    room=f["room"],
                    bounds=tuple(f["bounds"]),
                    height=float(f.get("height", spec.height)),
                    colour=f.get("colour", "oak"),
                    container=bool(f.get("container", spec.container)),
                    surface=bool(f.get("surface", spec.surface)),
                    open=bool(f.get("open", False)),
                    approach=tuple(f["approach"]) if f.get("approach") is not None else None,
                )
            )
        objects = [
            WorldObject(
                id=o["id"],
                category=o["category"],
                colour=o["colour"],
                size=o.get("size", "small"),
                relation=o["relation"],
                support=o.get("support"),
                position=tuple(o["position"]),
                z=float(o.get("z", 0.0)),
            )
            for o in doc["objects"]
        ]
        r = doc["robot"]
        robot = Robot(x=r["pose"][0], y=r["pose"][1], theta=r["pose"][2], holding=r.get("holding"))
        ap = doc.get("appearance", {})
        appearance = Appearance(
            light=ap.get("light", 1.0),
            ambient=ap.get("ambient", 0.45),
            tint=tuple(ap.get("tint", (1.0, 1.0, 1.0))),
            wall_texture=ap.get("wall_texture", 0),
            floor_texture=ap.get("floor_texture", 0),
            wall_colour=tuple(ap.get("wall_colour", (200, 195, 185))),
            floor_colour=tuple(ap.get("floor_colour", (150, 130, 105))),
        )
        try:
            world = cls(
                rooms=rooms,
                doors=doors,
                walls=[tuple(w) for w in doc["walls"]],
                furniture=furniture,
                objects=objects,
                robot=robot,
                appearance=appearance,
                seed=doc.get("seed"),
                name=doc.get("name", ""),
            )
        except ValueError as exc:
            raise InvalidFileError(str(exc), path=source) from exc
        check_world_consistency(world, source=source)
        for f in world.furniture:
            if f.approach is None:
                from embodied_collab.sim.navgrid import NavGrid

                NavGrid(world).assign_approaches()
                break
        return world

    @classmethod
    def load(cls, path: str | Path) -> World:
        """Load a world JSON file (errors name the file and the JSON path)."""
        from embodied_collab.sim.files import read_json

        path = Path(path)
        return cls.from_dict(read_json(path), source=str(path))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))
