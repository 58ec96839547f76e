"""Rigid-body physics of the continuous world: a differential-drive disc robot, its collisions,
and its gripper (pick, place, open, close within reach).

The robot is a disc of radius :data:`~embodied_collab.sim.world.ROBOT_RADIUS`. Obstacles are wall
segments (with the occupancy grid's wall thickness), furniture footprints (axis-aligned boxes)
and objects lying on the floor (discs). Motion is integrated in substeps no longer than
``max_substep`` metres, each checked exactly, so the robot cannot tunnel through a thin wall at
any speed; on contact it stops at the last free position found by bisection.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from embodied_collab.sim.navgrid import WALL_THICKNESS
from embodied_collab.sim.world import REACH, ROBOT_RADIUS, Furniture, World, WorldObject

logger = logging.getLogger(__name__)

WALL_HALF = WALL_THICKNESS / 2
_GRID_RES = 0.05
_GRID_CACHE: dict[bytes, tuple] = {}  # static clearance grids by geometry (worlds are reused)


class Obstacles:
    """Collision geometry of a world: static walls and furniture, plus floor objects.

    Static clearance is precomputed on a 5 cm grid as a broad phase; positions close to an
    obstacle are checked exactly. Call :meth:`refresh_objects` after objects move.

    Args:
        world: the world (read, not copied: furniture and walls are taken as static).
        extra_objects: additional floor objects (e.g. clutter) that are not in ``world``.
    """

    def __init__(self, world: World, extra_objects: list[WorldObject] | None = None) -> None:
        self.world = world
        self.extra_objects = list(extra_objects or [])
        self.walls = world.wall_segments()
        self.boxes = world.furniture_boxes()
        w = self.walls
        axis = (np.abs(w[:, 0] - w[:, 2]) < 1e-9) | (np.abs(w[:, 1] - w[:, 3]) < 1e-9)
        # axis-aligned walls become thin boxes (square ends); others stay segments
        aw = w[axis]
        wall_boxes = np.stack([np.minimum(aw[:, 0], aw[:, 2]) - WALL_HALF,
                               np.minimum(aw[:, 1], aw[:, 3]) - WALL_HALF,
                               np.maximum(aw[:, 0], aw[:, 2]) + WALL_HALF,
                               np.maximum(aw[:, 1], aw[:, 3]) + WALL_HALF], axis=1)
        self._solid = np.concatenate([wall_boxes.reshape(-1, 4), self.boxes]).reshape(-1, 4)
        self._bx0, self._by0, self._bx1, self._by1 = (self._solid[:, i].copy() for i in range(4))
        seg = w[~axis]
        a = seg[:, :2]
        d = seg[:, 2:] - a
        self._wa, self._wd = a, d
        self._wl2 = np.maximum((d * d).sum(axis=1), 1e-12)
        self.circles = np.zeros((0, 3))
        self.refresh_objects()
        self._build_grid()

    @property
    def solid_boxes(self) -> np.ndarray:
        """Axis-aligned walls (as boxes of the wall thickness) and furniture, (N, 4)."""
        return self._solid

    def refresh_objects(self) -> None:
        """Re-read the floor objects (after a pick/place or a change of clutter)."""
        objs = [o for o in self.world.objects if o.relation == "floor"] + self.extra_objects
        self.circles = np.asarray(
            [(o.position[0], o.position[1], o.radius) for o in objs], dtype=np.float64
        ).reshape(-1, 3)

    # --------------------------------------------------------------- distances
    def static_gap(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance from points to the nearest wall surface or furniture box (vectorised)."""
        x = np.asarray(x, dtype=np.float64)[..., None]
        y = np.asarray(y, dtype=np.float64)[..., None]
        gap = np.full(np.broadcast(x, y).shape[:-1], np.inf)
        if len(self._bx0):
            ddx = np.maximum(np.maximum(self._bx0 - x, x - self._bx1), 0.0)
            ddy = np.maximum(np.maximum(self._by0 - y, y - self._by1), 0.0)
            gap = np.minimum(gap, np.sqrt((ddx * ddx + ddy * ddy).min(axis=-1)))
        if len(self._wa):
            ax, ay = self._wa[:, 0], self._wa[:, 1]
            dx, dy = self._wd[:, 0], self._wd[:, 1]
            t = np.clip(((x - ax) * dx + (y - ay) * dy) / self._wl2, 0.0, 1.0)
            dist = np.hypot(x - ax - t * dx, y - ay - t * dy) - WALL_HALF
            gap = np.minimum(gap, dist.min(axis=-1))
        return gap

    def _build_grid(self) -> None:
        key = self.walls.tobytes() + b"|" + self.boxes.tobytes()
        if key in _GRID_CACHE:
            self._origin, self._grid, self._shape = _GRID_CACHE[key]
            return
        if len(self.walls) or len(self.boxes):
            pts = np.concatenate([self.walls[:, :2], self.walls[:, 2:], self.boxes[:, :2],
                                  self.boxes[:, 2:]]).reshape(-1, 2)
            lo, hi = pts.min(axis=0) - 1.0, pts.max(axis=0) + 1.0
        else:
            lo, hi = np.array([-10.0, -10.0]), np.array([10.0, 10.0])
        self._origin = lo
        nx = int(math.ceil((hi[0] - lo[0]) / _GRID_RES)) + 1
        ny = int(math.ceil((hi[1] - lo[1]) / _GRID_RES)) + 1
        xs = lo[0] + np.arange(nx) * _GRID_RES
        ys = lo[1] + np.arange(ny) * _GRID_RES
        gx, gy = np.meshgrid(xs, ys)
        step = max(1, 4096 // max(nx, 1))
        rows = [self.static_gap(gx[r:r + step], gy[r:r + step]) for r in range(0, ny, step)]
        # a lower bound of the gap anywhere within the cell around a grid point
        self._grid = np.concatenate(rows) - _GRID_RES * 0.75
        self._shape = (ny, nx)
        if len(_GRID_CACHE) >= 32:
            _GRID_CACHE.pop(next(iter(_GRID_CACHE)))
        _GRID_CACHE[key] = (self._origin, self._grid, self._shape)

    def gap(self, x: float, y: float) -> float:
        """Free distance between a robot centred at (x, y) and the nearest obstacle surface
        (negative: overlapping)."""
        c = int(round((x - self._origin[0]) / _GRID_RES))
        r = int(round((y - self._origin[1]) / _GRID_RES))
        if 0 <= r < self._shape[0] and 0 <= c < self._shape[1] and self._grid[r, c] > ROBOT_RADIUS:
            g = float(self._grid[r, c])  # lower bound: exact value not needed when clear
        else:
            g = float(self.static_gap(np.float64(x), np.float64(y)))
        if len(self.circles):
            c3 = self.circles
            g = min(g, float((np.hypot(c3[:, 0] - x, c3[:, 1] - y) - c3[:, 2]).min()))
        return g - ROBOT_RADIUS

    def collides(self, x: float, y: float) -> bool:
        """Whether the robot disc centred at (x, y) overlaps an obstacle."""
        return self.gap(x, y) < 0.0


def integrate(
    obstacles: Obstacles,
    pose: tuple[float, float, float],
    v: float,
    w: float,
    dt: float,
    max_substep: float = 0.04,
) -> tuple[tuple[float, float, float], bool]:
    """Drive a differential-drive robot at (v, w) for ``dt`` seconds with collision checks.

    Args:
        obstacles: the collision geometry.
        pose: start (x, y, theta).
        v: linear speed (m/s).
        w: angular speed (rad/s).
        dt: duration (s).
        max_substep: longest translation per exactly-checked substep (m).

    Returns:
        (new pose, collided). On contact the robot stops at the last collision-free position
        (to within a millimetre) and keeps the rotation of that substep.
    """
    x, y, th = pose
    n = max(1, int(math.ceil(abs(v) * dt / max_substep)))
    h = dt / n
    collided = False
    for _ in range(n):
        if abs(w) > 1e-9:
            th1 = th + w * h
            nx = x + v / w * (math.sin(th1) - math.sin(th))
            ny = y - v / w * (math.cos(th1) - math.cos(th))
        else:
            th1 = th
            nx = x + v * h * math.cos(th)
            ny = y + v * h * math.sin(th)
        if v != 0.0:
            g1 = obstacles.gap(nx, ny)
            if g1 < 0.0 and g1 < obstacles.gap(x, y):  # moving out of an overlap is allowed
                lo, hi = 0.0, 1.0
                for _ in range(12):
                    mid = 0.5 * (lo + hi)
                    if obstacles.gap(x + mid * (nx - x), y + mid * (ny - y)) < 0.0:
                        hi = mid
                    else:
                        lo = mid
                nx, ny = x + lo * (nx - x), y + lo * (ny - y)
                collided = True
        x, y, th = nx, ny, th1
        if collided:
            v = 0.0
    th = (th + math.pi) % (2 * math.pi) - math.pi
    return (x, y, th), collided


# --------------------------------------------------------------------------- gripper


def _object_distance(world: World, obj: WorldObject, x: float, y: float) -> float:
    """How far the gripper must reach for an object: to its support's footprint, or to the
    object itself when it lies on the floor."""
    if obj.support is not None and obj.relation in ("on", "in"):
        return world.distance_to_furniture(x, y, obj.support)
    return max(0.0, math.hypot(obj.position[0] - x, obj.position[1] - y) - obj.radius)


def pick(world: World, object_id: str) -> tuple[bool, str]:
    """Pick up an object within :data:`REACH` of the robot.

    Returns:
        (ok, message): the message says what happened or exactly why not.
    """
    if not world.has(object_id) or not isinstance(world.entity(object_id), WorldObject):
        return False, f"pick failed: there is no object {object_id!r} in this world"
    obj = world.object_by_id(object_id)
    robot = world.robot
    if robot.holding == object_id:
        return False, f"pick failed: already holding {object_id}"
    if robot.holding is not None:
        return False, f"pick failed: the gripper already holds {robot.holding}; place it first"
    if obj.relation == "in" and obj.support and not world.furniture_by_id(obj.support).open:
        return False, f"pick failed: {object_id} is inside {obj.support}, which is closed; open it"
    d = _object_distance(world, obj, robot.x, robot.y)
    if d > REACH + 1e-6:
        where = obj.support or "it"
        return False, (f"pick failed: {object_id} is out of reach ({d:.2f} m away, reach "
                       f"{REACH:.2f} m); drive to {where} first")
    robot.holding = object_id
    obj.relation, obj.support = "held", None
    obj.position, obj.z = (robot.x, robot.y), 0.0
    return True, f"picked {object_id}"


def _free_spot(world: World, f: Furniture, obj: WorldObject, near: tuple[float, float]):
    x0, y0, x1, y1 = f.bounds
    m = obj.radius + 0.03
    if x1 - x0 < 2 * m or y1 - y0 < 2 * m:
        return None
    xs = np.linspace(x0 + m, x1 - m, max(2, int((x1 - x0) / 0.06)))
    ys = np.linspace(y0 + m, y1 - m, max(2, int((y1 - y0) / 0.06)))
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    ok = np.ones(gx.shape, dtype=bool)
    for o in world.objects_at(f.id):
        if o.id != obj.id:
            ok &= np.hypot(gx - o.position[0], gy - o.position[1]) >= o.radius + obj.radius + 0.02
    if not ok.any():
        return None
    d = np.hypot(gx - near[0], gy - near[1])
    d[~ok] = np.inf
    i = int(np.argmin(d))
    return (round(float(gx[i]), 3), round(float(gy[i]), 3))


def place(world: World, furniture_id: str, relation: str | None = None) -> tuple[bool, str]:
    """Put the held object on or in a piece of furniture within reach.

    Args:
        world: the world (mutated on success).
        furniture_id: where to put it.
        relation: ``"on"`` or ``"in"``; by default ``"in"`` an open container, else ``"on"``.

    Returns:
        (ok, message).
    """
    if not world.has(furniture_id) or not isinstance(world.entity(furniture_id), Furniture):
        return False, f"place failed: there is no furniture {furniture_id!r} in this world"
    f = world.furniture_by_id(furniture_id)
    robot = world.robot
    if robot.holding is None:
        return False, "place failed: the gripper is empty"
    if relation is None:
        relation = "in" if f.container and (f.open or not f.surface) else "on"
    if relation not in ("on", "in"):
        return False, f"place failed: relation must be 'on' or 'in', got {relation!r}"
    if relation == "in" and not f.container:
        return False, f"place failed: {furniture_id} is not a container"
    if relation == "in" and not f.open:
        return False, f"place failed: {furniture_id} is closed; open it first"
    if relation == "on" and not f.surface:
        return False, f"place failed: nothing can stand on {furniture_id}"
    d = world.distance_to_furniture(robot.x, robot.y, furniture_id)
    if d > REACH + 1e-6:
        return False, (f"place failed: {furniture_id} is out of reach ({d:.2f} m away, reach "
                       f"{REACH:.2f} m)")
    obj = world.object_by_id(robot.holding)
    spot = _free_spot(world, f, obj, (robot.x, robot.y))
    if spot is None:
        return False, f"place failed: no free space {relation} {furniture_id}"
    obj.relation, obj.support, obj.position = relation, furniture_id, spot
    obj.z = f.inner_height if relation == "in" else f.height
    robot.holding = None
    return True, f"placed {obj.id} {relation} {furniture_id}"


def set_open(world: World, furniture_id: str, value: bool = True) -> tuple[bool, str]:
    """Open (or close) a container within reach. Opening an open one succeeds and says so."""
    verb = "open" if value else "close"
    if not world.has(furniture_id) or not isinstance(world.entity(furniture_id), Furniture):
        return False, f"{verb} failed: there is no furniture {furniture_id!r} in this world"
    f = world.furniture_by_id(furniture_id)
    if not f.container:
        return False, f"{verb} failed: {furniture_id} is a {f.category}, which has no door"
    d = world.distance_to_furniture(world.robot.x, world.robot.y, furniture_id)
    if d > REACH + 1e-6:
        return False, (f"{verb} failed: {furniture_id} is out of reach ({d:.2f} m away, reach "
                       f"{REACH:.2f} m)")
    if f.open == value:
        return True, f"{furniture_id} is already {'open' if value else 'closed'}"
    f.open = value
    return True, f"{'opened' if value else 'closed'} {furniture_id}"
