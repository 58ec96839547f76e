"""Detection metrics: per-class average precision at IoU 0.5, recall, colour accuracy.

Ground-truth boxes that the scoring rule ignores (``scored`` false, see
:mod:`embodied_collab.vision.dataset`) neither count as misses nor turn a detection on them into
a false positive.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``[x0, y0, x1, y1]`` boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _ap(tp: np.ndarray, n_gt: int) -> float:
    """VOC-style all-point interpolated AP from score-sorted hit flags."""
    if n_gt == 0:
        return float("nan")
    if len(tp) == 0:
        return 0.0
    ctp = np.cumsum(tp)
    recall = ctp / n_gt
    precision = ctp / np.arange(1, len(tp) + 1)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def evaluate(predictions: Sequence[Sequence[dict]], truths: Sequence[Sequence[dict]],
             categories: Sequence[str], iou_threshold: float = 0.5) -> dict:
    """mAP@``iou_threshold`` over frames.

    Args:
        predictions: per frame, dicts with ``label``, ``colour``, ``score``, ``box``.
        truths: per frame, dicts with ``category``, ``colour``, ``box``, ``scored``.
        categories: the classes averaged over (classes with no ground truth are skipped).

    Returns:
        ``{"map50", "ap_per_class", "recall_per_class", "colour_accuracy", "n_gt"}``; recall is
        at the detector's own threshold, colour accuracy over matched detections.
    """
    hits: dict[str, list[tuple[float, int]]] = {c: [] for c in categories}
    n_gt = {c: 0 for c in categories}
    found = {c: 0 for c in categories}
    colour_ok = colour_n = 0
    for preds, gts in zip(predictions, truths, strict=True):
        for c in categories:
            g = [t for t in gts if t["category"] == c]
            n_gt[c] += sum(1 for t in g if t.get("scored", True))
            used = [False] * len(g)
            for p in sorted((p for p in preds if p["label"] == c), key=lambda p: -p["score"]):
                best, j = 0.0, -1
                for k, t in enumerate(g):
                    if used[k]:
                        continue
                    v = iou(p["box"], t["box"])
                    if v > best:
                        best, j = v, k
                if best >= iou_threshold:
                    used[j] = True
                    if not g[j].get("scored", True):
                        continue  # matched an ignored object: neither hit nor false positive
                    hits[c].append((p["score"], 1))
                    found[c] += 1
                    colour_n += 1
                    colour_ok += int(p.get("colour") == g[j]["colour"])
                else:
                    hits[c].append((p["score"], 0))
    ap = {}
    for c in categories:
        h = sorted(hits[c], key=lambda x: -x[0])
        ap[c] = _ap(np.array([x[1] for x in h], dtype=float), n_gt[c])
    valid = [v for v in ap.values() if not np.isnan(v)]
    return {
        "map50": round(float(np.mean(valid)), 4) if valid else 0.0,
        "ap_per_class": {c: (None if np.isnan(v) else round(v, 4)) for c, v in ap.items()},
        "recall_per_class": {c: (round(found[c] / n_gt[c], 4) if n_gt[c] else None)
                             for c in categories},
        "colour_accuracy": round(colour_ok / colour_n, 4) if colour_n else None,
        "n_gt": n_gt,
    }
