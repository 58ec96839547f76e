"""A tiny CenterNet-style detector: per-cell centre heatmaps per category, colour and box size.

The fully convolutional net maps a 160x120 RGB frame to a stride-4 grid (40x30). Each cell
predicts a heatmap score per category (a peak marks an object's centre), the object's colour,
a sub-cell centre offset and the box size. Decoding keeps heatmap peaks (3x3 max) above a
threshold. Torch is imported by the functions that need it (``pip install torch``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

STRIDE = 4
SIZE_SCALE = 16.0  # box sizes are regressed as log(size_px / SIZE_SCALE)


def build_model(n_classes: int, n_colours: int, width: int = 16) -> Any:
    """The detector network (a ``torch.nn.Module``); output: ``(B, C+K+4, H/4, W/4)``."""
    import torch
    from torch import nn

    def block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    w = int(width)

    class TinyCenterNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n_classes, self.n_colours, self.width = n_classes, n_colours, w
            self.stem = nn.Sequential(block(3, w, 2), block(w, 2 * w, 2), block(2 * w, 2 * w))
            self.down = nn.Sequential(block(2 * w, 3 * w, 2), block(3 * w, 3 * w, dilation=2))
            self.lateral = nn.Conv2d(3 * w, 2 * w, 1)
            self.fuse = block(2 * w, 2 * w)
            self.head = nn.Conv2d(2 * w, n_classes + n_colours + 4, 1)
            nn.init.constant_(self.head.bias[:n_classes], -2.2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s = self.stem(x)
            d = self.down(s)
            up = nn.functional.interpolate(self.lateral(d), size=s.shape[-2:], mode="nearest")
            return self.head(self.fuse(s + up))

    return TinyCenterNet()


def to_input(rgb: np.ndarray) -> Any:
    """uint8 (H, W, 3) or (B, H, W, 3) -> float tensor (B, 3, H, W) in [-1, 1]."""
    import torch

    a = torch.from_numpy(np.ascontiguousarray(rgb))
    if a.ndim == 3:
        a = a[None]
    return a.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


# ------------------------------------------------------------------ targets
def encode_targets(boxes: Sequence[dict], shape: tuple[int, int], categories: Sequence[str],
                   colours: Sequence[str]) -> dict[str, np.ndarray]:
    """Training targets of one frame.

    Args:
        boxes: ground truth dicts with ``category``, ``colour``, ``box`` and ``scored``.
        shape: image (H, W).
        categories, colours: class vocabularies (output order).

    Returns:
        ``heat`` (C, h, w) Gaussian centre heatmaps, ``weight`` (h, w) loss weight (0 around
        ignored objects), ``reg`` (4, h, w) offset + log size, ``colour`` (h, w) colour index
        (-1 = none), ``mask`` (h, w) 1 at object centres.
    """
    gh, gw = shape[0] // STRIDE, shape[1] // STRIDE
    heat = np.zeros((len(categories), gh, gw), np.float32)
    weight = np.ones((gh, gw), np.float32)
    reg = np.zeros((4, gh, gw), np.float32)
    colour = np.full((gh, gw), -1, np.int64)
    mask = np.zeros((gh, gw), np.float32)
    ys, xs = np.mgrid[0:gh, 0:gw]
    order = sorted(boxes, key=lambda b: -(b["box"][2] - b["box"][0]) * (b["box"][3] - b["box"][1]))
    for b in order:  # small boxes last so they win shared cells
        x0, y0, x1, y1 = b["box"]
        if not b.get("scored", True):
            gx0, gy0 = int(x0 // STRIDE), int(y0 // STRIDE)
            gx1, gy1 = int(math.ceil(x1 / STRIDE)), int(math.ceil(y1 / STRIDE))
            weight[gy0:gy1, gx0:gx1] = 0.0
            continue
        c = categories.index(b["category"])
        bw, bh = x1 - x0, y1 - y0
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        ix, iy = min(int(cx), gw - 1), min(int(cy), gh - 1)
        sigma = max(0.5, 0.15 * math.hypot(bw, bh) / STRIDE)
        g = np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma * sigma))
        np.maximum(heat[c], g, out=heat[c])
        reg[:, iy, ix] = (cx - ix, cy - iy, math.log(bw / SIZE_SCALE), math.log(bh / SIZE_SCALE))
        mask[iy, ix] = 1.0
        k = colours.index(b["colour"]) if b["colour"] in colours else -1
        colour[max(iy - 1, 0):iy + 2, max(ix - 1, 0):ix + 2] = k
    return {"heat": heat, "weight": weight, "reg": reg, "colour": colour, "mask": mask}


def loss_fn(out: Any, t: dict[str, Any], n_classes: int) -> tuple[Any, dict[str, float]]:
    """Focal heatmap loss + L1 box regression + colour cross-entropy (batched tensors)."""
    import torch
    import torch.nn.functional as F

    hm = out[:, :n_classes].sigmoid().clamp(1e-4, 1 - 1e-4)
    col = out[:, n_classes:-4]
    reg = out[:, -4:]
    gt, w = t["heat"], t["weight"][:, None]
    pos = (gt >= 0.999).float()
    pos_loss = -(torch.log(hm) * (1 - hm) ** 2 * pos * w).sum()
    neg_loss = -(torch.log(1 - hm) * hm ** 2 * (1 - gt) ** 4 * (1 - pos) * w).sum()
    n_pos = pos.sum().clamp(min=1.0)
    l_heat = (pos_loss + neg_loss) / n_pos
    m = t["mask"][:, None]
    l_reg = (F.l1_loss(reg, t["reg"], reduction="none") * m).sum() / (m.sum() * 4).clamp(min=1)
    l_col = F.cross_entropy(col, t["colour"], ignore_index=-1)
    if not torch.isfinite(l_col):
        l_col = torch.zeros((), device=out.device)
    total = l_heat + 2.0 * l_reg + l_col
    return total, {"heat": l_heat.item(), "reg": l_reg.item(), "colour": l_col.item()}


# ------------------------------------------------------------------ decoding
def _max_pool3(a: np.ndarray) -> np.ndarray:
    """3x3 max filter (stride 1, edges padded with -inf) over the last two axes."""
    p = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(1, 1), (1, 1)], constant_values=-np.inf)
    rows = np.maximum(np.maximum(p[..., :-2, :], p[..., 1:-1, :]), p[..., 2:, :])
    return np.maximum(np.maximum(rows[..., :-2], rows[..., 1:-1]), rows[..., 2:])


def decode(out: Any, n_classes: int, *, threshold: float, max_detections: int,
           image_size: tuple[int, int]) -> list[list[tuple]]:
    """Heatmap peaks -> per image ``(class, colour, score, colour_prob, [x0, y0, x1, y1],
    class_scores)`` (``class_scores``: every class's heatmap value at the peak).

    ``out`` is the network's output, a torch tensor or a numpy array ``(B, C+K+4, h, w)``;
    decoding runs in numpy, vectorised over the peaks.
    """
    if hasattr(out, "detach"):
        out = out.detach().cpu().numpy()
    out = np.asarray(out, dtype=np.float32)
    hm = 1.0 / (1.0 + np.exp(-out[:, :n_classes]))
    # categories are exclusive: one class per cell (its best), then 3x3 peaks of that score
    cls = hm.argmax(1)
    best = np.take_along_axis(hm, cls[:, None], 1)[:, 0]
    peaks = np.where(_max_pool3(best) == best, best, 0.0)
    H, W = image_size
    gh, gw = hm.shape[-2:]
    results = []
    for b in range(out.shape[0]):
        flat = peaks[b].ravel()
        k = min(max_detections, flat.size)
        idx = np.argpartition(-flat, k - 1)[:k] if k < flat.size else np.arange(flat.size)
        idx = idx[np.argsort(-flat[idx], kind="stable")]
        idx = idx[flat[idx] >= threshold]
        if idx.size == 0:
            results.append([])
            continue
        iy, ix = np.divmod(idx, gw)
        ox, oy, lw, lh = out[b, -4:, iy, ix].astype(np.float64).T
        cx, cy = (ix + ox) * STRIDE, (iy + oy) * STRIDE
        bw = np.exp(np.minimum(lw, 5.0)) * SIZE_SCALE
        bh = np.exp(np.minimum(lh, 5.0)) * SIZE_SCALE
        boxes = np.stack([np.maximum(cx - bw / 2, 0.0), np.maximum(cy - bh / 2, 0.0),
                          np.minimum(cx + bw / 2, float(W)), np.minimum(cy + bh / 2, float(H))],
                         1).tolist()
        logits = out[b, n_classes:-4, iy, ix]  # (n, K)
        e = np.exp(logits - logits.max(1, keepdims=True))
        col = e / e.sum(1, keepdims=True)
        k_col = col.argmax(1)
        scores = flat[idx].tolist()
        classes = cls[b, iy, ix].tolist()
        cprob = col[np.arange(idx.size), k_col].tolist()
        class_scores = hm[b, :, iy, ix].tolist()
        results.append([(classes[i], int(k_col[i]), float(scores[i]), float(cprob[i]), boxes[i],
                         class_scores[i]) for i in range(idx.size)])
    return results
