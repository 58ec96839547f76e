"""A planar lidar: vectorised ray casting against walls, furniture footprints and floor objects.

Walls are seen at their centre line, furniture as its footprint rectangle and floor objects as
discs (the scan plane is below every furniture top and above the floor). Ranges follow the
``sensor_msgs/LaserScan`` convention: beam ``i`` points at ``angle_min + i * angle_increment``
relative to the robot's heading, counter-clockwise; a beam that hits nothing reads ``range_max``.
"""

from __future__ import annotations

import math

import numpy as np

from embodied_collab.sim.physics import Obstacles


class Lidar:
    """Ray-casting lidar over an :class:`Obstacles` geometry.

    Args:
        obstacles: the collision geometry to scan.
        beams: number of rays.
        fov: field of view (rad). A full circle (2*pi) spaces the beams without repeating the
            first angle.
        range_max: maximum range (m).
        range_min: minimum range (m); closer hits read ``range_min``.
        noise: Gaussian range noise standard deviation (m).
    """

    def __init__(
        self,
        obstacles: Obstacles,
        beams: int = 64,
        fov: float = 2 * math.pi,
        range_max: float = 6.0,
        range_min: float = 0.05,
        noise: float = 0.0,
    ) -> None:
        if beams < 1:
            raise ValueError(f"beams must be >= 1, got {beams}")
        self.obstacles = obstacles
        self.beams = beams
        self.range_max = float(range_max)
        self.range_min = float(range_min)
        self.noise = float(noise)
        full = fov >= 2 * math.pi - 1e-9
        self.angle_increment = fov / beams if full else (fov / (beams - 1) if beams > 1 else 0.0)
        self.angle_min = -math.pi if full else -fov / 2
        self.angle_max = self.angle_min + self.angle_increment * (beams - 1)
        self.angles = self.angle_min + self.angle_increment * np.arange(beams)
        self._rebuild_segments()

    def _rebuild_segments(self) -> None:
        # Walls are seen as the physics sees them: axis-aligned walls as boxes of the wall
        # thickness (so a door jamb's corner is visible), other walls as centre-line segments.
        w = self.obstacles.walls
        axis = (np.abs(w[:, 0] - w[:, 2]) < 1e-9) | (np.abs(w[:, 1] - w[:, 3]) < 1e-9)
        segs = [w[~axis]]
        b = self.obstacles.solid_boxes
        if len(b):
            x0, y0, x1, y1 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
            segs += [np.stack(s, axis=1) for s in ((x0, y0, x1, y0), (x1, y0, x1, y1),
                                                   (x1, y1, x0, y1), (x0, y1, x0, y0))]
        s = np.concatenate(segs).reshape(-1, 4)
        vert = np.abs(s[:, 0] - s[:, 2]) < 1e-9
        hori = ~vert & (np.abs(s[:, 1] - s[:, 3]) < 1e-9)
        other = ~vert & ~hori
        # axis-aligned segments (every generated wall and furniture edge) take a cheap path
        v, h = s[vert], s[hori]
        # one row per axis-aligned segment: hit at t = (c - p) / d_axis, then check |q - mid| <= half
        self._c = np.concatenate([v[:, 0], h[:, 1]])
        self._is_h = np.concatenate([np.zeros(len(v), dtype=bool), np.ones(len(h), dtype=bool)])
        lo = np.concatenate([np.minimum(v[:, 1], v[:, 3]), np.minimum(h[:, 0], h[:, 2])])
        hi = np.concatenate([np.maximum(v[:, 1], v[:, 3]), np.maximum(h[:, 0], h[:, 2])])
        self._mid, self._half = 0.5 * (lo + hi), 0.5 * (hi - lo) + 1e-9
        # column k of [1/dx, 1/dy, dy, dx] per segment: inverse along the axis, slope of the other
        self._inv_col = np.where(self._is_h, 1, 0)
        self._d_col = np.where(self._is_h, 3, 2)
        o = s[other]
        self._a = o[:, :2].copy()
        self._e = o[:, 2:] - o[:, :2]

    def scan(
        self, pose: tuple[float, float, float], rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Ranges (float32, metres) of one scan from ``pose``.

        Args:
            pose: (x, y, theta) of the lidar.
            rng: source of noise (needed only when ``noise`` > 0).
        """
        x, y, th = pose
        ang = self.angles + th
        cx, cy = np.cos(ang), np.sin(ang)
        best = np.full(self.beams, self.range_max)
        big = 1e12
        if len(self._c):
            sx = np.where(np.abs(cx) < 1e-12, 1e-12, cx)
            sy = np.where(np.abs(cy) < 1e-12, 1e-12, cy)
            cols = np.stack([1.0 / sx, 1.0 / sy, cy, cx], axis=1)  # (B, 4)
            p = np.where(self._is_h, y, x)  # robot coordinate along each segment's normal
            q = np.where(self._is_h, x, y)
            t = (self._c - p) * cols[:, self._inv_col]
            off = q - self._mid + t * cols[:, self._d_col]
            t = np.where((t > 0) & (np.abs(off) <= self._half), t, big)
            best = np.minimum(best, t.min(axis=1))
        dx, dy = cx[:, None], cy[:, None]
        if len(self._a):
            ex, ey = self._e[:, 0], self._e[:, 1]
            px, py = self._a[:, 0] - x, self._a[:, 1] - y
            den = dx * ey - dy * ex  # (B, S)
            den = np.where(np.abs(den) < 1e-12, 1e-12, den)
            inv = 1.0 / den
            t = (px * ey - py * ex) * inv
            u = (px * dy - py * dx) * inv
            t[(t <= 0) | (u < 0) | (u > 1)] = big
            best = np.minimum(best, t.min(axis=1))
        c = self.obstacles.circles
        if len(c):
            ox, oy, r = c[:, 0] - x, c[:, 1] - y, c[:, 2]
            b = ox * dx + oy * dy  # projection of the centre on the ray
            disc = b * b - (ox * ox + oy * oy - r * r)
            t = b - np.sqrt(np.maximum(disc, 0.0))
            t[(disc < 0) | (t <= 0)] = big
            best = np.minimum(best, t.min(axis=1))
        if self.noise > 0 and rng is not None:
            best = best + rng.normal(0.0, self.noise, size=best.shape)
        best = np.maximum(np.minimum(best, self.range_max), self.range_min)
        return best.astype(np.float32)
