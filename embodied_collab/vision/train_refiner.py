"""Training of the refiner (second stage, :mod:`.refine`) on top of a trained first stage.

Frames are rendered once (RGB + depth) and turned into crops: the first stage's own candidate
boxes (labelled by IoU with the ground truth: >= 0.5 with a scored object -> its category,
< 0.3 with every object -> background) and jittered ground-truth boxes. The crops are cached as
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
from embodied_collab.vision.refine import box_features, build_refiner, combine, drop_depth

logger = logging.getLogger(__name__)

ALPHAS = (0.0, 0.25, 0.5, 0.75)
MAX_BACKGROUND = 4  # hardest background candidates kept per frame
CACHE_VERSION = 1


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


def _label(box, truths, n_classes: int) -> int | None:
    best, j, any_iou = 0.0, None, 0.0
    for g in truths:
        v = iou(box, g["box"])
        any_iou = max(any_iou, v)
        if g["scored"] and v > best:
            best, j = v, g
    if best >= 0.5:
        return dataset.CATEGORIES.index(j["category"])
    return n_classes if any_iou < 0.3 else None


def _frame_crops(s, cands, rng, n_classes: int):
    boxes, labels = [], []
    bg = []
    for c in cands:
        y = _label(c[4], s.boxes, n_classes)
        if y == n_classes:
            bg.append(c[4])
        elif y is not None:
            boxes.append(c[4])
            labels.append(y)
    boxes += bg[:MAX_BACKGROUND]
    labels += [n_classes] * len(bg[:MAX_BACKGROUND])
    for g in s.boxes:
        if not g["scored"]:
            continue
        x0, y0, x1, y1 = g["box"]
        w, h = x1 - x0, y1 - y0
        for _ in range(2):
            cx = (x0 + x1) / 2 + rng.normal(0, 0.08) * w
            cy = (y0 + y1) / 2 + rng.normal(0, 0.08) * h
            sw, sh = w * np.exp(rng.normal(0, 0.1)), h * np.exp(rng.normal(0, 0.1))
            boxes.append([cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2])
            labels.append(dataset.CATEGORIES.index(g["category"]))
    if not boxes:
        return None
    crops, scal = box_features(s.rgb, s.depth, s.intrinsics, boxes)
    return crops.half().numpy(), scal.numpy(), np.array(labels, np.int64)


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
            "labels": np.concatenate([p[2] for p in parts])}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(path)
    return data


def refine_probs(refiner, samples, cands) -> list:
    """Refiner probabilities (N, C+1) of each sample's candidates (with depth)."""
    import torch

    out = []
    refiner.eval()
    with torch.inference_mode():
        for s, c in zip(samples, cands, strict=True):
            if not c:
                out.append(np.zeros((0, refiner.n_classes + 1)))
                continue
            crops, scal = box_features(s.rgb, s.depth, s.intrinsics, [d[4] for d in c])
            out.append(refiner(crops, scal).softmax(1).numpy())
    return out


def evaluate_refined(samples, cands, probs, alpha: float) -> dict:
    """Metrics of the two-stage detector on ``samples`` at blend weight ``alpha``."""
    preds = []
    for c, p in zip(cands, probs, strict=True):
        frame = []
        for d, pr in zip(c, p, strict=True):
            k, score = combine(d[2], pr, alpha)
            frame.append({"label": dataset.CATEGORIES[k], "colour": dataset.COLOURS[d[1]],
                          "score": score, "box": d[4]})
        preds.append(frame)
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
    counts = np.bincount(data["labels"], minlength=n_classes + 1)
    logger.info("refiner crops: %d, per class %s", len(labels), counts.tolist())
    torch.manual_seed(cfg.seed)
    refiner = build_refiner(n_classes, cfg.refiner_width)
    opt = torch.optim.AdamW(refiner.parameters(), lr=cfg.refiner_lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.refiner_lr,
                                                total_steps=cfg.refiner_steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(cfg.seed)
    refiner.train()
    losses = []
    bar = tqdm(total=cfg.refiner_steps, desc="train refiner", disable=not progress,
               unit="step")
    for _ in range(cfg.refiner_steps):
        idx = torch.randint(len(labels), (cfg.refiner_batch,), generator=gen)
        x, s, y = crops[idx].float(), scal[idx].clone(), labels[idx]
        flip = torch.rand(len(idx), generator=gen) < 0.5
        x[flip] = x[flip].flip(-1)
        gain = 1 + 0.2 * (torch.rand(len(idx), 3, 1, 1, generator=gen) - 0.5)
        x[:, :3] = ((x[:, :3] + 1) * gain - 1).clamp_(-1, 1)
        drop_depth(x, s, torch.rand(len(idx), generator=gen) < cfg.refiner_depth_dropout)
        loss = F.cross_entropy(refiner(x, s), y, label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
    bar.close()
    refiner.eval()
    val = list(tqdm(dataset.iter_samples(dataset.split_seeds("val", cfg.val_worlds),
                                         cfg.val_frames_per_world, seed=cfg.seed + 1),
                    total=cfg.val_worlds * cfg.val_frames_per_world, desc="render val",
                    disable=not progress, unit="frame"))
    cands = stage1_candidates(model, val, n_classes)
    probs = refine_probs(refiner, val, cands)
    by_alpha = {a: evaluate_refined(val, cands, probs, a) for a in ALPHAS}
    alpha = max(ALPHAS, key=lambda a: by_alpha[a]["map50"])
    summary = {"alpha": alpha, "crops": int(len(labels)), "crops_per_class": counts.tolist(),
               "loss_first_100": float(np.mean(losses[:100])),
               "loss_last_100": float(np.mean(losses[-100:])),
               "val_map50_by_alpha": {str(a): by_alpha[a]["map50"] for a in ALPHAS},
               "val": by_alpha[alpha]}
    return refiner, summary
