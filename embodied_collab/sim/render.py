"""Pictures of the world: a labelled top-down map, camera frames to PNG, episodes to GIF/MP4."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embodied_collab.sim import catalog
from embodied_collab.sim.world import ROBOT_RADIUS, World, WorldObject

logger = logging.getLogger(__name__)

_ROOM_FILL = (236, 232, 224)
_OUTSIDE = (70, 72, 78)


def _cv2():
    from embodied_collab.errors import require

    return require("cv2", "sim")


def render_topdown(
    world: World,
    *,
    scale: float = 60.0,
    path: Sequence[tuple[float, float]] | None = None,
    goal: tuple[float, float] | None = None,
    labels: bool = True,
    extra_objects: Sequence[WorldObject] | None = None,
    trail: Sequence[tuple[float, float]] | None = None,
    title: str | None = None,
) -> np.ndarray:
    """A top-down map of a world as an RGB uint8 image (north up).

    Args:
        world: the world; its robot is drawn at its pose with its heading.
        scale: pixels per metre.
        path: an optional planned path (polyline, world points).
        goal: an optional goal point (drawn as a target).
        labels: write room names and furniture ids.
        extra_objects: floor objects not in the world (clutter).
        trail: an optional driven trajectory (polyline).
        title: a line of text at the top.
    """
    cv2 = _cv2()
    x0, y0, x1, y1 = world.bounds()
    margin = 0.4
    top = 22 if title else 0
    w = int(math.ceil((x1 - x0 + 2 * margin) * scale))
    h = int(math.ceil((y1 - y0 + 2 * margin) * scale)) + top
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[:] = _OUTSIDE

    def px(x: float, y: float) -> tuple[int, int]:
        return (int(round((x - x0 + margin) * scale)), int(round((y1 + margin - y) * scale)) + top)

    def rect(b, colour, thick=-1):
        cv2.rectangle(img, px(b[0], b[3]), px(b[2], b[1]), colour, thick, cv2.LINE_AA)

    floor = np.array(world.appearance.floor_colour, dtype=np.float32)
    fill = tuple(int(v) for v in 0.35 * floor + 0.65 * np.array(_ROOM_FILL))
    for room in world.rooms:
        rect(room.bounds, fill)
    for x_a, y_a, x_b, y_b in world.walls:
        cv2.line(img, px(x_a, y_a), px(x_b, y_b), (40, 40, 45), max(2, int(0.08 * scale)),
                 cv2.LINE_AA)
    for door in world.doors:
        cv2.line(img, px(*door.a), px(*door.b), (170, 200, 230), max(1, int(0.04 * scale)))
    for f in world.furniture:
        col = tuple(int(v) for v in catalog.FURNITURE_COLOURS.get(f.colour, (150, 110, 70)))
        rect(f.bounds, col)
        rect(f.bounds, (30, 30, 30), 1)
        if f.container:
            # containers: a door line on the front, dashed when open
            fb = f.bounds
            cv2.line(img, px(fb[0], fb[1]), px(fb[2], fb[3]),
                     (250, 250, 250) if f.open else (40, 40, 40), 1, cv2.LINE_AA)
    objs = [o for o in world.objects if o.relation != "held"] + list(extra_objects or [])
    for o in objs:
        col = tuple(int(v) for v in catalog.COLOURS.get(o.colour, (128, 128, 128)))
        r = max(2, int(round(o.radius * scale)))
        centre = px(*o.position)
        hidden = o.relation == "in" and o.support and not world.furniture_by_id(o.support).open
        if catalog.OBJECTS.get(o.category) and catalog.OBJECTS[o.category].shape in ("box", "slab"):
            cv2.rectangle(img, (centre[0] - r, centre[1] - r), (centre[0] + r, centre[1] + r),
                          col, 1 if hidden else -1)
        else:
            cv2.circle(img, centre, r, col, 1 if hidden else -1, cv2.LINE_AA)
        cv2.circle(img, centre, r, (20, 20, 20), 1, cv2.LINE_AA)
    if trail is not None and len(trail) > 1:
        pts = np.array([px(*p) for p in trail], dtype=np.int32)
        cv2.polylines(img, [pts], False, (90, 90, 220), 2, cv2.LINE_AA)
    if path is not None and len(path) > 1:
        pts = np.array([px(*p) for p in path], dtype=np.int32)
        cv2.polylines(img, [pts], False, (230, 90, 30), 2, cv2.LINE_AA)
    if goal is not None:
        g = px(goal[0], goal[1])
        cv2.circle(img, g, int(0.25 * scale), (30, 160, 30), 2, cv2.LINE_AA)
        cv2.drawMarker(img, g, (30, 160, 30), cv2.MARKER_CROSS, int(0.3 * scale), 2)
    rb = world.robot
    c = px(rb.x, rb.y)
    cv2.circle(img, c, int(ROBOT_RADIUS * scale), (40, 90, 220), -1, cv2.LINE_AA)
    cv2.circle(img, c, int(ROBOT_RADIUS * scale), (10, 10, 10), 1, cv2.LINE_AA)
    tip = px(rb.x + 0.3 * math.cos(rb.theta), rb.y + 0.3 * math.sin(rb.theta))
    cv2.line(img, c, tip, (255, 255, 255), 2, cv2.LINE_AA)
    if rb.holding is not None and world.has(rb.holding):
        o = world.object_by_id(rb.holding)
        col = tuple(int(v) for v in catalog.COLOURS.get(o.colour, (128, 128, 128)))
        cv2.circle(img, c, max(2, int(0.06 * scale)), col, -1)
    if labels:
        font, fs = cv2.FONT_HERSHEY_SIMPLEX, max(0.3, scale / 160)
        for room in world.rooms:
            bx0, by0, bx1, by1 = room.bounds
            cv2.putText(img, room.id.replace("_", " "), px(bx0 + 0.15, by1 - 0.3), font, fs * 1.2,
                        (60, 60, 60), 1, cv2.LINE_AA)
        for f in world.furniture:
            cx_, cy_ = px(*f.centre)
            (tw, th_), _ = cv2.getTextSize(f.id, font, fs, 1)
            cv2.putText(img, f.id, (cx_ - tw // 2, cy_ + th_ // 2), font, fs, (255, 255, 255), 2,
                        cv2.LINE_AA)
            cv2.putText(img, f.id, (cx_ - tw // 2, cy_ + th_ // 2), font, fs, (20, 20, 20), 1,
                        cv2.LINE_AA)
    if title:
        img[:top] = (250, 250, 250)
        cv2.putText(img, title[:120], (6, top - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (20, 20, 20),
                    1, cv2.LINE_AA)
    return img


def save_png(image: np.ndarray, path: str | Path, upscale: int = 1) -> Path:
    """Write an RGB (HxWx3 uint8) or depth (HxW float, metres) image to a PNG file.

    Depth maps are written as a colourised 8-bit image (near bright, far dark).
    """
    cv2 = _cv2()
    path = Path(path)
    img = np.asarray(image)
    if img.ndim == 2:
        d = np.clip(img / max(float(np.nanmax(img)), 1e-6), 0, 1)
        img = cv2.applyColorMap(((1 - d) * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
    if img.dtype != np.uint8:
        raise ValueError(f"RGB images must be uint8, got {img.dtype}")
    if upscale > 1:
        img = cv2.resize(img, (img.shape[1] * upscale, img.shape[0] * upscale),
                         interpolation=cv2.INTER_NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(img[..., ::-1])):
        raise OSError(f"could not write {path}")
    return path


def draw_boxes(rgb: np.ndarray, boxes: list[dict]) -> np.ndarray:
    """A copy of a camera image with ground-truth boxes and labels drawn on it."""
    cv2 = _cv2()
    img = np.ascontiguousarray(rgb.copy())
    for b in boxes:
        x0, y0, x1, y1 = b["box"]
        cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), (0, 255, 0), 1)
        cv2.putText(img, f"{b['colour']} {b['category']}", (x0, max(8, y0 - 2)),
                    cv2.FONT_HERSHEY_PLAIN, 0.7, (0, 255, 0), 1)
    return img


def save_episode(frames: Sequence[np.ndarray], path: str | Path, fps: float = 10.0) -> Path:
    """Write frames (RGB uint8, equal sizes) to ``.gif`` or ``.mp4`` (by the file suffix).

    Raises:
        ValueError: no frames, unequal sizes, or an unknown suffix.
        DependencyNotInstalled: imageio (or, for MP4, an encoder backend) is missing.
    """
    from embodied_collab.errors import DependencyNotInstalled, require

    path = Path(path)
    if len(frames) == 0:
        raise ValueError("an episode needs at least one frame")
    shapes = {np.asarray(f).shape for f in frames}
    if len(shapes) != 1:
        raise ValueError(f"all frames must have the same shape, got {sorted(shapes)}")
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"episode files must end in .gif or .mp4, got {path.name!r}")
    iio = require("imageio.v3", "sim")
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = [np.asarray(f, dtype=np.uint8) for f in frames]
    if suffix == ".gif":
        iio.imwrite(path, arr, duration=1000.0 / fps, loop=0)
        return path
    h, w = arr[0].shape[:2]
    if h % 2 or w % 2:  # yuv420p needs even sizes
        arr = [np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") for a in arr]
    try:
        iio.imwrite(path, np.stack(arr), fps=fps, codec="libx264", plugin="pyav")
    except (ImportError, ValueError, OSError) as exc:
        raise DependencyNotInstalled("av (an MP4 encoder for imageio)", "sim") from exc
    return path
