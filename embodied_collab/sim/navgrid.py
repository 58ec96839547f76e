"""Occupancy grid of a world: free space for the robot, geodesic distances, paths, approach poses.

The grid rasterises walls and furniture footprints (optionally floor objects) and inflates them by
the robot radius, so a free cell is a position the robot's centre may occupy. Distances are
shortest 8-connected paths (scipy's Dijkstra), which the planning environment uses as "the path
length the robot would drive" and the controller uses for global paths.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from embodied_collab.sim.world import REACH, ROBOT_RADIUS, World

WALL_THICKNESS = 0.08


class NavGrid:
    """A boolean free-space grid over a world's bounding box.

    Args:
        world: the world to rasterise.
        resolution: cell size in metres.
        clearance: extra margin beyond the robot radius kept from obstacles.
        include_floor_objects: also treat objects lying on the floor as obstacles.
    """

    def __init__(
        self,
        world: World,
        resolution: float = 0.1,
        clearance: float = 0.02,
        include_floor_objects: bool = False,
    ) -> None:
        if resolution <= 0:
            raise ValueError(f"resolution must be > 0, got {resolution}")
        self.world = world
        self.resolution = resolution
        x0, y0, x1, y1 = world.bounds()
        self.origin = (x0 - 0.2, y0 - 0.2)
        self.shape = (
            int(math.ceil((y1 - y0 + 0.4) / resolution)),
            int(math.ceil((x1 - x0 + 0.4) / resolution)),
        )
        ys = self.origin[1] + (np.arange(self.shape[0]) + 0.5) * resolution
        xs = self.origin[0] + (np.arange(self.shape[1]) + 0.5) * resolution
        self._cx, self._cy = np.meshgrid(xs, ys)
        occupied = self._rasterise(include_floor_objects)
        # inflate: free iff farther than robot radius + clearance from any occupied cell
        dist = ndimage.distance_transform_edt(~occupied) * resolution
        self.obstacle_distance = dist
        self.free = dist > (ROBOT_RADIUS + clearance)
        inside = np.zeros(self.shape, dtype=bool)
        for room in world.rooms:
            rx0, ry0, rx1, ry1 = room.bounds
            inside |= (self._cx > rx0) & (self._cx < rx1) & (self._cy > ry0) & (self._cy < ry1)
        for door in world.doors:
            dx0, dx1 = sorted((door.a[0], door.b[0]))
            dy0, dy1 = sorted((door.a[1], door.b[1]))
            m = 0.3
            inside |= (
                (self._cx > dx0 - m) & (self._cx < dx1 + m) & (self._cy > dy0 - m) & (self._cy < dy1 + m)
            )
        self.free &= inside
        self._graph: csr_matrix | None = None
        self._field_cache: dict[tuple[int, int], np.ndarray] = {}

    # ------------------------------------------------------------ rasterising
    def _rasterise(self, include_floor_objects: bool) -> np.ndarray:
        occ = np.zeros(self.shape, dtype=bool)
        px, py = self._cx, self._cy
        for x0, y0, x1, y1 in self.world.walls:
            # bounding-box window to keep this cheap
            r = WALL_THICKNESS / 2 + self.resolution
            c0, r0 = self.to_cell(min(x0, x1) - r, min(y0, y1) - r)
            c1, r1 = self.to_cell(max(x0, x1) + r, max(y0, y1) + r)
            sl = (slice(max(r0, 0), r1 + 1), slice(max(c0, 0), c1 + 1))
            wx, wy = px[sl], py[sl]
            dx, dy = x1 - x0, y1 - y0
            L2 = dx * dx + dy * dy or 1e-12
            t = np.clip(((wx - x0) * dx + (wy - y0) * dy) / L2, 0.0, 1.0)
            d = np.hypot(wx - (x0 + t * dx), wy - (y0 + t * dy))
            occ[sl] |= d <= WALL_THICKNESS / 2 + 0.5 * self.resolution
        for f in self.world.furniture:
            fx0, fy0, fx1, fy1 = f.bounds
            occ |= (px >= fx0) & (px <= fx1) & (py >= fy0) & (py <= fy1)
        if include_floor_objects:
            for o in self.world.objects:
                if o.relation == "floor":
                    occ |= np.hypot(px - o.position[0], py - o.position[1]) <= o.radius
        return occ

    # ------------------------------------------------------------ coordinates
    def to_cell(self, x: float, y: float) -> tuple[int, int]:
        """(col, row) of the cell containing a point (may lie outside the grid)."""
        return (
            int(math.floor((x - self.origin[0]) / self.resolution)),
            int(math.floor((y - self.origin[1]) / self.resolution)),
        )

    def to_world(self, col: int, row: int) -> tuple[float, float]:
        return (
            self.origin[0] + (col + 0.5) * self.resolution,
            self.origin[1] + (row + 0.5) * self.resolution,
        )

    def in_grid(self, col: int, row: int) -> bool:
        return 0 <= row < self.shape[0] and 0 <= col < self.shape[1]

    def is_free(self, x: float, y: float) -> bool:
        c, r = self.to_cell(x, y)
        return self.in_grid(c, r) and bool(self.free[r, c])

    def nearest_free(self, x: float, y: float, max_radius: float = 1.0) -> tuple[float, float] | None:
        """The centre of the free cell nearest to a point, within ``max_radius``."""
        c, r = self.to_cell(x, y)
        k = int(math.ceil(max_radius / self.resolution))
        r0, r1 = max(r - k, 0), min(r + k + 1, self.shape[0])
        c0, c1 = max(c - k, 0), min(c + k + 1, self.shape[1])
        window = self.free[r0:r1, c0:c1]
        if not window.any():
            return None
        rr, cc = np.nonzero(window)
        d = (rr + r0 - r) ** 2 + (cc + c0 - c) ** 2
        i = int(np.argmin(d))
        return self.to_world(int(cc[i] + c0), int(rr[i] + r0))

    # ------------------------------------------------------------- distances
    def _build_graph(self) -> csr_matrix:
        if self._graph is not None:
            return self._graph
        h, w = self.shape
        idx = np.arange(h * w).reshape(h, w)
        rows, cols, vals = [], [], []
        for dr, dc, cost in ((0, 1, 1.0), (1, 0, 1.0), (1, 1, math.sqrt(2)), (1, -1, math.sqrt(2))):
            src_sl = (slice(0, h - dr), slice(max(0, -dc), w - max(0, dc)))
            dst_sl = (slice(dr, h), slice(max(0, dc), w - max(0, -dc)))
            ok = self.free[src_sl] & self.free[dst_sl]
            rows.append(idx[src_sl][ok])
            cols.append(idx[dst_sl][ok])
            vals.append(np.full(int(ok.sum()), cost * self.resolution))
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        v = np.concatenate(vals)
        g = csr_matrix((np.concatenate([v, v]), (np.concatenate([r, c]), np.concatenate([c, r]))),
                       shape=(h * w, h * w))
        self._graph = g
        return g

    def _cell_index(self, x: float, y: float) -> int:
        c, r = self.to_cell(x, y)
        if not (self.in_grid(c, r) and self.free[r, c]):
            p = self.nearest_free(x, y, max_radius=0.5)
            if p is None:
                raise ValueError(f"point ({x:.2f}, {y:.2f}) is not in free space")
            c, r = self.to_cell(*p)
        return r * self.shape[1] + c

    def distance_field(self, x: float, y: float) -> np.ndarray:
        """Geodesic distance (m) from a point to every cell (inf where unreachable)."""
        key = self.to_cell(x, y)
        if key not in self._field_cache:
            src = self._cell_index(x, y)
            d = dijkstra(self._build_graph(), directed=False, indices=src)
            self._field_cache[key] = d.reshape(self.shape)
        return self._field_cache[key]

    def distances(self, points: list[tuple[float, float]]) -> np.ndarray:
        """All-pairs geodesic distances between points, as a (N, N) matrix (inf: unreachable)."""
        srcs = [self._cell_index(x, y) for x, y in points]
        d = dijkstra(self._build_graph(), directed=False, indices=srcs)
        return d[:, srcs]

    def path(self, start: tuple[float, float], goal: tuple[float, float]) -> list[tuple[float, float]]:
        """Shortest free path from start to goal as world points ([] if unreachable)."""
        src = self._cell_index(*start)
        dst = self._cell_index(*goal)
        _, pred = dijkstra(self._build_graph(), directed=False, indices=src,
                           return_predecessors=True)
        if pred[dst] < 0 and dst != src:
            return []
        cells = [dst]
        while cells[-1] != src:
            cells.append(int(pred[cells[-1]]))
        w = self.shape[1]
        pts = [self.to_world(i % w, i // w) for i in reversed(cells)]
        pts[0] = (float(start[0]), float(start[1]))
        pts[-1] = (float(goal[0]), float(goal[1]))
        return pts

    def component_mask(self, x: float, y: float) -> np.ndarray:
        """Free cells connected to a point."""
        labels, _ = ndimage.label(self.free, structure=np.ones((3, 3)))
        p = self.nearest_free(x, y, 0.5)
        if p is None:
            return np.zeros(self.shape, dtype=bool)
        c, r = self.to_cell(*p)
        return labels == labels[r, c]

    # ------------------------------------------------------------- approaches
    def approach_candidates(self, furniture_id: str) -> list[tuple[float, float, float]]:
        """Free poses in front of each side of a furniture footprint, facing it."""
        f = self.world.furniture_by_id(furniture_id)
        x0, y0, x1, y1 = f.bounds
        off = ROBOT_RADIUS + 0.15
        out = []
        for side in ("s", "n", "w", "e"):
            for t in (0.5, 0.3, 0.7, 0.15, 0.85):
                if side == "s":
                    p = (x0 + t * (x1 - x0), y0 - off, math.pi / 2)
                elif side == "n":
                    p = (x0 + t * (x1 - x0), y1 + off, -math.pi / 2)
                elif side == "w":
                    p = (x0 - off, y0 + t * (y1 - y0), 0.0)
                else:
                    p = (x1 + off, y0 + t * (y1 - y0), math.pi)
                if self.is_free(p[0], p[1]) and self.world.distance_to_furniture(
                    p[0], p[1], furniture_id
                ) <= REACH:
                    out.append(p)
        return out

    def assign_approaches(self, reachable: np.ndarray | None = None) -> list[str]:
        """Fill in ``approach`` for furniture lacking one; returns ids that have none possible."""
        missing = []
        for f in self.world.furniture:
            if f.approach is not None:
                continue
            cands = self.approach_candidates(f.id)
            if reachable is not None:
                cands = [p for p in cands if reachable[self.to_cell(p[0], p[1])[::-1]]]
            if cands:
                f.approach = tuple(round(float(v), 3) for v in cands[0])
            else:
                missing.append(f.id)
        return missing
