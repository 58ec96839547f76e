"""Egocentric RGB-D camera: a column ray caster over the household world (numpy only).

The camera is a pinhole at height ``z`` above the floor with zero pitch and roll, looking along
the robot's heading. Each image column ``u`` casts a ray in the floor plane parametrised by
forward depth ``Z`` (the ray's direction has unit forward component), so a point at depth ``Z``
and height ``h`` lands exactly on row ``cy - fy * (h - z) / Z``. Per column the nearest wall is
found first (walls are full height and occlude everything behind); the floor and ceiling fill
the rest; then furniture and objects whose entry depth lies in front of that wall are drawn into
the depth buffer, pixel block by pixel block. See ``docs/rendering.md``.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from embodied_collab.sim import catalog
from embodied_collab.sim.world import WALL_HEIGHT, Furniture, World, WorldObject

NEAR = 0.05
SEAM, PANEL = 0.3, 0.72  # paint factors of a ball's seams and of every other panel
_NOISE = np.random.default_rng(12345).uniform(-1.0, 1.0, 4096).astype(np.float32)
_CEILING = np.array([232, 230, 226], dtype=np.float32)
_MAX_INTENSITY = 2.0  # brightest shade x light the colour table resolves
_LEVELS = (np.arange(256, dtype=np.float32) + 0.5) * np.float32(_MAX_INTENSITY / 256)


def _hash(i: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random value in [-1, 1] per integer lattice index."""
    return _NOISE[np.asarray(i, dtype=np.int64) & 4095]


