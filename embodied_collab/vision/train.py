"""Training of the ``sim`` detector on simulator frames (``embodied-collab train detector``).

Frames are rendered once into memory (train worlds and a small validation set of other worlds),
then the net is trained with AdamW + cosine schedule, horizontal flips and colour jitter. The
result is a small ``.pt`` (state dict + vocabularies) and a training-curve PNG.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np

from embodied_collab.vision import dataset
from embodied_collab.vision.config_vision import TrainConfig
from embodied_collab.vision.metrics import evaluate

logger = logging.getLogger(__name__)

#: Where the committed weights live (package data).
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "vision"
WEIGHTS_NAME = "detector.pt"


def _render_worlds(args: tuple[list[int], int, int]) -> list:
    seeds, per_world, seed = args
    out = []
    for s in dataset.iter_samples(seeds, per_world, seed=seed):
        s.depth = None  # training uses RGB only; keep memory small
        out.append(s)
    return out


def _render(seeds: list[int], per_world: int, seed: int, desc: str, progress: bool,
            workers: int = 1) -> list:
    from tqdm import tqdm

    jobs = [([ws], per_world, seed) for ws in seeds]
    samples = []
    bar = tqdm(total=len(seeds), desc=desc, disable=not progress, unit="world")
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers) as pool:
            for chunk in pool.imap(_render_worlds, jobs):
                samples += chunk
                bar.update(1)
    else:
        for job in jobs:
            samples += _render_worlds(job)
            bar.update(1)
    bar.close()
    return samples


def _batch(samples, idx, rng, augment: bool):
    import torch

    from embodied_collab.vision.model import encode_targets, to_input

    imgs, targets = [], []
    for i in idx:
        s = samples[i]
        rgb, boxes = s.rgb, s.boxes
        H, W = rgb.shape[:2]
        if augment and rng.random() < 0.5:
            rgb = rgb[:, ::-1]
            boxes = [{**b, "box": [W - b["box"][2], b["box"][1], W - b["box"][0], b["box"][3]]}
                     for b in boxes]
        if augment:
            gain = rng.uniform(0.75, 1.25, size=3) * rng.uniform(0.8, 1.2)
            jittered = rgb.astype(np.float32) * gain + rng.normal(0, 6)
            rgb = np.clip(jittered, 0, 255).astype(np.uint8)
        imgs.append(np.ascontiguousarray(rgb))
        targets.append(encode_targets(boxes, (H, W), dataset.CATEGORIES, dataset.COLOURS))
    x = to_input(np.stack(imgs))
    t = {k: torch.from_numpy(np.stack([d[k] for d in targets])) for k in targets[0]}
    return x, t


def predict_samples(model, samples, *, threshold: float = 0.05, batch: int = 64) -> list:
    """Raw-network predictions (no depth refinement) as metric dicts, per sample."""
    import torch

    from embodied_collab.vision.model import decode, to_input

    model.eval()
    out_all = []
    with torch.no_grad():
        for i in range(0, len(samples), batch):
            chunk = samples[i:i + batch]
            device = next(model.parameters()).device
            out = model(to_input(np.stack([s.rgb for s in chunk])).to(device)).cpu()
            for dets in decode(out, len(dataset.CATEGORIES), threshold=threshold,
                               max_detections=20, image_size=chunk[0].rgb.shape[:2]):
                out_all.append([{"label": dataset.CATEGORIES[c], "colour": dataset.COLOURS[k],
                                 "score": s, "box": box} for c, k, s, _, box, _ in dets])
    return out_all


def train(cfg: TrainConfig, out_dir: str | Path = DEFAULT_OUT, *, progress: bool = True) -> dict:
    """Train the detector and write ``detector.pt``, ``training_curve.png`` and ``train.json``.

    Args:
        cfg: training settings.
        out_dir: output directory (created).
        progress: show tqdm progress bars.

    Returns:
        Summary: ``{"weights", "val_map50", "epochs", "frames", "seconds", "history"}``.
    """
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.num_threads)
    t0 = time.monotonic()
    if cfg.stage == "refiner":
        model, meta, key = _load_stage1(cfg.init_weights)
        summary = {"weights": WEIGHTS_NAME, "stage1": meta, "val_map50": None}
        prev_path = out / "train.json"
        if prev_path.is_file():  # keep the first stage's training record
            prev = json.loads(prev_path.read_text())
            summary["stage1_train"] = (prev.get("stage1_train") if prev.get("stage") == "refiner"
                                       else prev)
    else:
        summary = _train_stage1(cfg, out, progress)
        model, _, key = _load_stage1(str(out / WEIGHTS_NAME))
        summary["stage1_val_map50"] = summary["val_map50"]
    if cfg.stage in ("refiner", "all"):
        from embodied_collab.vision.train_refiner import train_refiner

        refiner, rsum = train_refiner(model.cpu(), cfg, key, progress)
        ck = torch.load(out / WEIGHTS_NAME, weights_only=False) if cfg.stage == "all" else None
        meta = (ck or {}).get("meta") or summary.get("stage1") or {}
        save_weights(model, out / WEIGHTS_NAME, extra=meta,
                     refiner={"state_dict": {k: v.detach().cpu()
                                             for k, v in refiner.state_dict().items()},
                              "width": refiner.width, "alpha": rsum["alpha"],
                              "box_head": refiner.box_head})
        _plot_refiner(rsum, out / "refiner_curve.png")
        summary["refiner"] = rsum
        summary["val_map50"] = rsum["val"]["map50"]
    summary.update({"stage": cfg.stage, "config": dataclasses.asdict(cfg),
                    "seconds": round(time.monotonic() - t0, 1)})
    (out / "train.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _load_stage1(path: str):
    """(model, meta, key) of first-stage weights (``""`` = packaged); key = sha256 prefix."""
    import hashlib

    import torch

    from embodied_collab.vision.detector import PACKAGED_WEIGHTS
    from embodied_collab.vision.model import build_model

    p = Path(path) if path else PACKAGED_WEIGHTS
    ck = torch.load(p, map_location="cpu", weights_only=False)
    model = build_model(len(ck["categories"]), len(ck["colours"]), ck["width"])
    model.load_state_dict(ck["state_dict"])
    model.eval()
    h = hashlib.sha256()
    for k, v in sorted(ck["state_dict"].items()):
        h.update(k.encode())
        h.update(v.numpy().tobytes())
    meta = dict(ck.get("meta") or {})
    meta["sha256"] = h.hexdigest()
    return model, meta, meta["sha256"][:16]


def _train_stage1(cfg: TrainConfig, out: Path, progress: bool) -> dict:
    import torch
    from tqdm import tqdm

    from embodied_collab.vision.model import build_model, loss_fn

    device = "cuda" if cfg.device == "auto" and torch.cuda.is_available() else cfg.device
    device = "cpu" if device == "auto" else device
    t0 = time.monotonic()
    train_set = _render(dataset.split_seeds("train", cfg.train_worlds), cfg.frames_per_world,
                        cfg.seed, "render train", progress, cfg.render_workers)
    val_set = _render(dataset.split_seeds("val", cfg.val_worlds), cfg.val_frames_per_world,
                      cfg.seed + 1, "render val", progress, cfg.render_workers)
    model = build_model(len(dataset.CATEGORIES), len(dataset.COLOURS), cfg.width).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, len(train_set) // cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total,
                                                pct_start=0.1)
    rng = np.random.default_rng(cfg.seed)
    history = []
    bar = tqdm(total=total, desc="train", disable=not progress, unit="step")
    best = -1.0
    for epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(len(train_set))
        losses = []
        for s in range(steps_per_epoch):
            x, t = _batch(train_set, order[s * cfg.batch_size:(s + 1) * cfg.batch_size], rng,
                          augment=True)
            x, t = x.to(device), {k: v.to(device) for k, v in t.items()}
            loss, parts = loss_fn(model(x), t, len(dataset.CATEGORIES))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", epoch=epoch + 1)
        val = evaluate(predict_samples(model, val_set), [s.boxes for s in val_set],
                       dataset.CATEGORIES)
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)),
                        "val_map50": val["map50"], "val_colour": val["colour_accuracy"]})
        logger.info("epoch %d loss %.3f val mAP50 %.3f", epoch + 1, np.mean(losses), val["map50"])
        if val["map50"] >= best:
            best = val["map50"]
            save_weights(model, out / WEIGHTS_NAME,
                         extra={"epoch": epoch + 1, "val": val, "history": history})
    bar.close()
    _plot(history, out / "training_curve.png")
    summary = {"weights": WEIGHTS_NAME, "val_map50": best, "epochs": cfg.epochs,
               "device": device, "frames": len(train_set),
               "stage1_seconds": round(time.monotonic() - t0, 1), "history": history}
    return summary


def save_weights(model, path: Path, extra: dict | None = None,
                 refiner: dict | None = None) -> None:
    """Save the state dict with the vocabularies and width needed to rebuild the net (and the
    refiner's ``{"state_dict", "width", "alpha"}`` when given)."""
    import torch

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    ck = {"state_dict": state, "categories": list(dataset.CATEGORIES),
          "colours": list(dataset.COLOURS), "width": model.width,
          "meta": json.loads(json.dumps(extra or {}))}
    if refiner is not None:
        ck["refiner"] = refiner
    torch.save(ck, path)


def _plot(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(ep, [h["loss"] for h in history], "b-o", label="train loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss", color="b")
    ax2 = ax.twinx()
    ax2.plot(ep, [h["val_map50"] for h in history], "r-s", label="val mAP@0.5")
    ax2.set_ylabel("val mAP@0.5", color="r")
    ax2.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plot_refiner(summary: dict, path: Path) -> None:
    """The refiner's training curve: classification and box losses per step, and the
    validation mAP@0.5 at each blend weight."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = summary.get("curve") or []
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8, 3.2), gridspec_kw={"width_ratios": [3, 1]})
    ax.plot([c["step"] for c in curve], [c["cls"] for c in curve], "b-", label="class loss")
    ax.plot([c["step"] for c in curve], [c["box"] for c in curve], "g-", label="box loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    by = summary.get("val_map50_by_alpha") or {}
    ax2.plot([float(a) for a in by], list(by.values()), "r-s")
    ax2.set_xlabel("alpha")
    ax2.set_ylabel("val mAP@0.5", color="r")
    ax2.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
