"""Skill plans: their data type, the JSON schema the LLM must follow, and the validator.

A plan is data, never code: every step names a skill from the allow-list
(:data:`embodied_collab.sim.catalog.SKILLS`) with exactly that skill's arguments, and every
argument is checked against the world (the ids exist, containers are opened before use, the
robot is next to what it picks or places, ...). Anything else is refused with a list of errors
that names each bad step, so the decomposer can send the errors back to the LLM for repair.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from embodied_collab.sim import catalog
from embodied_collab.sim.world import World

#: Arguments of each skill: name -> kind ("place", "container", "furniture", "object", "text",
#: "seconds", "description").
SKILL_ARGS: dict[str, dict[str, str]] = {
    "navigate": {"target": "place"},
    "search": {"object": "description"},
    "open": {"target": "container"},
    "pick": {"object": "object"},
    "place": {"target": "furniture"},
    "say": {"text": "text"},
    "wait": {"seconds": "seconds"},
}
assert set(SKILL_ARGS) == set(catalog.SKILLS), "SKILL_ARGS must cover catalog.SKILLS exactly"

MAX_TEXT = 300
MAX_WAIT_S = 600.0


@dataclass
class Step:
    """One plan step: an allowed skill and its arguments."""

    skill: str
    args: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"skill": self.skill, "args": dict(self.args)}

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.skill}({inner})"


def plan_to_dicts(steps: list[Step]) -> list[dict[str, Any]]:
    """JSON-ready form of a plan: ``[{"skill": ..., "args": {...}}, ...]``."""
    return [s.to_dict() for s in steps]


def visible_object_ids(world: World) -> list[str]:
    """Objects the robot can know about (not hidden in a closed container, not held)."""
    return [o.id for o in world.visible_objects()]


def parse_description(text: str) -> dict[str, str] | None:
    """``"small red cup"`` -> ``{"size": "small", "colour": "red", "category": "cup"}``.

    Returns None when no object category of the catalog is named.
    """
    out: dict[str, str] = {}
    for word in text.lower().replace("_", " ").replace(",", " ").split():
        w = word[:-1] if word.endswith("s") and word[:-1] in catalog.OBJECTS else word
        if w in catalog.OBJECTS:
            out["category"] = w
        elif w in catalog.COLOURS:
            out["colour"] = w
        elif w in catalog.SIZES:
            out["size"] = w
    return out if "category" in out else None


def matches(obj: Any, desc: dict[str, str]) -> bool:
    """Whether a world object fits a parsed description."""
    return all(getattr(obj, k) == v for k, v in desc.items())


@dataclass
class _State:
    at: str | None
    opened: set[str]
    holding: str | None
    found: list[dict[str, str]] = field(default_factory=list)  # descriptions searched for


def normalize_steps(data: Any) -> Any:
    """The steps of a decoded reply, compact ``[skill, argument]`` pairs turned into
    ``{"skill", "args"}`` objects (anything else is passed through for the checks to name)."""
    if isinstance(data, dict) and "steps" in data:
        data = data["steps"]
    if not isinstance(data, list):
        return data
    out = []
    for raw in data:
        if (
            isinstance(raw, list)
            and len(raw) == 2
            and isinstance(raw[0], str)
            and raw[0] in SKILL_ARGS
        ):
            raw = {"skill": raw[0], "args": {next(iter(SKILL_ARGS[raw[0]])): raw[1]}}
        elif isinstance(raw, list) and raw and isinstance(raw[0], str):
            raw = {"skill": raw[0], "args": {f"arg{i}": v for i, v in enumerate(raw[1:], 1)}}
        out.append(raw)
    return out


def parse_steps(data: Any, *, max_steps: int = 16) -> tuple[list[Step], list[str]]:
    """Structural check of LLM output (already JSON-decoded) into steps, plus errors.

    Steps may be objects ``{"skill": ..., "args": {...}}`` or compact pairs
    ``[skill, argument]``.
    """
    errors: list[str] = []
    data = normalize_steps(data)
    if not isinstance(data, list):
        return [], ['the reply must be a JSON object {"steps": [[skill, argument], ...]}']
    if not data:
        return [], ["the plan is empty: give at least one step"]
    if len(data) > max_steps:
        errors.append(f"the plan has {len(data)} steps; at most {max_steps} are allowed")
    steps: list[Step] = []
    for i, raw in enumerate(data[:max_steps], 1):
        if not isinstance(raw, dict) or not isinstance(raw.get("skill"), str):
            errors.append(f"step {i}: must be a pair [skill, argument]")
            continue
        skill = raw["skill"]
        args = raw.get("args", {k: v for k, v in raw.items() if k != "skill"})
        if skill not in SKILL_ARGS:
            errors.append(
                f"step {i}: skill {skill!r} is not allowed; allowed skills: "
                f"{', '.join(SKILL_ARGS)}"
            )
            continue
        if not isinstance(args, dict):
            errors.append(f"step {i} ({skill}): args must be an object")
            continue
        want = set(SKILL_ARGS[skill])
        extra, missing = sorted(set(args) - want), sorted(want - set(args))
        if extra:
            errors.append(f"step {i} ({skill}): unexpected argument(s) {extra}")
        if missing:
            errors.append(f"step {i} ({skill}): missing argument(s) {missing}")
        if extra or missing:
            continue
        steps.append(Step(skill, dict(args)))
    return steps, errors


def validate_plan(data: Any, world: World, *, max_steps: int = 16) -> tuple[list[Step], list[str]]:
    """Check a decoded plan against the skill schema and the world.

    Args:
        data: ``{"steps": [...]}`` or a list of steps, as decoded from the LLM's JSON.
        world: the known world (ids, containers, what stands where, what the robot holds).
        max_steps: longest plan accepted.

    Returns:
        ``(steps, errors)``; the plan is valid when ``errors`` is empty.
    """
    steps, errors = parse_steps(data, max_steps=max_steps)
    if errors:
        return steps, errors
    st = _State(
        at=None,
        opened={f.id for f in world.furniture if f.open},
        holding=world.robot.holding,
    )
    for i, step in enumerate(steps, 1):
        errors.extend(f"step {i} ({step.skill}): {e}" for e in _check_step(step, world, st))
    return steps, errors


def _check_step(step: Step, world: World, st: _State) -> list[str]:  # noqa: C901
    a = step.args
    if step.skill == "navigate":
        t = a["target"]
        if not isinstance(t, str) or not world.has(t) or _kind(world, t) not in ("room", "f"):
            return [f"target {t!r} is not a room or furniture id of this world"]
        st.at = t
        return []
    if step.skill == "open":
        t = a["target"]
        if not isinstance(t, str) or _kind(world, t) != "f":
            return [f"target {t!r} is not a furniture id of this world"]
        if not world.furniture_by_id(t).container:
            return [f"{t!r} is not a container (only fridges, cabinets and dressers open)"]
        if st.at != t:
            return [f"the robot is not at {t!r}: navigate to {t!r} first"]
        st.opened.add(t)
        return []
    if step.skill == "place":
        t = a["target"]
        if not isinstance(t, str) or _kind(world, t) != "f":
            return [f"target {t!r} is not a furniture id of this world"]
        f = world.furniture_by_id(t)
        errs = []
        if st.holding is None:
            errs.append("the robot holds nothing: pick an object first")
        if st.at != t:
            errs.append(f"the robot is not at {t!r}: navigate to {t!r} first")
        if f.container and not f.surface and t not in st.opened:
            errs.append(f"{t!r} is closed: open {t!r} before placing into it")
        if not (f.surface or f.container):
            errs.append(f"nothing can be placed on {t!r}")
        if not errs:
            st.holding = None
        return errs
    if step.skill == "pick":
        return _check_pick(a["object"], world, st)
    if step.skill == "search":
        d = a["object"]
        desc = parse_description(d) if isinstance(d, str) else None
        if desc is None:
            return [f"object {d!r} names no known object kind ({', '.join(catalog.OBJECTS)})"]
        st.found.append(desc)
        st.at = "search:" + str(len(st.found))
        return []
    if step.skill == "say":
        t = a["text"]
        if not isinstance(t, str) or not t.strip():
            return ["text must be a non-empty sentence"]
        if len(t) > MAX_TEXT:
            return [f"text is {len(t)} characters long; at most {MAX_TEXT}"]
        return []
    if step.skill == "wait":
        s = a["seconds"]
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s):
            return [f"seconds must be a number, got {s!r}"]
        if not 0 < s <= MAX_WAIT_S:
            return [f"seconds must be in (0, {MAX_WAIT_S:g}], got {s!r}"]
        return []
    return [f"skill {step.skill!r} is not allowed"]  # unreachable: parse_steps filters


def _check_pick(ref: Any, world: World, st: _State) -> list[str]:
    if not isinstance(ref, str) or not ref.strip():
        return [f"object must be an object id or description, got {ref!r}"]
    errs = []
    if st.holding is not None:
        errs.append(f"the robot already holds {st.holding!r}: place it first")
    if world.has(ref):
        if _kind(world, ref) != "o":
            return errs + [f"{ref!r} is not a movable object"]
        obj = world.object_by_id(ref)
        if obj.relation == "held":
            return errs
        searched = (
            st.at is not None
            and st.at.startswith("search:")
            and matches(obj, st.found[int(st.at.split(":")[1]) - 1])
        )
        if not searched:
            if obj.support is None or st.at != obj.support:
                where = obj.support or "the floor"
                errs.append(f"{ref!r} is on/in {where!r}: navigate to {where!r} first")
            elif obj.relation == "in" and obj.support not in st.opened:
                errs.append(f"{ref!r} is inside closed {obj.support!r}: open it first")
        if not errs:
            st.holding = ref
        return errs
    desc = parse_description(ref)
    if desc is None:
        return errs + [f"object {ref!r} is neither an object id nor a description of one"]
    if st.at is not None and st.at.startswith("search:"):
        if desc.get("category") == st.found[int(st.at.split(":")[1]) - 1]["category"]:
            if not errs:
                st.holding = ref
            return errs
    here = [
        o
        for o in world.objects
        if matches(o, desc)
        and o.support == st.at
        and (o.relation != "in" or o.support in st.opened)
    ]
    if not here:
        errs.append(
            f"no {ref!r} is known at the robot's position: navigate to where it is, "
            "or search for it first"
        )
    if not errs:
        st.holding = here[0].id
    return errs


def _kind(world: World, entity_id: str) -> str:
    if not world.has(entity_id):
        return ""
    ent = world.entity(entity_id)
    return {"Room": "room", "Furniture": "f", "WorldObject": "o"}.get(type(ent).__name__, "")


def _says_into(instruction: str | None, category: str) -> bool:
    """Whether the instruction puts something *in* (not on) a piece of furniture of
    ``category`` ("in the cabinet", "into the large dresser")."""
    if not instruction:
        return False
    pattern = rf"\b(in|into|inside)\s+(the\s+)?(\w+\s+)?{re.escape(category)}s?\b"
    return re.search(pattern, instruction.lower()) is not None


def autofix(
    data: Any, world: World, *, max_steps: int = 16, instruction: str | None = None
) -> list[Step]:
    """Deterministic repair of the commonest slips: missing prerequisite steps.

    Inserts a ``navigate`` before ``open``/``pick``/``place`` when the robot is elsewhere, an
    ``open`` before picking from / placing into a closed container, and a ``search`` before
    picking (by description) an object the robot has not seen where it stands; drops arguments
    a skill does not take. Skills outside the allow-list are never touched here (they stay
    refused). The result must still pass :func:`validate_plan`. A container with a top
    (cabinet, dresser) is opened before ``place`` only when ``instruction`` puts the object
    *in* it; otherwise the object goes on top.
    """
    raw = normalize_steps(data)
    if not isinstance(raw, list):
        return []
    cleaned = []
    for s in raw:
        if (
            isinstance(s, dict)
            and s.get("skill") in SKILL_ARGS
            and isinstance(s.get("args"), dict)
        ):
            want = SKILL_ARGS[s["skill"]]
            s = {"skill": s["skill"], "args": {k: v for k, v in s["args"].items() if k in want}}
        cleaned.append(s)
    steps, errors = parse_steps(cleaned, max_steps=max_steps)
    if errors:
        return steps
    out: list[Step] = []
    at: str | None = None
    opened = {f.id for f in world.furniture if f.open}

    def goto(fid: str) -> None:
        nonlocal at
        if at != fid:
            out.append(Step("navigate", {"target": fid}))
            at = fid

    def ensure_open(fid: str) -> None:
        f = world.furniture_by_id(fid)
        if f.container and fid not in opened:
            out.append(Step("open", {"target": fid}))
            opened.add(fid)

    for step in steps:
        a = step.args
        if step.skill == "navigate":
            at = a["target"]
        elif step.skill == "search":
            at = "search"
        elif step.skill == "open" and _kind(world, a["target"]) == "f":
            goto(a["target"])
            opened.add(a["target"])
        elif step.skill == "place" and _kind(world, a["target"]) == "f":
            goto(a["target"])
            f = world.furniture_by_id(a["target"])
            if not f.surface or _says_into(instruction, f.category):
                ensure_open(a["target"])
        elif step.skill == "pick" and at != "search":
            obj = _resolve_visible(a["object"], world)
            desc = parse_description(a["object"]) if not world.has(a["object"]) else None
            if obj is not None and obj.support is not None:
                goto(obj.support)
                if obj.relation == "in":
                    ensure_open(obj.support)
            elif obj is None and desc is not None:
                # an object the robot does not know of: look inside the container it stands
                # at, or search for it (what the plan itself says to pick is kept)
                if _kind(world, at or "") == "f" and any(
                    matches(o, desc) and o.support == at for o in world.objects
                ):
                    ensure_open(at)
                else:
                    out.append(Step("search", {"object": a["object"]}))
                    at = "search"
        out.append(step)
    return out[:max_steps]


def _resolve_visible(ref: Any, world: World):
    """The object ``ref`` names (id, or a description that fits exactly one object)."""
    if not isinstance(ref, str):
        return None
    if _kind(world, ref) == "o":
        obj = world.object_by_id(ref)
        return obj if obj in world.visible_objects() else None
    desc = parse_description(ref)
    if desc is None:
        return None
    hits = [o for o in world.visible_objects() if matches(o, desc)]
    return hits[0] if len(hits) == 1 else None


_DELIVERY_WORDS = ("put", "place", "bring", "move", "onto", "into", "deliver")


def instruction_kind(instruction: str) -> str | None:
    """``"deliver"`` (put/bring/move an object somewhere), ``"fetch"`` (pick/get an object) or
    None (anything else), from the instruction's verbs."""
    words = instruction.lower().replace(",", " ").replace(".", " ").split()
    if any(w in _DELIVERY_WORDS for w in words):
        return "deliver"
    if any(w in ("pick", "get", "grab", "fetch") for w in words):
        return "fetch"
    return None


