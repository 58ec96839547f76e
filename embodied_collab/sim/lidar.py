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
        segs = [self.obstacles.walls]
        b = self.obstacles.boxes
        if len(b):
            x0, y0, x1, y1 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
            segs += [np.stack(s, axis=1) for s in ((x0, y0, x1, y0), (x1, y0, x1, y1),
                                                   (x1, y1, x0, y1), (x0, y1, x0, y0))]
        s = np.concatenate(segs).reshape(-1, 4)
        self._a = s[:, :2].copy()
        self._e = s[:, 2:] - s[:, :2]

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
        dx, dy = np.cos(ang)[:, None], np.sin(ang)[:, None]
        best = np.full(self.beams, self.range_max)
        if len(self._a):
            ex, ey = self._e[:, 0], self._e[:, 1]
            px, py = self._a[:, 0] - x, self._a[:, 1] - y
            den = dx * ey - dy * ex  # (B, S)
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = 1.0 / den
                t = (px * ey - py * ex) * inv
                u = (px * dy - py * dx) * inv
            hit = (t > 0) & (u >= 0) & (u <= 1)
            best = np.minimum(best, np.where(hit, t, np.inf).min(axis=1))
        c = self.obstacles.circles
        if len(c):
            ox, oy, r = c[:, 0] - x, c[:, 1] - y, c[:, 2]
            b = ox * dx + oy * dy  # projection of the centre on the ray
            disc = b * b - (ox * ox + oy * oy - r * r)
            with np.errstate(invalid="ignore"):
                t = b - np.sqrt(disc)
            t = np.where((disc >= 0) & (t > 0), t, np.inf)
            best = np.minimum(best, t.min(axis=1))
        if self.noise > 0 and rng is not None:
            best = best + rng.normal(0.0, self.noise, size=best.shape)
        return np.clip(best, self.range_min, self.range_max).astype(np.float32)
