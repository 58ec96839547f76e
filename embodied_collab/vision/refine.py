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


def crop_side(box: Sequence[float]) -> float:
    """Side (px) of the square crop the refiner sees around ``box``."""
    return CONTEXT * max(box[2] - box[0], box[3] - box[1], 1.0) + MARGIN


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
    img = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div_(127.5).sub_(1)
    dz = np.zeros(n, np.float32)
    scal = np.zeros((n, N_SCALARS), np.float32)
    theta = np.zeros((n, 2, 3), np.float32)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        bw, bh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        side = crop_side((x0, y0, x1, y1))
        theta[i] = [[side / W, 0, (x0 + x1) / W - 1], [0, side / H, (y0 + y1) / H - 1]]
        scal[i, :2] = math.log(bw / 8), math.log(bh / 8)
        z = box_depth(depth, (x0, y0, x1, y1), region) if use_depth else None
        if z is not None:
            z = min(z, FAR)
            dz[i] = z
            scal[i, 2:] = (1.0, math.log(z / 2), math.log(bw * z / intrinsics[0] / 0.15),
                           math.log(bh * z / intrinsics[1] / 0.15))
    if use_depth:
        d = np.nan_to_num(np.asarray(depth, np.float32), nan=FAR, posinf=FAR, neginf=0.0)
        dt = torch.from_numpy(np.clip(d, 0.0, FAR))[None]
    else:
        dt = torch.zeros((1, H, W))
    src = torch.cat([img, dt], 0)[None].expand(n, -1, -1, -1)
    grid = F.affine_grid(torch.from_numpy(theta), (n, 4, CROP, CROP), align_corners=False)
    crops = F.grid_sample(src, grid, mode="bilinear", padding_mode="border",
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
