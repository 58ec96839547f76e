"""Second stage of the ``sim`` detector: re-classify each detected box from a crop plus depth.

The first stage (:mod:`.model`) finds objects well but confuses small look-alikes (cup, apple,
ball, box are 5-8 px blobs at 2 m; apple and ball are both spheres and differ only in size).
The refiner sees a 24x24 crop around each candidate box with four channels (RGB and the depth
relative to the box's median depth, which shows the 3-D profile: sphere, cylinder, box) and six
scalars (pixel size, and with depth the distance and the metric width and height), and outputs
the category or "background". Without depth (an RGB-only image) the depth inputs are zero; the
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


def build_refiner(n_classes: int, width: int = 24) -> Any:
    """The crop classifier (``torch.nn.Module``): ``(crops (N,4,24,24), scalars (N,6)) ->
    logits (N, n_classes + 1)``; the last class is background."""
    import torch
    from torch import nn

    def block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    w = int(width)

    class Refiner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n_classes, self.width = n_classes, w
            self.features = nn.Sequential(block(4, w, 2), block(w, 2 * w, 2),
                                          block(2 * w, 2 * w))
            self.head = nn.Sequential(nn.Linear(4 * w + N_SCALARS, 2 * w), nn.ReLU(inplace=True),
                                      nn.Linear(2 * w, n_classes + 1))

        def forward(self, crops: torch.Tensor, scalars: torch.Tensor) -> torch.Tensor:
            f = self.features(crops)
            pooled = torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1)
            return self.head(torch.cat([pooled, scalars], 1))

    return Refiner()


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
        side = CONTEXT * max(bw, bh) + MARGIN
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
