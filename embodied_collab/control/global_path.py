"""Global paths to a subgoal over the map's occupancy grid plus what the lidar has seen.

:class:`GlobalPlanner` resolves a target (a pose, a room id, a furniture id or an object id) to
a goal pose, plans a shortest path on :class:`embodied_collab.sim.navgrid.NavGrid` (Dijkstra on
the 8-connected free grid) with obstacles seen by the lidar added, shortens it by line of sight,
and says when the current path has become blocked so the loop replans. :class:`PathTracker`
follows a path: progress along it and the lookahead waypoint the local controller steers to.
"""

from __future__ import annotations

import copy
import logging
import math

import numpy as np
from scipy import ndimage

from embodied_collab.control.config_control import ControlConfig
from embodied_collab.errors import InvalidActionError, InvalidInputError
from embodied_collab.sim.navgrid import NavGrid
from embodied_collab.sim.world import Furniture, Room, World, WorldObject

logger = logging.getLogger(__name__)

Point = tuple[float, float]
Pose = tuple[float, float, float | None]

#: Clearance (m, beyond the robot radius) of the fallback plan: enough for the governor's
#: safety margin, measured from the wall centre lines the lidar sees.
TIGHT_CLEARANCE = 0.07
#: Planning levels, tried in this order (see :meth:`GlobalPlanner.free_mask`).
PLAN_LEVELS = ("preferred", "tight", "footprint")


