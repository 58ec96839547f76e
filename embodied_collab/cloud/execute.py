"""From a validated skill plan to the planning environment's high-level actions.

The planning environment speaks ``navigate <id>``, ``open <id>``, ``pick <id>``,
``place <id>`` and ``done``. Most skills map one to one; ``search`` expands into visiting
candidate furniture (opening closed containers) until the object is seen, and a ``pick`` that
names a description is resolved to the object seen at the robot's position. ``say`` and
``wait`` do not change the world and produce no action.
"""

from __future__ import annotations

from typing import Any

from embodied_collab.cloud.validate import matches, parse_description
from embodied_collab.errors import InvalidActionError
from embodied_collab.sim.world import World


def _search_order(world: World, at: str | None) -> list[str]:
    """Furniture to visit when searching: where the robot is first, then room by room."""
    here = None
    if at is not None and world.has(at):
        ent = world.entity(at)
        here = getattr(ent, "room", None) or (ent.id if hasattr(ent, "bounds") else None)
    elif world.room_at(world.robot.x, world.robot.y) is not None:
        here = world.room_at(world.robot.x, world.robot.y).id
    order = sorted(world.furniture, key=lambda f: (f.room != here, f.room, not f.container))
    return [f.id for f in order]


def plan_to_actions(plan: list[dict[str, Any]], world: World) -> list[str]:
    """High-level actions carrying out ``plan`` (validated) in ``world``, ending with ``done``.

    ``search`` looks where a robot would look: it visits furniture (opening closed containers)
    and stops at the first place where an object fitting the description is seen; what is
    "seen" is read from ``world``, as the robot's camera would report it.

    Raises:
        InvalidActionError: a step cannot be mapped (e.g. the searched object is nowhere).
    """
    actions: list[str] = []
    opened = {f.id for f in world.furniture if f.open}
    at: str | None = None
    seen: str | None = None  # object id found by the last search
    for i, step in enumerate(plan, 1):
        skill, args = step["skill"], step["args"]
        if skill == "navigate":
            at, seen = args["target"], None
            actions.append(f"navigate {at}")
        elif skill == "open":
            actions.append(f"open {args['target']}")
            opened.add(args["target"])
        elif skill == "place":
            actions.append(f"place {args['target']}")
        elif skill == "pick":
            ref = args["object"]
            if world.has(ref):
                obj_id = ref
            elif seen is not None:
                obj_id = seen
            else:
                desc = parse_description(ref) or {}
                here = [o for o in world.objects if o.support == at and matches(o, desc)]
                if not here:
                    raise InvalidActionError(f"step {i}: no {ref!r} at {at!r} to pick")
                obj_id = here[0].id
            actions.append(f"pick {obj_id}")
        elif skill == "search":
            desc = parse_description(args["object"]) or {}
            seen = None
            for fid in _search_order(world, at):
                f = world.furniture_by_id(fid)
                actions.append(f"navigate {fid}")
                at = fid
                if f.container and fid not in opened:
                    actions.append(f"open {fid}")
                    opened.add(fid)
                hits = [o for o in world.objects if o.support == fid and matches(o, desc)]
                if hits:
                    seen = hits[0].id
                    break
            if seen is None:
                raise InvalidActionError(f"step {i}: {args['object']!r} is nowhere in the house")
        # say / wait: no world change, no planning action
    actions.append("done")
    return actions
