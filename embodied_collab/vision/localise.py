"""3-D localisation: depth + camera intrinsics + robot pose -> world position of a detection.

The camera follows the simulator's (and the ROS ``CameraInfo``) convention: a pinhole at height
``camera_z`` with zero pitch and roll looking along the robot's heading; depth is metres along
the optical axis. The detection's depth is the median over the central ``depth_region`` of its
box (robust to background pixels at the edges); the object's centre lies one nominal radius
behind the visible surface, along the viewing ray.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from embodied_collab.sim import catalog


def box_depth(depth: np.ndarray, box: Sequence[float], region: float = 0.4) -> float | None:
    """Median finite, positive depth inside the central ``region`` fraction of ``box``."""
    H, W = depth.shape[:2]
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = max((x1 - x0) * region / 2, 0.5), max((y1 - y0) * region / 2, 0.5)
    c0, c1 = max(int(math.floor(cx - hw)), 0), min(int(math.ceil(cx + hw)), W)
    r0, r1 = max(int(math.floor(cy - hh)), 0), min(int(math.ceil(cy + hh)), H)
    if c0 >= c1 or r0 >= r1:
        return None
    patch = depth[r0:r1, c0:c1]
    vals = np.sort(patch[np.isfinite(patch) & (patch > 0)], axis=None)
    n = vals.size
    if not n:
        return None
    # the median, as np.median computes it (mean of the middle two), without its overhead
    return float(vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2)


def pixel_to_world(u: float, v: float, z: float, intrinsics: Sequence[float],
                   pose: Sequence[float], camera_z: float) -> tuple[float, float, float]:
    """World (x, y, height) of pixel (u, v) at optical depth ``z`` seen from ``pose``."""
    fx, fy, cx, cy = intrinsics[:4]
    left = -(u - cx) * z / fx
    up = -(v - cy) * z / fy
    x, y, th = pose[:3]
    c, s = math.cos(th), math.sin(th)
    return (x + z * c - left * s, y + z * s + left * c, camera_z + up)


def localise(box: Sequence[float], label: str, depth: np.ndarray, intrinsics: Sequence[float],
             pose: Sequence[float], *, camera_z: float = 1.0, region: float = 0.4,
             max_depth: float = 10.0) -> tuple[float, float, float] | None:
    """World position (x, y, z) of a detected object's centre, or None without usable depth.

    Args:
        box: pixel box (x0, y0, x1, y1).
        label: category (its nominal radius moves the point from the surface to the centre).
        depth: float (H, W) depth image in metres along the optical axis.
        intrinsics: (fx, fy, cx, cy, ...).
        pose: camera (x, y, theta) in the world/map frame.
        camera_z: optical centre height (m).
        region: central fraction of the box whose median depth is used.
        max_depth: farther detections get no position.
    """
    z = box_depth(depth, box, region)
    if z is None or z > max_depth:
        return None
    u, v = (box[0] + box[2]) / 2 - 0.5, (box[1] + box[3]) / 2 - 0.5  # box edges -> pixel centres
    spec = catalog.OBJECTS.get(label)
    if spec is not None:
        fx = intrinsics[0]
        ray = math.hypot(1.0, (u - intrinsics[2]) / fx)
        z += spec.radius * (1.0 if spec.shape != "slab" else 0.75) / ray
    return pixel_to_world(u, v, z, intrinsics, pose, camera_z)


def locate_detections(detections: Sequence, depth: np.ndarray, intrinsics: Sequence[float],
                      pose: Sequence[float], config=None) -> list[tuple]:
    """``(detection, (x, y, z))`` for each detection with usable depth (``VisionConfig``
    supplies camera height, depth region and range)."""
    from embodied_collab.vision.config_vision import VisionConfig

    config = config or VisionConfig()
    out = []
    for det in detections:
        pos = localise(det.box, det.label, depth, intrinsics, pose, camera_z=config.camera_z,
                       region=config.depth_region, max_depth=config.max_depth)
        if pos is not None:
            out.append((det, pos))
    return out