def check_complete(instruction: str, steps: list[Step], *, holding: bool = False) -> list[str]:
    """Errors when the plan obviously stops short of what the instruction asks.

    An instruction that asks to put/bring/move an object somewhere needs a ``pick`` followed
    later by a ``place`` (only the ``place`` when the robot already ``holding`` something, as
    when re-planning mid-mission); one that asks to pick up or get an object needs a ``pick``.
    """
    kind = instruction_kind(instruction)
    skills = [s.skill for s in steps]
    last_pick = max((i for i, k in enumerate(skills) if k == "pick"), default=-1)
    if kind == "deliver" and holding:
        if "place" not in skills:
            return ["the robot holds the object: navigate to the destination and place it"]
    elif kind == "deliver":
        if last_pick < 0:
            return ["the instruction asks to move an object, but the plan never picks it up"]
        if "place" not in skills[last_pick:]:
            return ["the plan ends holding the object: navigate to the destination and place it"]
    elif kind == "fetch":
        if last_pick < 0:
            return ["the instruction asks for an object, but the plan never picks it up"]
        if "place" in skills[last_pick:]:
            return [
                "the instruction only asks to pick the object up: end the plan with the pick, "
                "do not place it"
            ]
    return []


# ------------------------------------------------------------------------------- grounding

