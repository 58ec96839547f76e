"""Procedural households and tasks from a seed.

``generate_world(seed)`` lays out a grid of rooms joined by doors, furnishes them against the
walls, scatters objects on surfaces and inside closed containers, and varies the appearance.
Every world contains what each difficulty needs: objects in closed containers (search), and
objects that share a category with another of a different colour, or a category and colour with
another of a different size (attributes and distractors). ``generate_task(seed, difficulty)``
picks a target and a destination in ``generate_world(seed)`` and phrases an instruction, so a
task is reproducible from ``(world_seed, difficulty)`` alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from embodied_collab.sim import catalog
from embodied_collab.sim.catalog import DIFFICULTIES, display_name
from embodied_collab.sim.navgrid import NavGrid
from embodied_collab.sim.tasks import Suite, Task
from embodied_collab.sim.world import (
    Appearance,
    Door,
    Furniture,
    Robot,
    Room,
    World,
    WorldObject,
)

GRID_SHAPES = {2: (2, 1), 3: (3, 1), 4: (2, 2), 6: (3, 2)}
DOOR_WIDTH = 1.0
WALL_MARGIN = 0.05
FURNITURE_GAP = 0.75


class GenerationError(RuntimeError):
    """A layout could not be generated (should not happen for valid seeds)."""


def _layout(rng: np.random.Generator, n_rooms: int):
    cols, rows = GRID_SHAPES[n_rooms]
    widths = rng.uniform(3.6, 5.0, size=cols)
    heights = rng.uniform(3.6, 4.8, size=rows)
    xs = np.concatenate([[0.0], np.cumsum(widths)]).round(2)
    ys = np.concatenate([[0.0], np.cumsum(heights)]).round(2)
    others = [t for t in catalog.ROOM_TYPES if t not in ("kitchen", "living_room")]
    types = ["kitchen", "living_room"] + list(rng.choice(others, size=n_rooms - 2, replace=False))
    order = rng.permutation(n_rooms)
    cells = [(i, j) for j in range(rows) for i in range(cols)]
    rooms = {}
    for k, (i, j) in enumerate(cells):
        t = str(types[order[k]])
        rooms[(i, j)] = Room(id=t, type=t,
                             bounds=(float(xs[i]), float(ys[j]), float(xs[i + 1]), float(ys[j + 1])))
    # doors: random spanning tree over grid adjacency, plus maybe one extra
    edges = [((i, j), (i + 1, j)) for j in range(rows) for i in range(cols - 1)]
    edges += [((i, j), (i, j + 1)) for j in range(rows - 1) for i in range(cols)]
    edges = [edges[k] for k in rng.permutation(len(edges))]
    parent = {c: c for c in cells}

    def find(c):
        while parent[c] != c:
            c = parent[c]
        return c

    chosen, rest = [], []
    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
            chosen.append((a, b))
        else:
            rest.append((a, b))
    if rest and rng.random() < 0.35:
        chosen.append(rest[0])
    doors = []
    gaps: dict[tuple, list[tuple[float, float]]] = {}
    for k, (a, b) in enumerate(chosen):
        ra, rb = rooms[a], rooms[b]
        if a[1] == b[1]:  # vertical wall at x = xs[a[0]+1]
            x = xs[a[0] + 1]
            lo, hi = ys[a[1]], ys[a[1] + 1]
            c = rng.uniform(lo + 0.9, hi - 0.9)
            p, q = (x, c - DOOR_WIDTH / 2), (x, c + DOOR_WIDTH / 2)
            gaps.setdefault(("v", a[0] + 1, a[1]), []).append((p[1], q[1]))
        else:  # horizontal wall at y = ys[a[1]+1]
            y = ys[a[1] + 1]
            lo, hi = xs[a[0]], xs[a[0] + 1]
            c = rng.uniform(lo + 0.9, hi - 0.9)
            p, q = (c - DOOR_WIDTH / 2, y), (c + DOOR_WIDTH / 2, y)
            gaps.setdefault(("h", a[1] + 1, a[0]), []).append((p[0], q[0]))
        doors.append(Door(id=f"door_{k + 1}", rooms=(ra.id, rb.id),
                          a=(round(float(p[0]), 3), round(float(p[1]), 3)),
                          b=(round(float(q[0]), 3), round(float(q[1]), 3))))
    walls = []
    for i in range(cols + 1):
        for j in range(rows):
            walls += _cut(("v", i, j), (xs[i], ys[j]), (xs[i], ys[j + 1]), gaps)
    for j in range(rows + 1):
        for i in range(cols):
            walls += _cut(("h", j, i), (xs[i], ys[j]), (xs[i + 1], ys[j]), gaps)
    return list(rooms.values()), doors, walls


def _cut(key, p, q, gaps) -> list[tuple[float, float, float, float]]:
    vertical = key[0] == "v"
    lo, hi = (p[1], q[1]) if vertical else (p[0], q[0])
    spans, start = [], lo
    for g0, g1 in sorted(gaps.get(key, [])):
        spans.append((start, g0))
        start = g1
    spans.append((start, hi))
    out = []
    for a, b in spans:
        if b - a > 1e-6:
            seg = (p[0], a, p[0], b) if vertical else (a, p[1], b, p[1])
            out.append(tuple(round(float(v), 3) for v in seg))
    return out


def _overlap(a, b, gap: float = 0.0) -> bool:
    return not (a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1])


def _door_keepouts(doors: Iterable[Door]) -> list[tuple[float, float, float, float]]:
    out = []
    for d in doors:
        x0, x1 = sorted((d.a[0], d.b[0]))
        y0, y1 = sorted((d.a[1], d.b[1]))
        if x0 == x1:  # vertical wall: keep free 1.1 m either side
            out.append((x0 - 1.1, y0 - 0.25, x0 + 1.1, y1 + 0.25))
        else:
            out.append((x0 - 0.25, y0 - 1.1, x1 + 0.25, y0 + 1.1))
    return out


def _furnish(rng, rooms: list[Room], doors: list[Door]) -> list[Furniture]:
    keepouts = _door_keepouts(doors)
    furniture: list[Furniture] = []
    counters: dict[str, int] = {}
    for room in rooms:
        options = catalog.ROOM_TYPES[room.type]
        cats = list(options[:2]) + [c for c in options[2:] if rng.random() < 0.6]
        rx0, ry0, rx1, ry1 = room.bounds
        placed: list[tuple] = []
        for cat in cats:
            spec = catalog.FURNITURE[cat]
            for _ in range(60):
                side = rng.integers(4)
                w, d = spec.width, spec.depth
                if side in (0, 1):  # south / north wall, width along x
                    if rx1 - rx0 - 2 * WALL_MARGIN < w:
                        continue
                    x0 = rng.uniform(rx0 + WALL_MARGIN, rx1 - WALL_MARGIN - w)
                    y0 = ry0 + WALL_MARGIN if side == 0 else ry1 - WALL_MARGIN - d
                    rect = (x0, y0, x0 + w, y0 + d)
                else:  # west / east wall, width along y
                    if ry1 - ry0 - 2 * WALL_MARGIN < w:
                        continue
                    y0 = rng.uniform(ry0 + WALL_MARGIN, ry1 - WALL_MARGIN - w)
                    x0 = rx0 + WALL_MARGIN if side == 2 else rx1 - WALL_MARGIN - d
                    rect = (x0, y0, x0 + d, y0 + w)
                if any(_overlap(rect, k) for k in keepouts):
                    continue
                if any(_overlap(rect, p, FURNITURE_GAP) for p in placed):
                    continue
                placed.append(rect)
                counters[cat] = counters.get(cat, 0) + 1
                colour = (
                    str(rng.choice(["cream", "grey"]))
                    if cat == "fridge"
                    else str(rng.choice(list(catalog.FURNITURE_COLOURS)))
                )
                furniture.append(
                    Furniture(
                        id=f"{cat}_{counters[cat]}",
                        category=cat,
                        room=room.id,
                        bounds=tuple(round(float(v), 3) for v in rect),
                        height=spec.height,
                        colour=colour,
                        container=spec.container,
                        surface=spec.surface,
                    )
                )
                break
    return furniture


def _object_specs(rng, n: int) -> list[tuple[str, str, str]]:
    cats = list(catalog.OBJECTS)
    cols = list(catalog.COLOURS)
    sizes = list(catalog.SIZES)
    specs: list[tuple[str, str, str]] = []

    def add(s):
        if s not in specs:
            specs.append(s)

    # one size pair and one colour pair guarantee attribute tasks and distractors
    c0 = str(rng.choice(cats))
    col0 = str(rng.choice(cols))
    add((c0, col0, "small"))
    add((c0, col0, "large"))
    c1 = str(rng.choice(cats))
    col_a, col_b = (str(c) for c in rng.choice(cols, size=2, replace=False))
    add((c1, col_a, str(rng.choice(sizes))))
    add((c1, col_b, str(rng.choice(sizes))))
    while len(specs) < n:
        add((str(rng.choice(cats)), str(rng.choice(cols)), str(rng.choice(sizes))))
    order = rng.permutation(len(specs))
    return [specs[i] for i in order]


def _place_objects(rng, world: World, n: int) -> None:
    surfaces = [f for f in world.furniture if f.surface and f.approach is not None]
    containers = [f for f in world.furniture if f.container and f.approach is not None]
    counters: dict[str, int] = {}
    objects: list[WorldObject] = []
    for k, (cat, colour, size) in enumerate(_object_specs(rng, n)):
        spec = catalog.OBJECTS[cat]
        radius = spec.radius * catalog.SIZES[size]
        in_container = containers and (k == 0 or rng.random() < 0.3)
        pool = containers if in_container else surfaces
        # 40 tries in the chosen pool, then 40 in the other one, so that no object (and none of
        # the attribute pairs the tasks rely on) is ever dropped
        for attempt in range(80):
            if attempt == 40:
                in_container = not in_container and bool(containers)
                pool = containers if in_container else surfaces
            f = pool[rng.integers(len(pool))]
            x0, y0, x1, y1 = f.bounds
            m = radius + 0.04
            if x1 - x0 < 2 * m or y1 - y0 < 2 * m:
                continue
            px, py = rng.uniform(x0 + m, x1 - m), rng.uniform(y0 + m, y1 - m)
            clash = any(
                o.support == f.id and math.hypot(o.position[0] - px, o.position[1] - py)
                < o.radius + radius + 0.03
                for o in objects
            )
            if clash:
                continue
            counters[cat] = counters.get(cat, 0) + 1
            relation = "in" if in_container else "on"
            objects.append(
                WorldObject(
                    id=f"{cat}_{counters[cat]}",
                    category=cat,
                    colour=colour,
                    size=size,
                    relation=relation,
                    support=f.id,
                    position=(round(float(px), 3), round(float(py), 3)),
                    z=f.inner_height if relation == "in" else f.height,
                )
            )
            break
    world.objects = objects
    world.reindex()


def _appearance(rng) -> Appearance:
    walls = [(200, 195, 185), (185, 200, 210), (215, 200, 170), (190, 190, 190), (205, 180, 175)]
    floors = [(150, 130, 105), (120, 100, 80), (170, 165, 150), (110, 115, 125), (160, 120, 90)]
    jitter = lambda c: tuple(int(np.clip(v + rng.integers(-12, 13), 0, 255)) for v in c)  # noqa: E731
    return Appearance(
        light=round(float(rng.uniform(0.6, 1.3)), 3),
        ambient=round(float(rng.uniform(0.3, 0.6)), 3),
        tint=tuple(round(float(v), 3) for v in rng.uniform(0.9, 1.1, size=3)),
        wall_texture=int(rng.integers(4)),
        floor_texture=int(rng.integers(4)),
        wall_colour=jitter(walls[rng.integers(len(walls))]),
        floor_colour=jitter(floors[rng.integers(len(floors))]),
    )


def generate_world(seed: int, *, n_rooms: int | None = None, n_objects: int | None = None) -> World:
    """A random connected household, reproducible from ``seed``.

    Args:
        seed: any non-negative integer.
        n_rooms: 2, 3, 4 or 6 (random by default).
        n_objects: number of movable objects, >= 4 (random 5-9 by default).
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if n_rooms is not None and n_rooms not in GRID_SHAPES:
        raise ValueError(f"n_rooms must be one of {sorted(GRID_SHAPES)}, got {n_rooms}")
    if n_objects is not None and n_objects < 4:
        raise ValueError(f"n_objects must be >= 4, got {n_objects}")
    rng = np.random.default_rng(int(seed))
    for _attempt in range(20):
        nr = n_rooms or int(rng.choice([2, 3, 4, 6], p=[0.1, 0.3, 0.35, 0.25]))
        rooms, doors, walls = _layout(rng, nr)
        furniture = _furnish(rng, rooms, doors)
        world = World(rooms=rooms, doors=doors, walls=walls, furniture=furniture, objects=[],
                      robot=Robot(x=0.0, y=0.0), appearance=_appearance(rng), seed=int(seed),
                      name=f"house_{seed}")
        grid = NavGrid(world)
        start_room = rooms[rng.integers(len(rooms))]
        cand = np.argwhere(grid.free & _room_mask(grid, start_room))
        if len(cand) == 0:
            continue
        r, c = cand[rng.integers(len(cand))]
        x, y = grid.to_world(int(c), int(r))
        reach = grid.component_mask(x, y)
        if not all((reach & _room_mask(grid, room)).any() for room in rooms):
            continue
        missing = grid.assign_approaches(reachable=reach)
        if missing:
            world.furniture = [f for f in world.furniture if f.id not in missing]
            world.reindex()
        if not any(f.container for f in world.furniture) or sum(f.surface for f in world.furniture) < 2:
            continue
        world.robot = Robot(x=round(x, 3), y=round(y, 3),
                            theta=round(float(rng.uniform(-math.pi, math.pi)), 3))
        _place_objects(rng, world, n_objects or int(rng.integers(5, 10)))
        return world
    raise GenerationError(f"could not generate a connected world for seed {seed}")


