"""The scene-graph view of a world under partial observability (as in SmallPlan's object search).

Nodes are rooms, furniture and objects; edges say which rooms a door joins, which room a piece
of furniture stands in, which furniture an object is on or in, where the robot is and what it
holds. The furniture layout is known from the map; objects are unknown until seen: arriving in
a room (or at a piece of furniture in it) reveals the objects on its open surfaces and inside its
open containers, and opening a container reveals what is inside. :meth:`SceneGraph.to_text` is the
compact serialisation a planner language model reads (see ``docs/world.md``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from embodied_collab.sim.world import Furniture, Room, World

#: ``robot.at`` when the robot stands where the episode started (not at a named place).
START = "start"


class SceneGraph:
    """What the robot knows about a world: the map, observed objects and its own place.

    The graph reads physical state (object supports, open doors of containers, what the robot
    holds) from ``world`` each time, so mutate the world and the graph stays current; only the
    observation state (explored rooms, observed objects, the robot's place) lives here.

    Args:
        world: the world (ground truth).
        observed: ids of objects already observed.
        explored: ids of rooms already explored.
        at: the robot's place (a room or furniture id), or ``None`` for its start pose.
        cache_text: keep each room's line of :meth:`to_text` until :meth:`invalidate` is called
            for that room (or the graph's own observe methods change it). Only for owners that
            report every change they make to the world, like the planning environment.
    """

    def __init__(
        self,
        world: World,
        *,
        observed: Iterable[str] = (),
        explored: Iterable[str] = (),
        at: str | None = None,
        cache_text: bool = False,
    ) -> None:
        self.world = world
        self.cache_text = cache_text
        self._lines: dict[str, str] = {}
        self.observed: set[str] = set(observed)
        self.explored: set[str] = set(explored)
        self.at: str | None = None
        self._room_of: dict[str, str] = {f.id: f.room for f in world.furniture}
        self._furniture_in: dict[str, list[Furniture]] = {r.id: [] for r in world.rooms}
        for f in world.furniture:
            self._furniture_in[f.room].append(f)
        self._doors = sorted({tuple(sorted(d.rooms)) for d in world.doors})
        self._layout_line = "doors: " + ", ".join(f"{a}-{b}" for a, b in self._doors)
        if at is not None:
            self.move_to(at, observe=False)

    # ------------------------------------------------------------ observation
    @classmethod
    def fully_observed(cls, world: World, at: str | None = None) -> SceneGraph:
        """A graph where every room is explored and every object observed (privileged view)."""
        return cls(world, observed=[o.id for o in world.objects],
                   explored=[r.id for r in world.rooms], at=at)

    def room_of(self, place: str) -> str:
        """The room a place (room or furniture id) belongs to."""
        if place in self._furniture_in:
            return place
        try:
            return self._room_of[place]
        except KeyError:
            raise KeyError(f"{place!r} is not a room or furniture of this world") from None

    def robot_room(self) -> str | None:
        """The room the robot is in (from its pose when it stands at its start)."""
        if self.at is not None:
            return self.room_of(self.at)
        room = self.world.room_at(self.world.robot.x, self.world.robot.y)
        return room.id if room is not None else None

    def _visible(self, obj) -> bool:
        if obj.relation == "on":
            return True
        if obj.relation == "in":
            return self.world.furniture_by_id(obj.support).open
        return obj.relation == "floor"

    def _obj_room(self, obj) -> str | None:
        if obj.support is not None:
            return self._room_of.get(obj.support)
        if obj.relation == "floor":
            room = self.world.room_at(*obj.position)
            return room.id if room else None
        return None

    def invalidate(self, room_id: str | None = None) -> None:
        """Forget the cached text of one room (or of all rooms)."""
        if room_id is None:
            self._lines.clear()
        else:
            self._lines.pop(room_id, None)

    def observe_room(self, room_id: str) -> list[str]:
        """Explore a room: observe the objects on its surfaces and in its open containers.

        Returns:
            ids of objects observed for the first time, in world order.
        """
        if room_id not in self.explored:
            self.explored.add(room_id)
            self._lines.pop(room_id, None)
        new = []
        for o in self.world.objects:
            if o.id in self.observed or not self._visible(o) or self._obj_room(o) != room_id:
                continue
            self.observed.add(o.id)
            new.append(o.id)
        if new:
            self._lines.pop(room_id, None)
        return new

    def observe_container(self, furniture_id: str) -> list[str]:
        """Observe what is inside an (open) container; returns newly observed ids."""
        f = self.world.furniture_by_id(furniture_id)
        self._lines.pop(f.room, None)
        new = []
        if not f.open:
            return new
        for o in self.world.objects:
            if o.support == furniture_id and o.id not in self.observed:
                self.observed.add(o.id)
                new.append(o.id)
        return new

    def move_to(self, place: str | None, *, observe: bool = True) -> list[str]:
        """Record that the robot now stands at ``place``; explore its room if ``observe``."""
        if place is None:
            self.at = None
            room = self.robot_room()
        else:
            room = self.room_of(place)
            self.at = place
        if observe and room is not None:
            return self.observe_room(room)
        return []

    # ------------------------------------------------------------- structure
    def nodes(self) -> list[dict[str, Any]]:
        """Every node: rooms and furniture (known from the map) and the observed objects."""
        out: list[dict[str, Any]] = []
        for r in self.world.rooms:
            out.append({"id": r.id, "kind": "room", "type": r.type,
                        "explored": r.id in self.explored})
        for f in self.world.furniture:
            node = {"id": f.id, "kind": "furniture", "category": f.category,
                    "container": f.container, "surface": f.surface}
            if f.container:
                node["open"] = f.open
            out.append(node)
        for o in self.world.objects:
            if o.id in self.observed:
                out.append({"id": o.id, "kind": "object", "category": o.category,
                            "colour": o.colour, "size": o.size})
        return out

    def edges(self) -> list[tuple[str, str, str]]:
        """``(source, relation, target)`` triples: ``door``, ``in_room``, ``on``/``in``,
        ``at`` and ``holding`` (the robot is the source ``robot``)."""
        out: list[tuple[str, str, str]] = [(a, "door", b) for a, b in self._doors]
        out += [(f.id, "in_room", f.room) for f in self.world.furniture]
        for o in self.world.objects:
            if o.id in self.observed and o.relation in ("on", "in"):
                out.append((o.id, o.relation, o.support))
            elif o.id in self.observed and o.relation == "floor":
                room = self._obj_room(o)
                if room is not None:
                    out.append((o.id, "on_floor", room))
        out.append(("robot", "at", self.at or START))
        if self.world.robot.holding is not None:
            out.append(("robot", "holding", self.world.robot.holding))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"nodes", "edges", "robot": {"at", "room", "holding"}}``."""
        return {
            "nodes": self.nodes(),
            "edges": [list(e) for e in self.edges()],
            "robot": {"at": self.at or START, "room": self.robot_room(),
                      "holding": self.world.robot.holding},
        }

    # ------------------------------------------------------------------ text
    def to_text(self) -> str:
        """A compact, deterministic serialisation (no instruction), one line per room.

        Example::

            kitchen explored: counter_1 [small red cup_1]; fridge_1 closed; cabinet_1 open []
            living_room unexplored: sofa_1; table_1
            doors: kitchen-living_room
            robot: at counter_1 in kitchen, holding nothing

        Objects are listed after their furniture once observed (``(in)`` marks the inside of a
        container); furniture of an explored room with no object shows ``[]``.
        """
        world = self.world
        lines = []
        for room in world.rooms:
            line = self._lines.get(room.id) if self.cache_text else None
            if line is None:
                line = self._room_line(room)
                if self.cache_text:
                    self._lines[room.id] = line
            lines.append(line)
        lines.append(self._layout_line)
        holding = world.robot.holding
        held = "nothing"
        if holding is not None:
            o = world.object_by_id(holding)
            held = f"{o.size} {o.colour} {o.id}"
        lines.append(f"robot: at {self.at or START} in {self.robot_room()}, holding {held}")
        return "\n".join(lines)

    def _room_line(self, room: Room) -> str:
        by_support: dict[str, list[str]] = {}
        floor: list[str] = []
        for o in self.world.objects:
            if o.id not in self.observed or o.relation == "held":
                continue
            where = self._room_of.get(o.support) if o.support else self._obj_room(o)
            if where != room.id:
                continue
            words = f"{o.size} {o.colour} {o.id}"
            if o.relation == "in":
                words += " (in)"
            if o.support is not None:
                by_support.setdefault(o.support, []).append(words)
            else:
                floor.append(words)
        explored = room.id in self.explored
        parts = []
        for f in self._furniture_in[room.id]:
            s = f.id
            if f.container:
                s += " open" if f.open else " closed"
            objs = by_support.get(f.id)
            if objs:
                s += " [" + ", ".join(objs) + "]"
            elif explored and (f.surface or f.open):
                s += " []"
            parts.append(s)
        if floor:
            parts.append("floor [" + ", ".join(floor) + "]")
        return f"{room.id} {'explored' if explored else 'unexplored'}: " + "; ".join(parts)