_FROM_WORDS = ("from", "off")


@dataclass(frozen=True)
class Mention:
    """A piece of furniture the instruction names: ``kind`` (a catalog furniture kind), the
    room phrase it names (``None`` when none or not a room of this world), the word before it
    (``"from"``, ``"to"``, ``"on"``, ...; empty when none) and the furniture of this world it
    can refer to (every piece of that kind when the room does not narrow it down)."""

    kind: str
    room: str | None
    before: str
    candidates: tuple[str, ...]
    phrase: str


def _room_names(world: World) -> dict[str, set[str]]:
    """Spoken room name -> room ids (``"living room"`` -> {``living_room``}; ``"bedroom"`` ->
    every bedroom; ``"bedroom 2"`` -> {``bedroom_2``})."""
    names: dict[str, set[str]] = {}
    for r in world.rooms:
        for name in {catalog.display_name(r.type), catalog.display_name(r.id)}:
            names.setdefault(name, set()).add(r.id)
    return names


def furniture_mentions(instruction: str, world: World) -> list[Mention]:
    """The furniture phrases of ``instruction`` in order, resolved against ``world``.

    Recognised: ``the <kind> in/of the <room>``, ``the <room> <kind>`` and a bare
    ``the <kind>`` (a size word may stand before the kind). A room narrows the candidates to the
    pieces of that kind in rooms of that name; when it names no such piece, all of the kind stay
    (the plan's own choice is then not second-guessed).
    """
    if not instruction:
        return []
    text = " ".join(re.findall(r"[a-z0-9]+", instruction.lower()))
    rooms = _room_names(world)
    room_alt = "|".join(re.escape(n) for n in sorted(rooms, key=len, reverse=True)) or "(?!)"
    kind_alt = "|".join(re.escape(k) for k in sorted(catalog.FURNITURE, key=len, reverse=True))
    pattern = re.compile(
        rf"(?:\b(\w+) )?\bthe (?:(?:small|large) )?(?:({room_alt}) )?({kind_alt})s?\b"
        rf"(?: (?:in|of) the ({room_alt})\b)?"
    )
    out = []
    for m in pattern.finditer(text):
        before, room_pre, kind, room_post = m.groups()
        room = room_post or room_pre
        of_kind = [f for f in world.furniture if f.category == kind]
        narrowed = [f for f in of_kind if room is not None and f.room in rooms.get(room, set())]
        out.append(Mention(kind=kind, room=room if narrowed else None, before=before or "",
                           candidates=tuple(f.id for f in (narrowed or of_kind)),
                           phrase=m.group(0).split(" ", 1)[1] if before else m.group(0)))
    return out