def _room_mask(grid: NavGrid, room: Room) -> np.ndarray:
    x0, y0, x1, y1 = room.bounds
    return (grid._cx > x0) & (grid._cx < x1) & (grid._cy > y0) & (grid._cy < y1)


# ------------------------------------------------------------------------------- tasks


def _furniture_phrase(world: World, f: Furniture) -> str:
    return f"{f.name} in the {display_name(world.room(f.room).type)}"


def _unique_desc(world: World, obj: WorldObject, *, size: bool) -> str | None:
    """A referring expression for ``obj`` that no other object matches (None if impossible)."""
    for use_size in ((True,) if size else (False, True)):
        same = [
            o for o in world.objects
            if o.category == obj.category and o.colour == obj.colour
            and (not use_size or o.size == obj.size)
        ]
        if len(same) == 1:
            return obj.describe(colour=True, size=use_size)
    return None


def _relation_words(f: Furniture, rng) -> tuple[str, str]:
    """("on"|"in", preposition phrase) for placing into/onto ``f``."""
    if f.container and (not f.surface or rng.random() < 0.5):
        return "in", "in"
    return "on", "on"


def generate_task(seed: int, difficulty: str, task_id: str | None = None) -> Task:
    """A task of ``difficulty`` set in ``generate_world(seed)``.

    Raises:
        ValueError: unknown difficulty.
    """
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {difficulty!r}")
    world = generate_world(seed)
    rng = np.random.default_rng([int(seed), 7919 + DIFFICULTIES.index(difficulty)])
    start_room = world.room_at(world.robot.x, world.robot.y)
    objs = list(world.objects)
    rng.shuffle(objs)

    def pick_target(pred):
        for o in objs:
            if pred(o):
                return o
        return None

    if difficulty == "attributes":
        target = pick_target(lambda o: any(
            p.id != o.id and p.category == o.category and p.colour == o.colour for p in world.objects
        ))
        desc = _unique_desc(world, target, size=True) if target else None
    elif difficulty == "search":
        target = pick_target(lambda o: o.relation == "in" and _unique_desc(world, o, size=False)) or \
            pick_target(lambda o: _unique_desc(world, o, size=False) and o.support and (
                start_room is None or world.furniture_by_id(o.support).room != start_room.id))
        desc = _unique_desc(world, target, size=False) if target else None
    else:
        target = pick_target(lambda o: o.relation == "on" and _unique_desc(world, o, size=False))
        if target is None:
            target = pick_target(lambda o: _unique_desc(world, o, size=False) is not None)
        desc = _unique_desc(world, target, size=False) if target else None
    if target is None or desc is None:
        raise RuntimeError(f"no target for {difficulty} in world {seed}")  # pragma: no cover
    src = world.furniture_by_id(target.support)
    tid = task_id or f"{difficulty}_{seed}"
    if difficulty == "fetch":
        fa = _furniture_phrase(world, src)
        templates = [
            f"Pick up the {desc} from the {fa}.",
            f"Get the {desc} that is {'in' if target.relation == 'in' else 'on'} the {fa}.",
            f"Go to the {fa} and grab the {desc}.",
        ]
        instruction = templates[rng.integers(len(templates))]
        return Task(id=tid, instruction=instruction, success={"holding": target.id},
                    difficulty=difficulty, world_seed=int(seed))
    dests = [f for f in world.furniture if f.id != src.id and (f.surface or f.container)]
    other_room = [f for f in dests if f.room != src.room]
    dest = (other_room or dests)[rng.integers(len(other_room or dests))]
    rel, prep = _relation_words(dest, rng)
    fb = _furniture_phrase(world, dest)
    if difficulty == "multi_step":
        fa = _furniture_phrase(world, src)
        templates = [
            f"Bring the {desc} from the {fa} to the {fb}." if rel == "on" else
            f"Take the {desc} from the {fa} and put it in the {fb}.",
            f"Take the {desc} from the {fa} and put it {prep} the {fb}.",
            f"Move the {desc} from the {fa} {'onto' if rel == 'on' else 'into'} the {fb}.",
        ]
    elif difficulty == "search":
        templates = [
            f"Find the {desc} and put it {prep} the {fb}.",
            f"Look for the {desc} and bring it to the {fb}." if rel == "on" else
            f"Look for the {desc} and put it in the {fb}.",
            f"Somewhere in the house there is a {desc}. Place it {prep} the {fb}.",
        ]
    else:
        other = "large" if target.size == "small" else "small"
        templates = [
            f"Put the {desc} {prep} the {fb}.",
            f"Bring the {desc} to the {fb}, not the {other} one." if rel == "on" else
            f"Put the {desc} in the {fb}, not the {other} one.",
            f"Find the {desc} and place it {prep} the {fb}.",
        ]
    instruction = templates[rng.integers(len(templates))]
    return Task(id=tid, instruction=instruction, success={rel: [target.id, dest.id]},
                difficulty=difficulty, world_seed=int(seed))


