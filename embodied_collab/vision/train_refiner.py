"""Training of the refiner (second stage, :mod:`.refine`) on top of a trained first stage.

Frames are rendered once (RGB + depth) and turned into crops: the first stage's own candidate
boxes (labelled by IoU with the ground truth: >= 0.3 with a scored object -> its category and
the box correction onto it, < 0.3 with every object -> background) and jittered ground-truth
boxes. The crops are cached as
numpy arrays (``~/.cache/embodied_collab/vision``) keyed by everything that shapes them, so a
rerun skips rendering. The blend weight ``alpha`` of heatmap peak and refiner probability is
picked on validation frames.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from embodied_collab.vision import dataset
from embodied_collab.vision.detector import CANDIDATE_THRESHOLD
from embodied_collab.vision.metrics import evaluate, iou
from embodied_collab.vision.refine import (
    box_deltas,
    box_features,
    build_refiner,
    drop_depth,
    refine_candidates,
)

logger = logging.getLogger(__name__)

ALPHAS = (0.0, 0.25, 0.5, 0.75)
MAX_BACKGROUND = 4  # hardest background candidates kept per frame
MATCH_IOU = 0.3  # a candidate overlapping a scored object this much learns to correct onto it
#: 2: object shapes in the renderer (apple stem/leaf/gloss, ball seams, mug handle), box targets
CACHE_VERSION = 2


def cache_dir() -> Path:
    """Where rendered crops are cached (``$EMBODIED_COLLAB_CACHE`` or ``~/.cache``)."""
    root = os.environ.get("EMBODIED_COLLAB_CACHE") or Path.home() / ".cache" / "embodied_collab"
    return Path(root) / "vision"


def stage1_candidates(model, samples, n_classes: int, batch: int = 32) -> list[list[tuple]]:
    """First-stage decoded candidates (score >= :data:`CANDIDATE_THRESHOLD`) per sample."""
    import torch

    from embodied_collab.vision.model import decode, to_input

    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(samples), batch):
            chunk = samples[i:i + batch]
            o = model(to_input(np.stack([s.rgb for s in chunk])))
            out += decode(o, n_classes, threshold=CANDIDATE_THRESHOLD, max_detections=20,
                          image_size=chunk[0].rgb.shape[:2])
    return out


def _label(box, truths, n_classes: int) -> tuple[int | None, list | None]:
    """(class, target box): the best-overlapping scored object's category and box when the
    IoU is at least :data:`MATCH_IOU`, background (no box) when ``box`` overlaps no object
    that much, ``None`` otherwise (it mostly covers an ignored sliver)."""
    best, j, any_iou = 0.0, None, 0.0
    for g in truths:
        v = iou(box, g["box"])
        any_iou = max(any_iou, v)
        if g["scored"] and v > best:
            best, j = v, g
    if best >= MATCH_IOU:
        return dataset.CATEGORIES.index(j["category"]), j["box"]
    return (n_classes if any_iou < MATCH_IOU else None), None


def _frame_crops(s, cands, rng, n_classes: int):
    boxes, labels, targets = [], [], []
    bg = []
    for c in cands:
        y, t = _label(c[4], s.boxes, n_classes)
        if y == n_classes:
            bg.append(c[4])
        elif y is not None:
            boxes.append(c[4])
            labels.append(y)
            targets.append(t)
    boxes += bg[:MAX_BACKGROUND]
    labels += [n_classes] * len(bg[:MAX_BACKGROUND])
    targets += [None] * len(bg[:MAX_BACKGROUND])
    for g in s.boxes:
        if not g["scored"]:
            continue
        x0, y0, x1, y1 = g["box"]
        w, h = x1 - x0, y1 - y0
        for _ in range(2):
            cx = (x0 + x1) / 2 + rng.normal(0, 0.12) * w
            cy = (y0 + y1) / 2 + rng.normal(0, 0.12) * h
            sw, sh = w * np.exp(rng.normal(0, 0.15)), h * np.exp(rng.normal(0, 0.15))
            boxes.append([cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2])
            labels.append(dataset.CATEGORIES.index(g["category"]))
            targets.append(g["box"])
    if not boxes:
        return None
    crops, scal = box_features(s.rgb, s.depth, s.intrinsics, boxes)
    deltas = np.array([box_deltas(b, t) if t is not None else np.zeros(4, np.float32)
                       for b, t in zip(boxes, targets, strict=True)], np.float32)
    return crops.half().numpy(), scal.numpy(), np.array(labels, np.int64), deltas


def collect_crops(model, seeds: list[int], per_world: int, seed: int, key: str,
                  progress: bool) -> dict[str, np.ndarray]:
    """Training crops of the worlds ``seeds`` (cached under ``key``)."""
    from tqdm import tqdm

    digest = hashlib.sha256(f"{CACHE_VERSION}|{key}|{seeds[0]}|{len(seeds)}|{per_world}|{seed}"
                            .encode()).hexdigest()[:16]
    path = cache_dir() / f"refiner-crops-{digest}.npz"
    if path.is_file():
        logger.info("refiner crops from cache %s", path)
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    rng = np.random.default_rng(seed)
    parts: list[tuple] = []
    n_classes = len(dataset.CATEGORIES)
    bar = tqdm(total=len(seeds), desc="render crops", disable=not progress, unit="world")
    for ws in seeds:
        samples = list(dataset.iter_samples([ws], per_world, seed=seed))
        for s, c in zip(samples, stage1_candidates(model, samples, n_classes), strict=True):
            r = _frame_crops(s, c, rng, n_classes)
            if r is not None:
                parts.append(r)
        bar.update(1)
    bar.close()
    data = {"crops": np.concatenate([p[0] for p in parts]),
            "scalars": np.concatenate([p[1] for p in parts]),
            "labels": np.concatenate([p[2] for p in parts]),
            "deltas": np.concatenate([p[3] for p in parts])}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(path)
    return data


def refine_outputs(refiner, samples, cands) -> list[tuple]:
    """Refiner ``(probs (N, C+1), deltas (N, 4) or None)`` of each sample's candidates (with
    depth)."""
    import torch

    out = []
    refiner.eval()
    with torch.inference_mode():
        for s, c in zip(samples, cands, strict=True):
            if not c:
                out.append((np.zeros((0, refiner.n_classes + 1)), None))
                continue
            crops, scal = box_features(s.rgb, s.depth, s.intrinsics, [d[4] for d in c])
            logits, deltas = refiner(crops, scal)
            out.append((logits.softmax(1).numpy(),
                        deltas.numpy() if deltas is not None else None))
    return out


def evaluate_refined(samples, cands, outputs, alpha: float) -> dict:
    """Metrics of the two-stage detector on ``samples`` at blend weight ``alpha``."""
    preds = []
    for s, c, (probs, deltas) in zip(samples, cands, outputs, strict=True):
        dets = refine_candidates(c, probs, deltas, alpha, CANDIDATE_THRESHOLD,
                                 s.rgb.shape[:2])
        preds.append([{"label": dataset.CATEGORIES[k], "colour": dataset.COLOURS[col],
                       "score": score, "box": box} for k, col, score, box in dets])
    return evaluate(preds, [s.boxes for s in samples], dataset.CATEGORIES)


def train_refiner(model, cfg, key: str, progress: bool = True) -> tuple[object, dict]:
    """Train the refiner for the first-stage ``model``.

    Args:
        model: the trained first stage (eval mode, CPU).
        cfg: :class:`~embodied_collab.vision.config_vision.TrainConfig`.
        key: identity of the first stage (its weights' hash), part of the cache key.
        progress: show progress bars.

    Returns:
        ``(refiner, summary)`` with ``summary["alpha"]`` the picked blend weight and
        ``summary["val"]`` the validation metrics at it.
    """
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    n_classes = len(dataset.CATEGORIES)
    data = collect_crops(model, dataset.split_seeds("train", cfg.train_worlds),
                         cfg.refiner_frames_per_world, cfg.seed, key, progress)
    crops = torch.from_numpy(data["crops"])
    scal = torch.from_numpy(data["scalars"])
    labels = torch.from_numpy(data["labels"])
    deltas = torch.from_numpy(data["deltas"])
    counts = np.bincount(data["labels"], minlength=n_classes + 1)
    logger.info("refiner crops: %d, per class %s", len(labels), counts.tolist())
    torch.manual_seed(cfg.seed)
    refiner = build_refiner(n_classes, cfg.refiner_width, box_head=cfg.refiner_box_weight > 0)
    opt = torch.optim.AdamW(refiner.parameters(), lr=cfg.refiner_lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.refiner_lr,
                                                total_steps=cfg.refiner_steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(cfg.seed)
    refiner.train()
    losses, curve = [], []
    bar = tqdm(total=cfg.refiner_steps, desc="train refiner", disable=not progress,
               unit="step")
    for _ in range(cfg.refiner_steps):
        idx = torch.randint(len(labels), (cfg.refiner_batch,), generator=gen)
        x, s, y, t = crops[idx].float(), scal[idx].clone(), labels[idx], deltas[idx].clone()
        flip = torch.rand(len(idx), generator=gen) < 0.5
        x[flip] = x[flip].flip(-1)
        t[flip, 0] = -t[flip, 0]
        gain = 1 + 0.2 * (torch.rand(len(idx), 3, 1, 1, generator=gen) - 0.5)
        x[:, :3] = ((x[:, :3] + 1) * gain - 1).clamp_(-1, 1)
        drop_depth(x, s, torch.rand(len(idx), generator=gen) < cfg.refiner_depth_dropout)
        logits, pred = refiner(x, s)
        l_cls = F.cross_entropy(logits, y, label_smoothing=0.05)
        obj = y < n_classes
        l_box = (F.smooth_l1_loss(pred[obj], t[obj]) if obj.any()
                 else torch.zeros(())) if pred is not None else torch.zeros(())
        loss = l_cls + cfg.refiner_box_weight * l_box
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        curve.append((l_cls.item(), l_box.item()))
        bar.update(1)
        bar.set_postfix(cls=f"{np.mean([c[0] for c in curve[-50:]]):.3f}",
                        box=f"{np.mean([c[1] for c in curve[-50:]]):.3f}")
    bar.close()
    refiner.eval()
    val = list(tqdm(dataset.iter_samples(dataset.split_seeds("val", cfg.val_worlds),
                                         cfg.val_frames_per_world, seed=cfg.seed + 1),
                    total=cfg.val_worlds * cfg.val_frames_per_world, desc="render val",
                    disable=not progress, unit="frame"))
    cands = stage1_candidates(model, val, n_classes)
    outputs = refine_outputs(refiner, val, cands)
    by_alpha = {a: evaluate_refined(val, cands, outputs, a) for a in ALPHAS}
    alpha = max(ALPHAS, key=lambda a: by_alpha[a]["map50"])
    summary = {"alpha": alpha, "crops": int(len(labels)), "crops_per_class": counts.tolist(),
               "loss_first_100": float(np.mean(losses[:100])),
               "loss_last_100": float(np.mean(losses[-100:])),
               "curve": _curve_points(curve),
               "val_map50_by_alpha": {str(a): by_alpha[a]["map50"] for a in ALPHAS},
               "val": by_alpha[alpha]}
    return refiner, summary


def _curve_points(curve: list[tuple[float, float]], points: int = 50) -> list[dict]:
    """The per-step (classification, box) losses averaged over ``points`` equal windows."""
    if not curve:
        return []
    a = np.array(curve)
    out = []
    for chunk in np.array_split(np.arange(len(a)), min(points, len(a))):
        out.append({"step": int(chunk[-1]) + 1, "cls": round(float(a[chunk, 0].mean()), 4),
                    "box": round(float(a[chunk, 1].mean()), 4)})
    return out