def destination_mention(instruction: str, world: World) -> Mention | None:
    """Where a put/bring/move instruction wants the object: its last furniture phrase not
    introduced by ``from`` (None for other instructions or when it names no furniture)."""
    if instruction_kind(instruction) != "deliver":
        return None
    dest = [m for m in furniture_mentions(instruction, world) if m.before not in _FROM_WORDS]
    return dest[-1] if dest else None


def source_mentions(instruction: str, world: World) -> list[Mention]:
    """Where the instruction says the object is: phrases introduced by ``from`` (every
    furniture phrase of a pick/get instruction)."""
    kind = instruction_kind(instruction)
    ms = furniture_mentions(instruction, world)
    if kind == "fetch":
        return ms
    return [m for m in ms if m.before in _FROM_WORDS] if kind == "deliver" else []


def check_grounding(instruction: str, steps: list[Step], world: World) -> list[str]:
    """Errors when the plan contradicts the furniture the instruction names.

    A ``place`` into a closed container the instruction says to put the object *in* ("in the
    dresser") needs an ``open`` first (else the object would go on top).
    The last ``place`` must be on/in a piece the destination phrase can refer to ("the table in
    the dining room" -> ``table_1``, not the living room's ``table_2``), and an object picked by
    id from a piece the instruction names as the source must stand on one it can refer to. Only
    phrases whose room narrows the kind down are enforced.
    """
    errors = []
    opened = {f.id for f in world.furniture if f.open}
    for s in steps:
        if s.skill == "open":
            opened.add(s.args.get("target"))
        elif s.skill == "place" and _kind(world, s.args.get("target")) == "f":
            f = world.furniture_by_id(s.args["target"])
            if f.container and f.id not in opened and _says_into(instruction, f.category):
                errors.append(f"the instruction says in the {f.category}: open {f.id!r} "
                              f"before placing into it")
    dest = destination_mention(instruction, world)
    places = [s for s in steps if s.skill == "place"]
    if dest is not None and dest.room is not None and places:
        target = places[-1].args.get("target")
        if target not in dest.candidates:
            errors.append(
                f"the instruction says {dest.phrase!r} ({' or '.join(dest.candidates)}); "
                f"{target!r} is not it: place the object there"
            )
    sources = [m for m in source_mentions(instruction, world) if m.room is not None]
    for s in steps:
        ref = s.args.get("object") if s.skill == "pick" else None
        if not sources or not isinstance(ref, str) or _kind(world, ref) != "o":
            continue
        obj = world.object_by_id(ref)
        allowed = {c for m in sources for c in m.candidates}
        if obj.support is not None and obj.relation != "held" and obj.support not in allowed:
            errors.append(
                f"the instruction takes the object from {sources[0].phrase!r} "
                f"({' or '.join(sorted(allowed))}); {ref!r} is on/in {obj.support!r}"
            )
    return errors