def parse_difficulty(value: str) -> list[str]:
    """``fetch`` / ``2`` / ``mixed`` -> the list of difficulties it stands for."""
    v = str(value).strip().lower()
    if v in ("mixed", "all", "any"):
        return list(DIFFICULTIES)
    if v.isdigit() and 1 <= int(v) <= len(DIFFICULTIES):
        return [DIFFICULTIES[int(v) - 1]]
    if v in DIFFICULTIES:
        return [v]
    raise ValueError(
        f"difficulty must be one of {DIFFICULTIES}, 1-{len(DIFFICULTIES)} or 'mixed'; got {value!r}"
    )


def generate_suite(n: int, difficulty: str = "mixed", seed: int = 0, name: str = "") -> Suite:
    """``n`` tasks (cycling through difficulties for ``mixed``) in worlds drawn from ``seed``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    diffs = parse_difficulty(difficulty)
    rng = np.random.default_rng(int(seed))
    world_seeds = rng.choice(2**31 - 1, size=n, replace=False)
    tasks = [
        generate_task(int(ws), diffs[i % len(diffs)], task_id=f"{diffs[i % len(diffs)]}_{i:04d}")
        for i, ws in enumerate(world_seeds)
    ]
    return Suite(tasks=tasks, name=name or f"generated-{difficulty}-{seed}",
                 description=f"{n} generated tasks, difficulty {difficulty}, seed {seed}")
