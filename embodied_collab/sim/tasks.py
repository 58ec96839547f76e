"""Tasks and task suites: an instruction, the world it is set in, and a success predicate.

Success predicates are small JSON trees evaluated on the final world state::

    {"holding": "cup_1"}            the robot holds cup_1
    {"on": ["cup_1", "table_2"]}    cup_1 stands on table_2
    {"in": ["cup_1", "fridge_1"]}   cup_1 is inside fridge_1
    {"robot_in": "kitchen"}         the robot is in the kitchen
    {"robot_at": "table_2"}         the robot is within reach of table_2
    {"open": "fridge_1"}            fridge_1 is open
    {"all": [...]}, {"any": [...]}, {"not": {...}}

A suite file (format ``embodied_collab.suite``, schema ``suite.schema.json``) lists tasks, each
set in a world given inline (``world``), by file (``world_file``) or by generator seed
(``world_seed``: the world :func:`embodied_collab.sim.generate.generate_world` builds from it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embodied_collab.errors import InvalidFileError
from embodied_collab.sim.world import World

SUITE_FORMAT = "embodied_collab.suite"
SUITE_VERSION = 1

Predicate = dict[str, Any]


def evaluate(pred: Predicate, world: World) -> bool:
    """Whether ``pred`` holds in ``world``."""
    (key, arg), = pred.items()
    if key == "all":
        return all(evaluate(p, world) for p in arg)
    if key == "any":
        return any(evaluate(p, world) for p in arg)
    if key == "not":
        return not evaluate(arg, world)
    if key == "holding":
        return world.robot.holding == arg
    if key in ("on", "in"):
        obj = world.object_by_id(arg[0])
        return obj.relation == key and obj.support == arg[1]
    if key == "robot_in":
        room = world.room_at(world.robot.x, world.robot.y)
        return room is not None and room.id == arg
    if key == "robot_at":
        return world.within_reach(arg)
    if key == "open":
        return world.furniture_by_id(arg).open
    raise ValueError(f"unknown predicate {key!r}")


def referenced_ids(pred: Predicate) -> list[str]:
    """Every entity id a predicate mentions (for consistency checks)."""
    (key, arg), = pred.items()
    if key in ("all", "any"):
        return [i for p in arg for i in referenced_ids(p)]
    if key == "not":
        return referenced_ids(arg)
    return list(arg) if isinstance(arg, list) else [arg]


@dataclass(frozen=True)
class Goal:
    """The fetch-and-place reading of a predicate: move ``object`` ``relation`` ``target``.

    ``relation`` is ``holding`` (target None), ``on`` or ``in``.
    """

    object: str
    relation: str
    target: str | None


def goal_of(pred: Predicate) -> Goal | None:
    """The object-rearrangement goal a predicate expresses, or None if it is not one."""
    (key, arg), = pred.items()
    if key == "holding":
        return Goal(arg, "holding", None)
    if key in ("on", "in"):
        return Goal(arg[0], key, arg[1])
    if key == "all":
        goals = [g for g in (goal_of(p) for p in arg) if g is not None]
        return goals[0] if len(goals) == 1 else None
    return None


@dataclass(kw_only=True)
class Task:
    """One task: ``instruction`` to carry out in ``world``; done when ``success`` holds."""

    id: str
    instruction: str
    success: Predicate
    difficulty: str | None = None
    world_seed: int | None = None
    world_doc: dict[str, Any] | None = None
    world_file: str | None = None
    _world: World | None = field(default=None, repr=False)

    def world(self) -> World:
        """A fresh copy of the task's initial world (safe to mutate)."""
        if self._world is None:
            if self.world_doc is not None:
                self._world = World.from_dict(self.world_doc, source=f"task {self.id}")
            elif self.world_file is not None:
                self._world = World.load(self.world_file)
            elif self.world_seed is not None:
                from embodied_collab.sim.generate import generate_world

                self._world = generate_world(self.world_seed)
            else:
                raise InvalidFileError(f"task {self.id!r} has no world")
        return self._world.copy()

    @property
    def goal(self) -> Goal | None:
        return goal_of(self.success)

    def is_success(self, world: World) -> bool:
        return evaluate(self.success, world)

    def to_dict(self, *, relative_to: Path | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "instruction": self.instruction}
        if self.difficulty is not None:
            d["difficulty"] = self.difficulty
        if self.world_seed is not None:
            d["world_seed"] = self.world_seed
        elif self.world_doc is not None:
            d["world"] = self.world_doc
        elif self.world_file is not None:
            wf = Path(self.world_file)
            if relative_to is not None:
                try:
                    wf = wf.resolve().relative_to(relative_to.resolve())
                except ValueError:
                    pass
            d["world_file"] = str(wf)
        d["success"] = self.success
        return d


@dataclass(kw_only=True)
class Suite:
    """A named list of tasks (a benchmark or a training set)."""

    tasks: list[Task]
    name: str = ""
    description: str = ""

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self):
        return iter(self.tasks)

    def to_dict(self, *, relative_to: Path | None = None) -> dict[str, Any]:
        return {
            "format": SUITE_FORMAT,
            "version": SUITE_VERSION,
            "name": self.name,
            "description": self.description,
            "tasks": [t.to_dict(relative_to=relative_to) for t in self.tasks],
        }

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(relative_to=path.parent), indent=1) + "\n")

    @classmethod
    def from_dict(cls, doc: Any, *, source: str = "<memory>", base_dir: Path | None = None,
                  check_worlds: bool = True) -> Suite:
        """Build and validate a suite (schema, worlds, predicate ids).

        Raises:
            InvalidFileError: naming the JSON path of the first problem.
        """
        from embodied_collab.sim.files import check_schema

        check_schema(doc, "suite", source=source)
        tasks = []
        seen: set[str] = set()
        for i, t in enumerate(doc["tasks"]):
            where = f"$.tasks[{i}]"
            if t["id"] in seen:
                raise InvalidFileError(f"duplicate task id {t['id']!r}", path=source,
                                       json_path=where + ".id")
            seen.add(t["id"])
            if "world" in t:
                check_schema(t["world"], "world", source=source, prefix=where + ".world")
            world_file = None
            if "world_file" in t:
                world_file = str((base_dir or Path(".")) / t["world_file"])
                if not Path(world_file).is_file():
                    raise InvalidFileError(f"world file {t['world_file']!r} not found",
                                           path=source, json_path=where + ".world_file")
            task = Task(
                id=t["id"],
                instruction=t["instruction"],
                success=t["success"],
                difficulty=t.get("difficulty"),
                world_seed=t.get("world_seed"),
                world_doc=t.get("world"),
                world_file=world_file,
            )
            if check_worlds:
                try:
                    world = task.world()
                except InvalidFileError as exc:
                    raise InvalidFileError(str(exc.args[0]).split(": ", 2)[-1], path=source,
                                           json_path=where + ".world" + exc.json_path[1:]) from None
                for ref in referenced_ids(task.success):
                    if not world.has(ref):
                        raise InvalidFileError(
                            f"success predicate names {ref!r}, which is not in the task's world",
                            path=source, json_path=where + ".success",
                        )
            tasks.append(task)
        return cls(tasks=tasks, name=doc.get("name", ""), description=doc.get("description", ""))

    @classmethod
    def load(cls, path: str | Path, *, check_worlds: bool = True) -> Suite:
        from embodied_collab.sim.files import read_json

        path = Path(path)
        return cls.from_dict(read_json(path), source=str(path), base_dir=path.parent,
                             check_worlds=check_worlds)
