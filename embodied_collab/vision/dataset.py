"""Detection frames rendered by the simulator's camera, with ground-truth boxes.

Frames come from generated worlds: poses that look at objects (free cells 0.8-3 m from an
object, facing it with jitter) and random poses, with some containers opened so that their
contents show, and the world's lighting/textures re-drawn per frame for variety. Train and
held-out splits differ by world seed (:data:`TRAIN_SEED0`, :data:`HELDOUT_SEED0`), so held-out
frames show unseen layouts and lighting.

Scoring rule: an object is *scored* only if at least :data:`MIN_PIXELS` of it are visible and its
box is at least :data:`MIN_SIDE` px on each side; smaller slivers are *ignored* (a detection on
them is neither a hit nor a false positive, and training does not push their heatmap down).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from embodied_collab.sim import catalog
from embodied_collab.sim.camera import Camera
from embodied_collab.sim.generate import GenerationError, generate_world
from embodied_collab.sim.navgrid import NavGrid
from embodied_collab.sim.world import Appearance, World

logger = logging.getLogger(__name__)

#: Detector classes and colour classes, in the network's output order.
CATEGORIES: tuple[str, ...] = tuple(catalog.OBJECTS)
COLOURS: tuple[str, ...] = tuple(catalog.COLOURS)

TRAIN_SEED0 = 0
VAL_SEED0 = 500_000
HELDOUT_SEED0 = 1_000_000

#: Ignore rule for scoring and training (see the module docstring).
MIN_PIXELS = 12
MIN_SIDE = 3


@dataclass
class Sample:
    """One frame with ground truth.

    Attributes:
        rgb: uint8 (H, W, 3).
        depth: float32 (H, W) metres along the optical axis.
        pose: camera (x, y, theta) in the world frame.
        boxes: ``{"object_id", "category", "colour", "box", "pixels", "scored", "position"}``
            per visible object; ``position`` is the object's centre (x, y, z) in the world.
        intrinsics: (fx, fy, cx, cy, width, height).
        world_seed: seed of the world the frame shows.
    """

    rgb: np.ndarray
    depth: np.ndarray
    pose: tuple[float, float, float]
    boxes: list[dict] = field(default_factory=list)
    intrinsics: tuple = ()
    world_seed: int = 0


def is_scored(pixels: int, box: Sequence[int]) -> bool:
    """Whether an object with ``pixels`` visible pixels and this box is scored (not ignored)."""
    return pixels >= MIN_PIXELS and box[2] - box[0] >= MIN_SIDE and box[3] - box[1] >= MIN_SIDE


def _appearance(rng: np.random.Generator) -> Appearance:
    base = rng.integers(140, 225, size=3)
    floor = rng.integers(80, 180, size=3)
    return Appearance(
        light=float(rng.uniform(0.55, 1.35)),
        ambient=float(rng.uniform(0.25, 0.65)),
        tint=tuple(float(v) for v in rng.uniform(0.88, 1.12, size=3)),
        wall_texture=int(rng.integers(4)),
        floor_texture=int(rng.integers(4)),
        wall_colour=tuple(int(v) for v in base),
        floor_colour=tuple(int(v) for v in floor),
    )


def sample_poses(world: World, grid: NavGrid, rng: np.random.Generator, n: int,
                 look_fraction: float = 0.8) -> list[tuple[float, float, float]]:
    """``n`` camera poses in free space: most look at a (visible) object, the rest are random.

    Args:
        world: the world.
        grid: its navigation grid (free cells).
        rng: random source.
        n: number of poses.
        look_fraction: share of poses aimed at an object.
    """
    free = np.argwhere(grid.free)
    if len(free) == 0:
        return []
    cells = np.array([grid.to_world(int(c), int(r)) for r, c in free])
    targets = world.visible_objects()
    poses = []
    for _ in range(n):
        if targets and rng.random() < look_fraction:
            o = targets[int(rng.integers(len(targets)))]
            d = np.hypot(cells[:, 0] - o.position[0], cells[:, 1] - o.position[1])
            ok = np.flatnonzero((d >= 0.8) & (d <= 3.0))
            if len(ok):
                x, y = cells[ok[int(rng.integers(len(ok)))]]
                th = math.atan2(o.position[1] - y, o.position[0] - x) + rng.normal(0, 0.3)
                poses.append((float(x), float(y), float(th)))
                continue
        x, y = cells[int(rng.integers(len(cells)))]
        poses.append((float(x), float(y), float(rng.uniform(-math.pi, math.pi))))
    return poses


def object_centre(world: World, object_id: str) -> tuple[float, float, float]:
    """World (x, y, z) of an object's centre."""
    o = world.object_by_id(object_id)
    return (float(o.position[0]), float(o.position[1]), float(o.z + 0.5 * o.height))


def render_sample(world: World, camera: Camera, pose: tuple[float, float, float],
                  rng: np.random.Generator | None = None) -> Sample:
    """Render one frame and attach its ground truth."""
    frame = camera.render(world, pose, rng=rng)
    ids, counts = np.unique(frame.instance[frame.instance >= 0], return_counts=True)
    pixels = {frame.object_ids[i]: int(c)
              for i, c in zip(ids.tolist(), counts.tolist(), strict=True)}
    boxes = []
    for b in frame.boxes:
        n = pixels.get(b["object_id"], 0)
        boxes.append({**b, "pixels": n, "scored": is_scored(n, b["box"]),
                      "position": object_centre(world, b["object_id"])})
    return Sample(rgb=frame.rgb, depth=frame.depth, pose=tuple(pose), boxes=boxes,
                  intrinsics=camera.intrinsics, world_seed=int(world.seed or 0))


def iter_samples(seeds: Sequence[int], frames_per_world: int, *, seed: int = 0,
                 vary_appearance: bool = True, max_noise: float = 4.0,
                 camera: Camera | None = None) -> Iterator[Sample]:
    """Frames from the worlds ``seeds`` (generated on the fly).

    Args:
        seeds: world seeds (use the split offsets above).
        frames_per_world: frames per world.
        seed: seed of poses, opened containers, appearance and noise.
        vary_appearance: re-draw lighting, tint and textures every few frames.
        max_noise: per-frame RGB noise sigma is drawn from [0, max_noise].
        camera: the camera (default: the simulator's 160x120, 90 degree camera).
    """
    camera = camera or Camera()
    for ws in seeds:
        rng = np.random.default_rng([int(seed), int(ws)])
        try:
            world = generate_world(int(ws))
        except GenerationError as exc:
            logger.warning("skipping world %s: %s", ws, exc)
            continue
        grid = NavGrid(world)
        base = world.appearance
        for f in world.furniture:
            if f.container:
                f.open = bool(rng.random() < 0.6)
        poses = sample_poses(world, grid, rng, frames_per_world)
        for k, pose in enumerate(poses):
            if vary_appearance:
                world.appearance = base if k % 4 == 0 else _appearance(rng)
            cam_noise = float(rng.uniform(0, max_noise))
            camera.noise = cam_noise
            yield render_sample(world, camera, pose, rng=rng)
        world.appearance = base


def split_seeds(split: str, n: int) -> list[int]:
    """World seeds of a split: ``"train"``, ``"val"`` or ``"heldout"``."""
    start = {"train": TRAIN_SEED0, "val": VAL_SEED0, "heldout": HELDOUT_SEED0}.get(split)
    if start is None:
        raise ValueError(f"split must be 'train', 'val' or 'heldout', got {split!r}")
    return list(range(start, start + int(n)))