class GlobalPlanner:
    """Plans paths over the static map and the obstacles the lidar reported.

    Args:
        world: the map (walls, rooms, doors and furniture; floor objects are *not* assumed
            known: the lidar reports them).
        config: ``grid_resolution``, ``robot_radius`` and ``plan_clearance`` are used.
    """

    def __init__(self, world: World, config: ControlConfig) -> None:
        self.world = world
        self.config = config
        self.grid = NavGrid(world, resolution=config.grid_resolution,
                            clearance=config.plan_clearance)
        self._tight = NavGrid(world, resolution=config.grid_resolution,
                             clearance=TIGHT_CLEARANCE)
        self.observed = np.zeros(self.grid.shape, dtype=bool)
        self._free_cache: dict[str, np.ndarray] = {}
        #: the level of the last plan: "preferred", "tight" or "footprint" ("" = none)
        self.level = ""

    # ---------------------------------------------------------------- targets
    def resolve(self, target: str | tuple[float, ...]) -> Pose:
        """Goal pose ``(x, y, heading or None)`` of a target.

        Args:
            target: ``(x, y)`` / ``(x, y, heading)``, or the id of a room (its free centre),
                a piece of furniture (its approach pose) or an object (the approach pose of its
                support, or a free point next to it on the floor).

        Raises:
            InvalidActionError: for an unknown id or a place with no reachable free pose.
        """
        if not isinstance(target, str):
            vals = tuple(float(v) for v in target)
            if len(vals) not in (2, 3) or not all(math.isfinite(v) for v in vals):
                raise InvalidActionError(
                    f"a goal pose is (x, y[, heading]) finite, got {target!r}")
            return (vals[0], vals[1], vals[2] if len(vals) == 3 else None)
        if not self.world.has(target):
            raise InvalidActionError(f"no place {target!r} in this world")
        ent = self.world.entity(target)
        if isinstance(ent, WorldObject):
            if ent.support and self.world.has(ent.support):
                ent = self.world.entity(ent.support)
            else:
                p = self._tight.nearest_free(*ent.position, max_radius=1.0)
                if p is None:
                    raise InvalidActionError(f"no free pose next to {target!r}")
                return (p[0], p[1], None)
        if isinstance(ent, Furniture):
            if ent.approach is not None:
                return (float(ent.approach[0]), float(ent.approach[1]), float(ent.approach[2]))
            cands = self._tight.approach_candidates(ent.id)
            if not cands:
                raise InvalidActionError(f"furniture {target!r} has no free approach pose")
            return cands[0]
        if isinstance(ent, Room):
            p = self.grid.nearest_free(*ent.centre, max_radius=2.0) or self._tight.nearest_free(
                *ent.centre, max_radius=3.0)
            if p is None:
                raise InvalidActionError(f"room {target!r} has no free space")
            return (p[0], p[1], None)
        raise InvalidActionError(f"{target!r} is not a place the robot can drive to")

    # ---------------------------------------------------------- observations
    def add_hits(self, points: np.ndarray) -> int:
        """Mark lidar hit points (world frame, shape (N, 2)) as obstacles; returns new cells.

        Hits next to an obstacle the map already has are ignored."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        pts = pts[np.isfinite(pts).all(axis=1)]
        if pts.size == 0:
            return 0
        g = self.grid
        cols = np.floor((pts[:, 0] - g.origin[0]) / g.resolution).astype(int)
        rows = np.floor((pts[:, 1] - g.origin[1]) / g.resolution).astype(int)
        ok = (rows >= 0) & (rows < g.shape[0]) & (cols >= 0) & (cols < g.shape[1])
        rows, cols = rows[ok], cols[ok]
        # hits on walls and furniture the map already has add nothing
        unknown = g.obstacle_distance[rows, cols] > 1.01 * g.resolution
        rows, cols = rows[unknown], cols[unknown]
        new = int((~self.observed[rows, cols]).sum())
        if new:
            self.observed[rows, cols] = True
            self._free_cache.clear()
        return new

    def add_scan(self, pose: tuple[float, float, float], ranges: np.ndarray,
                 angles: np.ndarray, range_max: float) -> int:
        """Mark the hits of a scan taken at ``pose`` (robot frame bearings)."""
        r = np.asarray(ranges, dtype=np.float64)
        a = np.asarray(angles, dtype=np.float64) + pose[2]
        keep = np.isfinite(r) & (r < range_max)
        pts = np.stack([pose[0] + r[keep] * np.cos(a[keep]),
                        pose[1] + r[keep] * np.sin(a[keep])], axis=1)
        return self.add_hits(pts)

    def clear_observations(self) -> None:
        """Forget every lidar obstacle (e.g. for a new goal)."""
        self.observed[:] = False
        self._free_cache.clear()

    def _base(self, level: str) -> NavGrid:
        return self.grid if level == "preferred" else self._tight

    def free_mask(self, tight: bool = False, *, level: str | None = None) -> np.ndarray:
        """Free cells of the map minus inflated lidar obstacles.

        Args:
            tight: the tight level (else the preferred one), when ``level`` is not given.
            level: ``"preferred"`` (``plan_clearance``), ``"tight"`` (the governor's
                ``safety_margin`` from hits) or ``"footprint"`` (the tight map, the bare
                footprint from hits: passages between clutter only a creep gets through).
        """
        level = level or ("tight" if tight else "preferred")
        if level not in PLAN_LEVELS:
            raise ValueError(f"level must be one of {PLAN_LEVELS}, got {level!r}")
        if level not in self._free_cache:
            base = self._base(level)
            free = base.free.copy()
            if self.observed.any():
                cfg = self.config
                # the governor keeps robot_radius + safety_margin from hits; a hit lies anywhere
                # in its cell, so add half a cell (tight) or half the diagonal (preferred)
                radius = cfg.robot_radius + cfg.safety_margin + 0.5 * base.resolution
                if level == "preferred":
                    radius = max(radius + 0.21 * base.resolution,
                                 cfg.robot_radius + cfg.plan_clearance + 0.71 * base.resolution)
                elif level == "footprint":
                    # only a guide through a passage the footprint fits: the local controller
                    # and the governor check the exact hits at creep_margin
                    radius = cfg.robot_radius
                dist = ndimage.distance_transform_edt(~self.observed) * base.resolution
                free &= dist > radius
            self._free_cache[level] = free
        return self._free_cache[level]

    # ----------------------------------------------------------------- paths
    def _grid_with(self, tight: bool | str, start: Point | None = None) -> NavGrid:
        # a shallow copy shares the map; its own free mask gets a fresh graph and field cache
        level = tight if isinstance(tight, str) else ("tight" if tight else "preferred")
        base = self._base(level)
        g = copy.copy(base)
        g.free = self.free_mask(level=level)
        if start is not None and not g.is_free(*start):
            # the robot is inside an inflated zone: let the path leave it (the governor keeps
            # the footprint off the obstacle itself)
            free = g.free.copy()
            d_start = np.hypot(g._cx - start[0], g._cy - start[1])
            near = (d_start < 0.35) & (base.obstacle_distance > self.config.robot_radius + 0.02)
            if self.observed.any():
                # ... but not past a lidar obstacle: leave the zone on the side away from it
                d_obs = ndimage.distance_transform_edt(~self.observed) * base.resolution
                near &= (d_obs > self.config.robot_radius + 0.05) | (d_start < base.resolution)
            free |= near
            g.free = free
        g._graph = None
        g._field_cache = {}
        return g

    def plan(self, start: Point, goal: Point) -> list[Point]:
        """Shortest path from ``start`` to ``goal`` avoiding map and lidar obstacles.

        Prefers ``plan_clearance`` from obstacles, falls back to the minimum clearance, then
        (only with lidar obstacles seen) to the bare footprint from them (a passage to creep
        through). :attr:`level` says which. Returns world points (start first, goal last)
        shortened by line of sight, or ``[]`` if the goal cannot be reached.
        """
        levels = PLAN_LEVELS if self.observed.any() else PLAN_LEVELS[:2]
        for level in levels:
            g = self._grid_with(level, start)
            try:
                cells = g.path(start, goal)
            except ValueError:
                cells = []
            if cells:
                self.level = level
                return self._shorten(cells, g.free)
        self.level = ""
        logger.info("no path from %s to %s", start, goal)
        return []

    def _visible(self, a: Point, b: Point, free: np.ndarray) -> bool:
        g = self.grid
        n = max(int(math.hypot(b[0] - a[0], b[1] - a[1]) / (0.5 * g.resolution)), 1)
        t = np.linspace(0.0, 1.0, n + 1)
        xs, ys = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
        cols = np.floor((xs - g.origin[0]) / g.resolution).astype(int)
        rows = np.floor((ys - g.origin[1]) / g.resolution).astype(int)
        if ((rows < 0) | (rows >= g.shape[0]) | (cols < 0) | (cols >= g.shape[1])).any():
            return False
        return bool(free[rows[1:-1], cols[1:-1]].all()) if n > 1 else True

    def _shorten(self, pts: list[Point], free: np.ndarray) -> list[Point]:
        out = [pts[0]]
        i = 0
        while i < len(pts) - 1:
            j = len(pts) - 1
            while j > i + 1 and not self._visible(pts[i], pts[j], free):
                j -= 1
            out.append(pts[j])
            i = j
        return out

    def blocked(self, path: list[Point], start_index: int = 0, horizon: float = 4.0) -> bool:
        """Whether the next ``horizon`` metres of ``path`` cross cells no longer free (tight,
        or the footprint level when the last plan needed it)."""
        free = self.free_mask(level="footprint" if self.level == "footprint" else "tight")
        travelled = 0.0
        for k in range(max(start_index, 0), len(path) - 1):
            a, b = path[k], path[k + 1]
            if not self._visible(a, b, free):
                return True
            travelled += math.hypot(b[0] - a[0], b[1] - a[1])
            if travelled > horizon:
                break
        return False

    def geodesic(self, start: Point, goal: Point) -> float:
        """Geodesic distance on the map alone (minimum clearance), inf if unreachable."""
        field = self._tight.distance_field(*start)
        c, r = self._tight.to_cell(*goal)
        if not self._tight.in_grid(c, r):
            return math.inf
        if not self._tight.free[r, c]:
            p = self._tight.nearest_free(*goal, max_radius=0.5)
            if p is None:
                return math.inf
            c, r = self._tight.to_cell(*p)
        return float(field[r, c])


class PathTracker:
    """Progress along a polyline path and the lookahead waypoint on it.

    Args:
        path: world points, start first.
    """

    def __init__(self, path: list[Point]) -> None:
        if not path:
            raise ValueError("cannot track an empty path")
        self.path = [(float(x), float(y)) for x, y in path]
        self.segment = 0
        seg = np.diff(np.asarray(self.path).reshape(-1, 2), axis=0)
        self._lengths = np.hypot(seg[:, 0], seg[:, 1]) if len(self.path) > 1 else np.zeros(0)

    @property
    def goal(self) -> Point:
        return self.path[-1]

    def _project(self, p: Point, k: int) -> tuple[float, float]:
        a, b = self.path[k], self.path[k + 1]
        dx, dy = b[0] - a[0], b[1] - a[1]
        L2 = dx * dx + dy * dy
        t = 0.0 if L2 == 0 else min(max(((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / L2, 0.0), 1.0)
        q = (a[0] + t * dx, a[1] + t * dy)
        return t, math.hypot(p[0] - q[0], p[1] - q[1])

    def update(self, p: Point) -> None:
        """Advance the current segment to the one nearest ``p`` (never backwards)."""
        n = len(self.path) - 1
        best, best_d = self.segment, math.inf
        for k in range(self.segment, min(self.segment + 4, n)):
            _, d = self._project(p, k)
            if d < best_d - 1e-9:
                best, best_d = k, d
        self.segment = best

    def remaining(self, p: Point) -> float:
        """Distance left along the path from ``p``'s projection to the goal."""
        if len(self.path) == 1:
            return math.hypot(p[0] - self.path[0][0], p[1] - self.path[0][1])
        t, _ = self._project(p, self.segment)
        k = self.segment
        return float((1 - t) * self._lengths[k] + self._lengths[k + 1:].sum())

    def lookahead(self, p: Point, distance: float) -> Point:
        """The point ``distance`` further along the path than ``p``'s projection."""
        if len(self.path) == 1:
            return self.path[0]
        k = self.segment
        t, _ = self._project(p, k)
        left = distance + t * self._lengths[k]
        while k < len(self._lengths):
            if left <= self._lengths[k]:
                a, b = self.path[k], self.path[k + 1]
                f = left / self._lengths[k] if self._lengths[k] > 0 else 1.0
                return (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))
            left -= self._lengths[k]
            k += 1
        return self.path[-1]


def parse_target(text: str) -> str | tuple[float, ...]:
    """A goal as text: ``"x y"`` / ``"x y heading"`` (commas allowed) or a place id.

    Raises:
        InvalidInputError: for an empty string or a pose with non-finite numbers.
    """
    s = str(text).strip()
    if not s:
        raise InvalidInputError("empty goal")
    parts = s.replace(",", " ").split()
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        if len(parts) != 1:
            raise InvalidInputError(
                f"a goal is 'x y [heading]' or one place id, got {s!r}") from None
        return s
    if len(vals) not in (2, 3) or not all(math.isfinite(v) for v in vals):
        raise InvalidInputError(f"a goal pose is 2 or 3 finite numbers, got {s!r}")
    return vals
