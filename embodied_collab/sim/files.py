"""Reading and validating world and suite files against the JSON Schemas shipped in the package.

Errors name the file and the JSON path of the first problem (``$.tasks[3].success``), both for
schema violations and for consistency checks the schema cannot express (ids that must refer to
existing entities, bounds that must be ordered, objects that must sit on their support).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embodied_collab.errors import InvalidFileError

if TYPE_CHECKING:
    from embodied_collab.sim.world import World

SCHEMAS = ("world", "suite")


@functools.cache
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema document ``name`` (``world`` or ``suite``)."""
    if name not in SCHEMAS:
        raise ValueError(f"unknown schema {name!r}; known: {SCHEMAS}")
    text = resources.files("embodied_collab.sim").joinpath(f"schemas/{name}.schema.json").read_text()
    return json.loads(text)


@functools.cache
def _validator(name: str):
    import jsonschema

    return jsonschema.Draft202012Validator(schema(name))


def json_path(parts) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def check_schema(doc: Any, name: str, *, source: str = "<memory>", prefix: str = "$") -> None:
    """Raise :class:`InvalidFileError` for the first schema violation of ``doc``."""
    errors = sorted(_validator(name).iter_errors(doc), key=lambda e: (len(e.path), list(map(str, e.path))))
    if not errors:
        return
    err = errors[0]
    # oneOf/anyOf failures: report the most specific sub-error
    while err.context:
        err = sorted(err.context, key=lambda e: -len(e.path))[0]
    path = json_path(err.absolute_path)
    if prefix != "$":
        path = prefix + path[1:]
    raise InvalidFileError(err.message, path=source, json_path=path)


def read_json(path: Path) -> Any:
    """Parse a JSON file; a missing or malformed file raises :class:`InvalidFileError`."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InvalidFileError("file not found", path=str(path)) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InvalidFileError(f"cannot read: {exc}", path=str(path)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidFileError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", path=str(path)
        ) from None


def _ordered(b, where: str, source: str) -> None:
    if not (b[0] < b[2] and b[1] < b[3]):
        raise InvalidFileError(
            f"bounds {list(b)} must be [x0, y0, x1, y1] with x0 < x1 and y0 < y1",
            path=source,
            json_path=where,
        )


def check_world_consistency(world: World, *, source: str = "<memory>") -> None:
    """Cross-references and geometry the schema cannot check."""
    room_ids = {r.id for r in world.rooms}
    furn = {f.id: f for f in world.furniture}
    for i, r in enumerate(world.rooms):
        _ordered(r.bounds, f"$.rooms[{i}].bounds", source)
    for i, d in enumerate(world.doors):
        for j, rid in enumerate(d.rooms):
            if rid not in room_ids:
                raise InvalidFileError(
                    f"door refers to unknown room {rid!r}", path=source, json_path=f"$.doors[{i}].rooms[{j}]"
                )
    for i, f in enumerate(world.furniture):
        _ordered(f.bounds, f"$.furniture[{i}].bounds", source)
        if f.room not in room_ids:
            raise InvalidFileError(
                f"furniture {f.id!r} is in unknown room {f.room!r}", path=source,
                json_path=f"$.furniture[{i}].room",
            )
        if f.open and not f.container:
            raise InvalidFileError(
                f"{f.id!r} is open but not a container", path=source, json_path=f"$.furniture[{i}].open"
            )
    held = [o.id for o in world.objects if o.relation == "held"]
    for i, o in enumerate(world.objects):
        where = f"$.objects[{i}]"
        if o.relation in ("on", "in"):
            if o.support not in furn:
                raise InvalidFileError(
                    f"object {o.id!r} is {o.relation} unknown furniture {o.support!r}",
                    path=source, json_path=where + ".support",
                )
            f = furn[o.support]
            if o.relation == "in" and not f.container:
                raise InvalidFileError(
                    f"object {o.id!r} is in {f.id!r}, which is not a container",
                    path=source, json_path=where + ".relation",
                )
            if o.relation == "on" and not f.surface:
                raise InvalidFileError(
                    f"object {o.id!r} is on {f.id!r}, which has no surface to stand on",
                    path=source, json_path=where + ".relation",
                )
        elif o.support is not None:
            raise InvalidFileError(
                f"object {o.id!r} with relation {o.relation!r} must have support null",
                path=source, json_path=where + ".support",
            )
    if world.robot.holding is not None:
        if world.robot.holding not in {o.id for o in world.objects}:
            raise InvalidFileError(
                f"robot holds unknown object {world.robot.holding!r}", path=source,
                json_path="$.robot.holding",
            )
        if held != [world.robot.holding]:
            raise InvalidFileError(
                "the held object must have relation 'held' (and only it)", path=source,
                json_path="$.robot.holding",
            )
    elif held:
        raise InvalidFileError(
            f"objects {held} are 'held' but the robot holds nothing", path=source,
            json_path="$.robot.holding",
        )
