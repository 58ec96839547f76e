"""Second stage of the ``sim`` detector: re-classify and re-box each candidate from a crop plus
depth.

The first stage (:mod:`.model`) finds objects well but confuses small look-alikes (cup, apple,
ball, box are 5-8 px blobs at 2 m) and its boxes are a pixel or two off, which at that size
costs IoU. The refiner sees a 24x24 crop around each candidate box with four channels (RGB and
the depth relative to the box's median depth, which shows the 3-D profile: sphere, cylinder,
box) and six scalars (pixel size, and with depth the distance and the metric width and
height), and outputs the category or "background" and a correction of the box
(:func:`apply_deltas`). Without depth (an RGB-only image) the depth inputs are zero; the
refiner is trained with depth dropped on some crops so it still works then.
Torch is imported by the functions that need it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from embodied_collab.vision.localise import box_depth

CROP = 24  # crop side (px) after resampling
CONTEXT = 1.6  # crop side = CONTEXT x the box's longer side (+ MARGIN px)
MARGIN = 4.0
N_SCALARS = 6
FAR = 20.0  # depths beyond this (or missing) are clipped to it


#: Scale of the box-delta targets (centre shift in crop sides, log size ratio).
DELTA_SCALE = (0.1, 0.1, 0.2, 0.2)


def build_refiner(n_classes: int, width: int = 24, box_head: bool = True) -> Any:
    """The crop classifier (``torch.nn.Module``): ``(crops (N,4,24,24), scalars (N,6)) ->
    (logits (N, n_classes + 1), deltas (N, 4) or None)``; the last class is background,
    ``deltas`` (with ``box_head``) correct the candidate box (:func:`apply_deltas`)."""
    import torch
    from torch import nn

    def block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    w = int(width)

    class Refiner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n_classes, self.width, self.box_head = n_classes, w, bool(box_head)
            self.features = nn.Sequential(block(4, w, 2), block(w, 2 * w, 2),
                                          block(2 * w, 2 * w))
            self.head = nn.Sequential(nn.Linear(4 * w + N_SCALARS, 2 * w), nn.ReLU(inplace=True),
                                      nn.Linear(2 * w, n_classes + 1))
            if self.box_head:  # box regression reads the feature map with its layout kept
                self.box = nn.Sequential(nn.Linear(2 * w * 36 + N_SCALARS, 2 * w),
                                         nn.ReLU(inplace=True), nn.Linear(2 * w, 4))

        def forward(self, crops: torch.Tensor, scalars: torch.Tensor):
            f = self.features(crops)
            pooled = torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1)
            logits = self.head(torch.cat([pooled, scalars], 1))
            if not self.box_head:
                return logits, None
            grid = nn.functional.adaptive_avg_pool2d(f, 6).flatten(1)
            return logits, self.box(torch.cat([grid, scalars], 1))

    return Refiner()


def crop_side(box: Sequence[float] | np.ndarray) -> float | np.ndarray:
    """Side (px) of the square crop the refiner sees around ``box`` (one box, or an (N, 4)
    array of boxes: one side each)."""
    b = np.asarray(box, np.float64)
    return CONTEXT * np.maximum(np.maximum(b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]),
                                1.0) + MARGIN


def box_deltas(box: Sequence[float], target: Sequence[float]) -> np.ndarray:
    """Regression target that turns ``box`` into ``target`` (inverse of :func:`apply_deltas`)."""
    side = crop_side(box)
    bw, bh = max(box[2] - box[0], 1.0), max(box[3] - box[1], 1.0)
    tw, th = max(target[2] - target[0], 1.0), max(target[3] - target[1], 1.0)
    d = ((target[0] + target[2] - box[0] - box[2]) / 2 / side,
         (target[1] + target[3] - box[1] - box[3]) / 2 / side,
         math.log(tw / bw), math.log(th / bh))
    return np.array(d, np.float32) / np.array(DELTA_SCALE, np.float32)


def apply_deltas(box: Sequence[float], deltas: Sequence[float],
                 image_size: tuple[int, int] | None = None) -> list[float]:
    """The corrected box (clipped to ``image_size`` = (H, W) when given)."""
    side = crop_side(box)
    d = np.asarray(deltas, np.float64) * DELTA_SCALE
    bw, bh = max(box[2] - box[0], 1.0), max(box[3] - box[1], 1.0)
    cx = (box[0] + box[2]) / 2 + d[0] * side
    cy = (box[1] + box[3]) / 2 + d[1] * side
    w, h = bw * math.exp(float(np.clip(d[2], -1, 1))), bh * math.exp(float(np.clip(d[3], -1, 1)))
    out = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
    if image_size is not None:
        H, W = image_size
        out = [max(out[0], 0.0), max(out[1], 0.0), min(out[2], float(W)), min(out[3], float(H))]
    return out


def box_features(rgb: np.ndarray, depth: np.ndarray | None, intrinsics: Sequence[float] | None,
                 boxes: Sequence[Sequence[float]], region: float = 0.4) -> tuple[Any, Any]:
    """Crops and scalars of ``boxes`` in one frame (torch tensors, inputs of the refiner).

    Args:
        rgb: uint8 (H, W, 3).
        depth: float (H, W) metres, or None (the depth inputs are then zero).
        intrinsics: ``(fx, fy, ...)``, needed with ``depth``.
        boxes: ``[x0, y0, x1, y1]`` pixel boxes.
        region: central box fraction whose median depth is the box's distance.

    Returns:
        ``crops`` float (N, 4, 24, 24) and ``scalars`` float (N, 6).
    """
    import torch
    import torch.nn.functional as F

    H, W = rgb.shape[:2]
    n = len(boxes)
    use_depth = depth is not None and intrinsics is not None
    bx = np.asarray(boxes, np.float64).reshape(n, 4)
    bw = np.maximum(bx[:, 2] - bx[:, 0], 1.0)
    bh = np.maximum(bx[:, 3] - bx[:, 1], 1.0)
    side = crop_side(bx)
    scal = np.zeros((n, N_SCALARS), np.float32)
    scal[:, 0], scal[:, 1] = np.log(bw / 8), np.log(bh / 8)
    dz = np.zeros(n, np.float32)
    if use_depth:
        for i, box in enumerate(bx.tolist()):
            z = box_depth(depth, box, region)
            if z is not None:
                z = min(z, FAR)
                dz[i] = z
                scal[i, 2:] = (1.0, math.log(z / 2), math.log(bw[i] * z / intrinsics[0] / 0.15),
                               math.log(bh[i] * z / intrinsics[1] / 0.15))
    # image (RGB in [-1, 1]) and depth stacked as one (4, H, W) source
    src = np.empty((4, H, W), np.float32)
    np.divide(np.moveaxis(rgb, 2, 0), np.float32(127.5), out=src[:3], dtype=np.float32)
    src[:3] -= 1.0
    if use_depth:
        np.clip(np.nan_to_num(np.asarray(depth, np.float32), nan=FAR, posinf=FAR, neginf=0.0),
                0.0, FAR, out=src[3])
    else:
        src[3] = 0.0
    # the sampling grid of each crop (as F.affine_grid builds it, align_corners=False):
    # normalised x = side/W * base + (x0 + x1)/W - 1, likewise y
    base = ((2 * np.arange(CROP, dtype=np.float32) + 1) / CROP - 1)
    gx = (side / W).astype(np.float32)[:, None] * base + \
        ((bx[:, 0] + bx[:, 2]) / W - 1).astype(np.float32)[:, None]
    gy = (side / H).astype(np.float32)[:, None] * base + \
        ((bx[:, 1] + bx[:, 3]) / H - 1).astype(np.float32)[:, None]
    grid = np.empty((n, CROP, CROP, 2), np.float32)
    grid[..., 0] = gx[:, None, :]
    grid[..., 1] = gy[:, :, None]
    crops = F.grid_sample(torch.from_numpy(src)[None].expand(n, -1, -1, -1),
                          torch.from_numpy(grid), mode="bilinear", padding_mode="border",
                          align_corners=False)
    # depth relative to the box's distance (3-D profile), zero where unknown
    rel = ((crops[:, 3] - torch.from_numpy(dz)[:, None, None]) / 0.25).clamp_(-2, 2)
    crops[:, 3] = rel * torch.from_numpy(scal[:, 2:3])[:, :, None]
    return crops.contiguous(), torch.from_numpy(scal)


def drop_depth(crops: Any, scalars: Any, mask: Any) -> None:
    """Zero the depth inputs of the rows in ``mask`` (in place): RGB-only training examples."""
    crops[mask, 3] = 0.0
    scalars[mask, 2:] = 0.0


def combine(peak: float, probs: Sequence[float], alpha: float) -> tuple[int, float]:
    """(class, score) of a refined detection: the refiner's best category and the geometric
    blend ``peak^alpha * p(class)^(1-alpha)`` of the heatmap peak and the refiner's probability
    (which already includes its background doubt)."""
    p = np.asarray(probs[:-1], dtype=np.float64)
    c = int(p.argmax())
    return c, float(max(peak, 1e-9) ** alpha * max(p[c], 1e-9) ** (1 - alpha))


#: Two refined boxes of one category overlapping more than this are one object (the weaker goes).
NMS_IOU = 0.5


def refine_candidates(cands: Sequence[tuple], probs: np.ndarray, deltas: np.ndarray | None,
                      alpha: float, threshold: float,
                      image_size: tuple[int, int]) -> list[tuple[int, int, float, list[float]]]:
    """Final detections ``(class, colour, score, box)`` from first-stage candidates (decoded
    tuples ``(class, colour, peak, colour_prob, box, class_scores)``) and the refiner's outputs:
    the refiner's category, the blended score (:func:`combine`), the box corrected by the
    deltas, then per-category non-maximum suppression (corrected boxes of one object can
    coincide) and the score threshold."""
    from embodied_collab.vision.metrics import iou

    out = []
    for i, c in enumerate(cands):
        k, score = combine(c[2], probs[i], alpha)
        if score < threshold:
            continue
        box = apply_deltas(c[4], deltas[i], image_size) if deltas is not None else list(c[4])
        out.append((k, c[1], score, box))
    out.sort(key=lambda d: -d[2])
    kept: list[tuple[int, int, float, list[float]]] = []
    for d in out:
        if all(d[0] != e[0] or iou(d[3], e[3]) <= NMS_IOU for e in kept):
            kept.append(d)
    return kept