def _hash2(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    return _hash(np.asarray(i, dtype=np.int64) * 73856093 ^ np.asarray(j, dtype=np.int64) * 19349663
                 >> 3)


@dataclass
class Frame:
    """One rendered camera frame with ground truth for detection.

    Attributes:
        rgb: uint8 (H, W, 3) image.
        depth: float32 (H, W) depth along the optical axis in metres (``32FC1``).
        instance: int16 (H, W): index into ``world.objects`` of the object seen at each pixel,
            -1 for walls, floor, ceiling and furniture.
        object_ids: ids of ``world.objects`` at render time (``instance`` indexes this list).
        categories, colours: per object index, for :attr:`boxes`.
        full_pixels: per object index, how many pixels it would cover if nothing occluded it.
    """

    rgb: np.ndarray
    depth: np.ndarray
    instance: np.ndarray
    object_ids: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    colours: list[str] = field(default_factory=list)
    full_pixels: dict[int, int] = field(default_factory=dict)

    @cached_property
    def boxes(self) -> list[dict]:
        """Visible objects as ``{"object_id", "category", "colour", "box": [x0, y0, x1, y1],
        "visible_fraction"}``, from the occlusion-aware instance mask. ``box`` is in pixels,
        ``x1``/``y1`` exclusive; ``visible_fraction`` is visible / unoccluded in-image pixels."""
        out = []
        ids, counts = np.unique(self.instance[self.instance >= 0], return_counts=True)
        for idx, count in zip(ids.tolist(), counts.tolist(), strict=True):
            m = self.instance == idx
            rows = np.flatnonzero(m.any(axis=1))
            cols = np.flatnonzero(m.any(axis=0))
            full = max(self.full_pixels.get(idx, count), count)
            out.append({
                "object_id": self.object_ids[idx],
                "category": self.categories[idx],
                "colour": self.colours[idx],
                "box": [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1],
                "visible_fraction": round(count / full, 4),
            })
        return out


@dataclass
class _Prim:
    """A vertical solid: footprint (box or disc), height span, albedo, owner."""

    kind: str  # "box" | "disc"
    geom: tuple[float, float, float, float]  # box: x0, y0, x1, y1; disc: cx, cy, r, 0
    z0: float
    z1: float
    albedo: np.ndarray
    instance: int = -1
    sphere: bool = False
    grain: float = 0.0  # strength of a wood-grain texture on the sides
    top_albedo: np.ndarray | None = None  # top face colour (default: albedo, a little lighter)
    pattern: str = ""  # sphere surface detail: "seams" (ball panels), "apple" (gloss, dimple)
    phase: float = 0.0  # azimuth (rad) of the pattern, fixed per object


def _front_side(world: World, f: Furniture) -> str:
    """Which side of ``f`` faces the room ('s', 'n', 'w' or 'e'), from its approach pose."""
    x0, y0, x1, y1 = f.bounds
    if f.approach is not None:
        px, py = f.approach[0], f.approach[1]
    else:
        px, py = world.room(f.room).centre if world.has(f.room) else f.centre
    d = {"s": y0 - py, "n": py - y1, "w": x0 - px, "e": px - x1}
    return max(d, key=d.get)


def _furniture_prims(world: World, f: Furniture) -> list[_Prim]:
    col = np.array(catalog.FURNITURE_COLOURS.get(f.colour, (150, 110, 70)), dtype=np.float32)
    x0, y0, x1, y1 = f.bounds
    h = f.height
    grain = 0.0 if f.category in ("fridge", "sink", "bed", "sofa") else 0.08
    if not (f.container and f.open):
        return [_Prim("box", f.bounds, 0.0, h, col, grain=grain)]
    # open container: a shell (back, sides, top) around a shelf at inner_height
    t = 0.04
    inner = col * 0.55
    prims = [
        _Prim("box", f.bounds, 0.0, f.inner_height, inner),
        _Prim("box", f.bounds, h - t, h, col, grain=grain),
    ]
    side = _front_side(world, f)
    if side in ("s", "n"):
        back = (x0, y1 - t, x1, y1) if side == "s" else (x0, y0, x1, y0 + t)
        walls = [(x0, y0, x0 + t, y1), (x1 - t, y0, x1, y1)]
    else:
        back = (x1 - t, y0, x1, y1) if side == "w" else (x0, y0, x0 + t, y1)
        walls = [(x0, y0, x1, y0 + t), (x0, y1 - t, x1, y1)]
    prims.append(_Prim("box", back, 0.0, h, inner * 0.8))
    prims += [_Prim("box", w, 0.0, h, col, grain=grain) for w in walls]
    return prims


_STEM = np.array([85, 55, 30], dtype=np.float32)
_LEAF = np.array([55, 135, 45], dtype=np.float32)


def _object_phase(obj: WorldObject) -> float:
    """A fixed azimuth per object (stable across processes), for handles, leaves and seams."""
    return (zlib.crc32(obj.id.encode()) % 3600) * (2 * math.pi / 3600)


def _object_prims(obj: WorldObject, index: int) -> list[_Prim]:
    col = np.array(catalog.COLOURS.get(obj.colour, (128, 128, 128)), dtype=np.float32)
    x, y = obj.position
    r, h, z = obj.radius, obj.height, obj.z
    shape = catalog.OBJECTS[obj.category].shape if obj.category in catalog.OBJECTS else "box"
    phase = _object_phase(obj)
    if shape == "bottle":
        return [
            _Prim("disc", (x, y, r, 0.0), z, z + 0.6 * h, col, index),
            _Prim("disc", (x, y, 0.42 * r, 0.0), z + 0.6 * h, z + 0.93 * h, col, index),
            _Prim("disc", (x, y, 0.48 * r, 0.0), z + 0.93 * h, z + h, col * 0.5 + 40, index),
        ]
    if shape == "cylinder":
        if obj.category != "cup":
            return [_Prim("disc", (x, y, r, 0.0), z, z + h, col, index)]
        # a mug: open top (dark inside) and a handle on one side (one of four, per object)
        side = int(phase // (math.pi / 2)) % 4
        ux, uy = ((1, 0), (0, 1), (-1, 0), (0, -1))[side]
        cx, cy = x + ux * 1.22 * r, y + uy * 1.22 * r
        hx, hy = (0.24 * r, 0.09 * r) if ux else (0.09 * r, 0.24 * r)
        return [_Prim("disc", (x, y, r, 0.0), z, z + h, col, index, top_albedo=col * 0.32 + 8),
                _Prim("box", (cx - hx, cy - hy, cx + hx, cy + hy), z + 0.2 * h, z + 0.8 * h,
                      col * 0.92, index)]
    if shape == "sphere":
        if obj.category == "apple":
            # slightly flattened body with a glossy skin and a dimple, a stem and a leaf
            body = 0.8 * h
            sr = max(0.1 * r, 0.005)
            lx, ly = x + 0.32 * r * math.cos(phase), y + 0.32 * r * math.sin(phase)
            lr = 0.2 * r
            return [
                _Prim("disc", (x, y, r, 0.0), z, z + body, col, index, sphere=True,
                      pattern="apple", phase=phase),
                _Prim("disc", (x, y, sr, 0.0), z + 0.7 * h, z + h, _STEM, index),
                _Prim("box", (lx - lr, ly - lr, lx + lr, ly + lr), z + 0.8 * h,
                      z + 0.86 * h, _LEAF, index, top_albedo=_LEAF),
            ]
        # a ball: a perfect sphere with seams between panels
        return [_Prim("disc", (x, y, r, 0.0), z, z + h, col, index, sphere=True,
                      pattern="seams", phase=phase)]
    if shape == "slab":
        return [_Prim("box", (x - r, y - 0.75 * r, x + r, y + 0.75 * r), z, z + h, col, index)]
    a = 0.85 * r
    return [_Prim("box", (x - a, y - a, x + a, y + a), z, z + h, col, index)]


class Camera:
    """A pinhole RGB-D camera rendering a :class:`World` from a robot pose.

    Args:
        width: image width (px).
        height: image height (px).
        hfov: horizontal field of view (degrees); pixels are square (``fy == fx``).
        z: optical centre height above the floor (m).
        far: largest depth reported (m).
        noise: per-pixel RGB noise standard deviation (0-255), needs ``rng`` at render time.
        depth_noise: relative depth noise standard deviation.
    """

    def __init__(self, width: int = 160, height: int = 120, hfov: float = 90.0, z: float = 1.0,
                 far: float = 20.0, noise: float = 0.0, depth_noise: float = 0.0) -> None:
        if width < 2 or height < 2:
            raise ValueError(f"image size must be at least 2x2, got {width}x{height}")
        if not 0 < hfov < 180:
            raise ValueError(f"hfov must be in (0, 180) degrees, got {hfov}")
        if not 0 < z < WALL_HEIGHT:
            raise ValueError(f"camera height must be in (0, {WALL_HEIGHT}) m, got {z}")
        self.width, self.height, self.z, self.far = int(width), int(height), float(z), float(far)
        self.noise, self.depth_noise = float(noise), float(depth_noise)
        self.fx = (self.width / 2) / math.tan(math.radians(hfov) / 2)
        self.fy = self.fx
        self.cx = (self.width - 1) / 2
        self.cy = (self.height - 1) / 2
        # lateral slope (positive = left) per column, vertical slope (positive = up) per row
        self._a = -(np.arange(self.width) - self.cx) / self.fx
        s = -(np.arange(self.height) - self.cy) / self.fy
        s[s == 0] = 1e-9
        self._s = s
        self._inv_s = (1.0 / s)[:, None]
        self._half = int(np.searchsorted(-s, 0.0))  # first row looking below the horizon
        self._zfc = np.where(s < 0, self.z / -np.minimum(s, -1e-9),
                             (WALL_HEIGHT - self.z) / np.maximum(s, 1e-9))
        self._zfc32 = np.minimum(self._zfc, 1e4).astype(np.float32)
        self._s32 = s.astype(np.float32)
        self._zf_rows = self._zfc32[self._half:]

    @property
    def intrinsics(self) -> tuple[float, float, float, float, int, int]:
        """(fx, fy, cx, cy, width, height), ROS ``CameraInfo`` convention (pixel centres at
        integer coordinates, optical frame x right, y down, z forward)."""
        return (self.fx, self.fy, self.cx, self.cy, self.width, self.height)

    def project(self, pose: tuple[float, float, float], point: tuple[float, float, float]):
        """Pixel (u, v) and depth Z of a world point (x, y, h), or None if behind the camera."""
        x, y, th = pose
        dx, dy = point[0] - x, point[1] - y
        zf = dx * math.cos(th) + dy * math.sin(th)
        left = -dx * math.sin(th) + dy * math.cos(th)
        if zf <= NEAR:
            return None
        return (self.cx - self.fx * left / zf, self.cy - self.fy * (point[2] - self.z) / zf, zf)

    # -------------------------------------------------------------------- render
    def render(self, world: World, pose: tuple[float, float, float] | None = None,
               extra_objects: list[WorldObject] | None = None,
               rng: np.random.Generator | None = None) -> Frame:
        """Render the world from ``pose`` (default: the robot's pose).

        Args:
            world: the world to draw.
            pose: camera (x, y, theta).
            extra_objects: objects drawn in addition to ``world.objects`` (e.g. clutter); their
                instance indices continue after ``world.objects``.
            rng: noise source when ``noise``/``depth_noise`` > 0.
        """
        if pose is None:
            pose = world.robot.pose
        x, y, th = (float(v) for v in pose)
        H, W = self.height, self.width
        c, s_ = math.cos(th), math.sin(th)
        Dx = c - self._a * s_
        Dy = s_ + self._a * c
        ap = world.appearance
        L = self._light_dir(world)
        amb = float(ap.ambient)

        # ---- walls: nearest hit per column
        zw = np.full(W, np.inf)
        walls = world.wall_segments()
        tw = np.zeros(W)
        nlam = np.zeros(W)
        if len(walls):
            ax, ay = walls[:, 0] - x, walls[:, 1] - y
            ex, ey = walls[:, 2] - walls[:, 0], walls[:, 3] - walls[:, 1]
            dxc, dyc = Dx[:, None], Dy[:, None]
            den = dxc * ey - dyc * ex
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = 1.0 / den
                t = (ax * ey - ay * ex) * inv
                u = (ax * dyc - ay * dxc) * inv
            t = np.where((t > NEAR) & (u >= -1e-9) & (u <= 1 + 1e-9), t, np.inf)
            k = t.argmin(axis=1)
            zw = t[np.arange(W), k]
            with np.errstate(invalid="ignore"):
                hx, hy = x + zw * Dx, y + zw * Dy
            vertical = np.abs(ex[k]) < np.abs(ey[k])
            tw = np.where(vertical, hy, hx)
            tw[~np.isfinite(tw)] = 0.0
            nx = np.where(vertical, -np.sign(Dx), 0.0)
            ny = np.where(vertical, 0.0, -np.sign(Dy))
            nlam = np.clip(nx * L[0] + ny * L[1], 0, 1)
        zw_f = np.where(np.isfinite(zw), zw, self.far * 4).astype(np.float32)

        # ---- background: walls + floor (lower rows) / ceiling (upper rows)
        zfc = self._zfc32[:, None]
        is_wall = zw_f[None, :] <= zfc
        depth = np.where(is_wall, zw_f[None, :], zfc)
        hw = self.z + self._s32[:, None] * zw_f[None, :]  # height of the wall point per pixel
        wall_shade = (amb + (1 - amb) * nlam).astype(np.float32)
        shade = _wall_lut(ap.wall_texture, tw, hw) * wall_shade[None, :]
        mat = is_wall.astype(np.int16)  # 1 wall, 0 other (fixed below)
        hf = self._half
        zf = self._zf_rows[:, None]
        fx_ = x + zf * Dx[None, :].astype(np.float32)
        fy_ = y + zf * Dy[None, :].astype(np.float32)
        fl = ~is_wall[hf:]
        floor_shade = _floor_lut(ap.floor_texture, fx_, fy_) * np.float32(amb + (1 - amb) * L[2])
        np.copyto(shade[hf:], floor_shade, where=fl)
        np.copyto(shade[:hf], np.float32(amb + (1 - amb) * 0.35), where=~is_wall[:hf])
        # materials: 0 wall, 1 floor, 2 ceiling, then two entries (side, top) per primitive
        mat = np.where(is_wall, 0, 2).astype(np.int16)
        mat[hf:][fl] = 1
        instance = np.full((H, W), -1, dtype=np.int16)

        # ---- furniture and objects
        prims: list[_Prim] = []
        for f in world.furniture:
            prims += _furniture_prims(world, f)
        all_objs = list(world.objects) + list(extra_objects or [])
        shown = {o.id for o in world.visible_objects()}
        n_world = len(world.objects)
        for i, o in enumerate(all_objs):
            if i >= n_world or o.id in shown:
                prims += _object_prims(o, i)
        full: dict[int, int] = {}
        self._draw_prims(prims, x, y, Dx, Dy, zw_f, depth, shade, mat, instance, full, L, amb)

        # ---- lighting and colour: intensity quantised to 256 levels, then one table lookup
        palette = np.empty((3 + 2 * len(prims), 3), dtype=np.float32)
        palette[0], palette[1], palette[2] = ap.wall_colour, ap.floor_colour, _CEILING
        for i, p in enumerate(prims):
            palette[3 + 2 * i] = p.albedo
            palette[4 + 2 * i] = (p.top_albedo if p.top_albedo is not None
                                  else p.albedo * (1.0 if p.instance >= 0 else 1.08))
        palette *= np.asarray(ap.tint, dtype=np.float32)
        lut = np.minimum(palette[:, None, :] * _LEVELS[None, :, None], 255).astype(np.uint8)
        inten = shade * (np.float32(ap.light / _MAX_INTENSITY * 255)
                         / (1.0 + np.float32(0.012) * depth * depth))
        idx = np.minimum(inten, 255).astype(np.int32)
        idx += mat.astype(np.int32) << 8
        rgb = np.take(lut.reshape(-1, 3), idx, axis=0)
        if self.noise > 0 and rng is not None:
            noisy = rgb + rng.normal(0.0, self.noise, size=rgb.shape)
            rgb = np.clip(noisy, 0, 255).astype(np.uint8)
        depth = np.minimum(depth, np.float32(self.far))
        if self.depth_noise > 0 and rng is not None:
            depth *= (1.0 + rng.normal(0.0, self.depth_noise, size=depth.shape)).astype(np.float32)
        return Frame(rgb=rgb, depth=depth, instance=instance,
                     object_ids=[o.id for o in all_objs],
                     categories=[o.category for o in all_objs],
                     colours=[o.colour for o in all_objs], full_pixels=full)

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _light_dir(world: World) -> np.ndarray:
        az = ((world.seed or 0) * 2.399963) % (2 * math.pi)
        v = np.array([math.cos(az) * 0.55, math.sin(az) * 0.55, 0.83])
        return v / np.linalg.norm(v)

    def _draw_prims(self, prims, x, y, Dx, Dy, zw, depth, shade, mat, instance, full, L,
                    amb) -> None:
        if not prims:
            return
        W = self.width
        P = len(prims)
        t0 = np.full((P, W), np.inf)
        t1 = np.full((P, W), -np.inf)
        nx = np.zeros((P, W))
        ny = np.zeros((P, W))
        rho = np.zeros((P, W))
        boxes = [i for i, p in enumerate(prims) if p.kind == "box"]
        discs = [i for i, p in enumerate(prims) if p.kind == "disc"]
        if boxes:
            g = np.array([prims[i].geom for i in boxes])
            idx = 1.0 / np.where(Dx == 0, 1e-12, Dx)
            idy = 1.0 / np.where(Dy == 0, 1e-12, Dy)
            ax = (g[:, 0:1] - x) * idx
            bx = (g[:, 2:3] - x) * idx
            ay = (g[:, 1:2] - y) * idy
            by = (g[:, 3:4] - y) * idy
            txn, txf = np.minimum(ax, bx), np.maximum(ax, bx)
            tyn, tyf = np.minimum(ay, by), np.maximum(ay, by)
            tb = np.maximum(txn, tyn)
            t0[boxes] = tb
            t1[boxes] = np.minimum(txf, tyf)
            xface = txn > tyn
            nx[boxes] = np.where(xface, -np.sign(Dx), 0.0)
            ny[boxes] = np.where(xface, 0.0, -np.sign(Dy))
            rho[boxes] = np.where(xface, y + tb * Dy, x + tb * Dx)  # position along the face
        lam_side = np.clip(nx * L[0] + ny * L[1], 0, 1) * 0.9
        if discs:
            g = np.array([prims[i].geom for i in discs])
            ox, oy, r = g[:, 0:1] - x, g[:, 1:2] - y, g[:, 2:3]
            dd = 1.0 + self._a * self._a
            b = ox * Dx + oy * Dy
            disc = b * b - dd * (ox * ox + oy * oy - r * r)
            sq = np.sqrt(np.maximum(disc, 0.0))
            a0 = np.where(disc >= 0, (b - sq) / dd, np.inf)
            a1 = np.where(disc >= 0, (b + sq) / dd, -np.inf)
            t0[discs], t1[discs] = a0, a1
            a0f = np.where(disc >= 0, a0, 0.0)
            dnx, dny = (a0f * Dx - ox) / r, (a0f * Dy - oy) / r
            nx[discs], ny[discs] = dnx, dny
            perp2 = (ox * ox + oy * oy) - b * b / dd  # squared distance of the centre to the ray
            rho[discs] = np.sqrt(np.clip(1.0 - perp2 / (r * r), 0.0, 1.0))  # chord factor
            # half light from the scene's direction, half from the viewer: objects look round
            view = np.clip(-(dnx * Dx + dny * Dy) / np.sqrt(dd), 0, 1)
            lam_side[discs] = 0.5 * np.clip(dnx * L[0] + dny * L[1], 0, 1) + 0.5 * view
        valid = (t1 > np.maximum(t0, NEAR)) & (t0 < zw[None, :])
        H = self.height
        amb32 = np.float32(amb)
        for p in np.flatnonzero(valid.any(axis=1)):
            prim = prims[p]
            cols = np.flatnonzero(valid[p])
            c0, c1 = int(cols[0]), int(cols[-1]) + 1
            zn = np.maximum(t0[p, c0:c1], NEAR)
            zx = np.minimum(t1[p, c0:c1], zw[c0:c1])
            zmin, zmax = float(zn.min()), float(zx.max())
            vs = [self.cy - self.fy * (h - self.z) / zz for h in (prim.z0, prim.z1)
                  for zz in (zmin, zmax)]
            r0 = max(int(math.floor(min(vs))), 0)
            r1 = min(int(math.ceil(max(vs))) + 1, H)
            if r0 >= r1:
                continue
            if prim.sphere:
                zhit, light, paint = self._sphere_hit(prim, x, y, Dx, Dy, L, r0, r1, c0, c1)
                ok = valid[p, c0:c1] & (zhit < zw[c0:c1])
                top = np.zeros_like(ok)
            else:
                inv_s = self._inv_s[r0:r1]
                q0 = (prim.z0 - self.z) * inv_s
                q1 = (prim.z1 - self.z) * inv_s
                za = np.minimum(q0, q1)
                zhit = np.maximum(zn, za)
                ok = zhit <= np.minimum(t1[p, c0:c1], np.maximum(q0, q1))
                ok &= valid[p, c0:c1]
                top = za > zn  # entered through the horizontal face
            if prim.instance >= 0:
                full[prim.instance] = full.get(prim.instance, 0) + int(ok.sum())
            dsub = depth[r0:r1, c0:c1]
            ok &= zhit < dsub
            if not ok.any():
                continue
            dsub[ok] = zhit[ok]
            if not prim.sphere:
                up = np.where(self._s[r0:r1, None] > 0, 0.1, L[2])
                light = np.where(top, up, lam_side[p, c0:c1])
            sh = amb32 + (1 - amb32) * light
            if prim.sphere:
                sh = sh * paint
            if prim.grain > 0:
                gr = 1.0 + prim.grain * np.sin(rho[p, c0:c1] * 40.0 + 3.0 * np.sin(
                    rho[p, c0:c1] * 7.0))
                sh = sh * np.where(top, 1.0, gr)
            shade[r0:r1, c0:c1][ok] = sh[ok]
            mat[r0:r1, c0:c1][ok] = np.where(top, 4 + 2 * p, 3 + 2 * p)[ok]
            instance[r0:r1, c0:c1][ok] = prim.instance


    def _sphere_hit(self, prim: _Prim, x: float, y: float, Dx: np.ndarray, Dy: np.ndarray,
                    L: np.ndarray, r0: int, r1: int, c0: int, c1: int):
        """Exact ray hits of a sphere prim (an ellipsoid: the footprint disc's radius across,
        ``z1 - z0`` tall) over pixel rows ``r0:r1`` and columns ``c0:c1``: forward depth
        (``inf`` where missed), the light factor (half from the scene's light, half from
        the viewer) and the paint factor of the surface pattern (:func:`_sphere_pattern`)."""
        cx, cy, R, _ = prim.geom
        ox, oy = cx - x, cy - y
        k = (prim.z1 - prim.z0) / (2 * R)
        oz = 0.5 * (prim.z0 + prim.z1)
        s = self._s[r0:r1, None]
        dx, dy = Dx[None, c0:c1], Dy[None, c0:c1]
        sk = s / k
        w = (self.z - oz) / k
        A = dx * dx + dy * dy + sk * sk
        B = ox * dx + oy * dy - w * sk
        C = ox * ox + oy * oy + w * w - R * R
        disc = B * B - A * C
        hit = disc >= 0
        Z = np.where(hit, (B - np.sqrt(np.maximum(disc, 0.0))) / A, np.inf)
        Z = np.where(Z > NEAR, Z, np.inf)
        Zf = np.where(np.isfinite(Z), Z, 0.0)
        ux, uy, uz = (Zf * dx - ox) / R, (Zf * dy - oy) / R, (w + sk * Zf) / R
        nn = np.sqrt(ux * ux + uy * uy + (uz / k) ** 2) + 1e-12
        nx, ny, nz = ux / nn, uy / nn, uz / k / nn
        vn = np.sqrt(A)
        vx, vy, vz = -dx / vn, -dy / vn, -s / vn
        light = (0.5 * np.clip(nx * L[0] + ny * L[1] + nz * L[2], 0, 1)
                 + 0.5 * np.clip(nx * vx + ny * vy + nz * vz, 0, 1))
        paint = 1.0
        if prim.pattern:
            light, paint = _sphere_pattern(prim, (ux, uy, uz), (nx, ny, nz), (vx, vy, vz), L,
                                           light)
        return Z, light, paint


def _sphere_pattern(prim: _Prim, u: tuple, n: tuple, v: tuple, L: np.ndarray,
                    light: np.ndarray) -> tuple[np.ndarray, np.ndarray | float]:
    """A sphere's surface detail per pixel: ``(light, paint)`` factors from the hit point on
    the unit sphere ``u``, the surface normal ``n``, the direction to the viewer ``v`` and the
    plain ``light`` factor.

    ``"seams"`` (ball): dark seams along three great circles (the equator and two meridians at
    the object's ``phase``) and alternately lighter and darker panels between them.
    ``"apple"``: a specular highlight (glossy skin) and a darker dimple around the stem.
    """
    ux, uy, uz = u
    cp, sp = math.cos(prim.phase), math.sin(prim.phase)
    if prim.pattern == "seams":
        a = ux * cp + uy * sp
        b = uy * cp - ux * sp
        seam = (np.abs(uz) < 0.12) | (np.abs(a) < 0.12) | (np.abs(b) < 0.12)
        panel = np.where((a > 0) ^ (b > 0) ^ (uz > 0), 1.0, PANEL)
        return light, np.where(seam, SEAM, panel)
    # apple: Blinn-Phong highlight with the half vector of light and view
    hx, hy, hz = L[0] + v[0], L[1] + v[1], L[2] + v[2]
    hn = np.sqrt(hx * hx + hy * hy + hz * hz) + 1e-12
    ndh = np.clip((n[0] * hx + n[1] * hy + n[2] * hz) / hn, 0, 1)
    return light + 2.2 * ndh ** 24, np.where(uz > 0.86, 0.55, 1.0)


# ------------------------------------------------------------------------ textures
_LUT_RES = 50.0  # texels per metre
_WALL_PERIOD = 6.0
_FLOOR_PERIOD = 4.8
_LUTS: dict[tuple[str, int], np.ndarray] = {}


def _wall_texture(kind: int, t: np.ndarray, h: np.ndarray) -> np.ndarray:
    kind = int(kind) % 4
    if kind == 0:  # plain paint, faint mottling
        f = 1.0 + 0.04 * _hash(np.floor(t * 3.0).astype(np.int64)) + 0.0 * h
    elif kind == 1:  # striped wallpaper
        f = 1.0 + 0.07 * np.sign(np.sin(t * (2 * math.pi / 0.3))) + 0.0 * h
    elif kind == 2:  # wainscot: darker lower panel with a rail
        f = np.where(h < 0.9, 0.78, 1.0) + 0.0 * t
        f = np.where(np.abs(h - 0.9) < 0.025, 0.55, f)
    else:  # large tiles with joints
        jt = np.abs(((t + 0.15 * (np.floor(h / 0.4) % 2)) / 0.3) % 1.0 - 0.5) > 0.45
        jh = np.abs((h / 0.4) % 1.0 - 0.5) > 0.46
        f = np.where(jt | jh, 0.72, 1.0 + 0.03 * _hash2(np.floor(t / 0.3), np.floor(h / 0.4)))
    return np.where(h < 0.08, 0.5, f).astype(np.float32)  # skirting board


def _floor_texture(kind: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    kind = int(kind) % 4
    if kind == 0:  # plain with soft patches
        f = 1.0 + 0.06 * _hash2(np.floor(x * 2), np.floor(y * 2))
    elif kind == 1:  # checker tiles
        f = np.where((np.floor(x / 0.6) + np.floor(y / 0.6)) % 2 == 0, 1.12, 0.86)
    elif kind == 2:  # planks along x with staggered ends
        row = np.floor(y / 0.2)
        along = x + 0.7 * _hash(row.astype(np.int64) + 101)
        f = 1.0 + 0.1 * _hash2(row, np.floor(along / 1.2))
        seam = (np.abs((y / 0.2) % 1.0 - 0.5) > 0.44) | (np.abs((along / 1.2) % 1.0 - 0.5) > 0.49)
        f = np.where(seam, 0.65, f)
    else:  # large tiles with grout
        g = (np.abs((x / 0.6) % 1.0 - 0.5) > 0.46) | (np.abs((y / 0.6) % 1.0 - 0.5) > 0.46)
        f = np.where(g, 0.7, 1.0 + 0.04 * _hash2(np.floor(x / 0.6), np.floor(y / 0.6)))
    return f.astype(np.float32)


def _lut(name: str, kind: int) -> np.ndarray:
    key = (name, int(kind) % 4)
    if key not in _LUTS:
        if name == "wall":
            t = (np.arange(int(_WALL_PERIOD * _LUT_RES)) + 0.5) / _LUT_RES
            h = (np.arange(int(WALL_HEIGHT * _LUT_RES) + 1) + 0.5) / _LUT_RES
            tex = _wall_texture(kind, t[None, :], h[:, None])
        else:
            v = (np.arange(int(_FLOOR_PERIOD * _LUT_RES)) + 0.5) / _LUT_RES
            tex = _floor_texture(kind, v[None, :], v[:, None])
        _LUTS[key] = np.ascontiguousarray(tex, dtype=np.float32)
    return _LUTS[key]


def _wall_lut(kind: int, t: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Wall texture factor at position ``t`` along the wall (W,) and height ``h`` (H, W)."""
    lut = _lut("wall", kind)
    nh, nt = lut.shape
    it = (np.floor(t * _LUT_RES).astype(np.int64) % nt).astype(np.int32)
    ih = np.clip((h * np.float32(_LUT_RES)).astype(np.int32), 0, nh - 1)
    ih *= nt
    ih += it[None, :]
    return np.take(lut.ravel(), ih)


def _floor_lut(kind: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Floor texture factor at world points (arrays of equal shape)."""
    lut = _lut("floor", kind)
    n = lut.shape[0]
    ix = np.floor(x * np.float32(_LUT_RES)).astype(np.int32) % n
    iy = np.floor(y * np.float32(_LUT_RES)).astype(np.int32) % n
    iy *= n
    iy += ix
    return np.take(lut.ravel(), iy)