def instruction_object(instruction: str) -> dict[str, str] | None:
    """The object the instruction asks for, as a description (``{"category", "colour",
    "size"}``; only what it names unambiguously), or None when it names no single object kind.
    "..., not the small one" does not name small."""
    text = re.sub(r"\bnot (?:the |a )?(?:small|large)(?: one)?\b", " ", instruction.lower())
    words = set()
    for w in re.findall(r"[a-z]+", text):
        words.add(w)
        if w.endswith("s"):
            words.add(w[:-1])
    cats = words & set(catalog.OBJECTS)
    if len(cats) != 1:
        return None
    out = {"category": next(iter(cats))}
    for key, vocab in (("colour", catalog.COLOURS), ("size", catalog.SIZES)):
        named = words & set(vocab)
        if len(named) == 1:
            out[key] = next(iter(named))
    return out


def step_conflict(instruction: str, world: World, action: str) -> str | None:
    """Why a single high-level action (``"pick cup_3"``, ``"place dresser_1"``) contradicts the
    instruction's grounding, or None. Used to check the on-board planner's step: picking an
    object of another kind/colour/size than the one asked for, putting it on furniture the
    destination phrase cannot refer to, or on top of a closed container the instruction says
    to put it *in*."""
    parts = action.split()
    if len(parts) != 2 or not world.has(parts[1]):
        return None
    verb, ref = parts
    if verb == "pick" and _kind(world, ref) == "o":
        want = instruction_object(instruction)
        obj = world.object_by_id(ref)
        if want is not None and not matches(obj, want):
            asked = " ".join(want[k] for k in ("size", "colour", "category") if k in want)
            return (f"the instruction asks for the {asked}, "
                    f"{ref} is the {obj.describe(colour=True, size=True)}")
        return None
    if verb == "place" and _kind(world, ref) == "f":
        dest = destination_mention(instruction, world)
        if dest is None:
            return None
        f = world.furniture_by_id(ref)
        if ref not in dest.candidates:
            return f"the instruction says {dest.phrase!r}, not {ref}"
        if f.container and not f.open and _says_into(instruction, f.category):
            return f"the instruction says in the {f.category}: open {ref} first"
    return None
