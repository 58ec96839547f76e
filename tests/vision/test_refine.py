"""The second stage (crop + depth refiner): features, packaged refiner, training smoke run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from embodied_collab.vision import dataset
from embodied_collab.vision.config_vision import TrainConfig, VisionConfig
from embodied_collab.vision.detector import make_detector
from embodied_collab.vision.metrics import evaluate
from embodied_collab.vision.refine import (
    CROP,
    N_SCALARS,
    apply_deltas,
    box_deltas,
    box_features,
    combine,
    refine_candidates,
)
from embodied_collab.vision.train import train


def test_box_features_shapes_and_metric_size(heldout_samples):
    s = next(s for s in heldout_samples if any(b["scored"] for b in s.boxes))
    g = next(b for b in s.boxes if b["scored"])
    crops, scal = box_features(s.rgb, s.depth, s.intrinsics, [g["box"], g["box"]])
    assert crops.shape == (2, 4, CROP, CROP) and scal.shape == (2, N_SCALARS)
    assert torch.isfinite(crops).all() and torch.isfinite(scal).all()
    assert scal[0, 2] == 1.0  # depth known
    # metric width from depth: within a factor 2 of the object's true diameter (0.15 m scale)
    true_w = 2 * dataset.catalog.OBJECTS[g["category"]].radius
    width_m = float(np.exp(scal[0, 4]) * 0.15)
    assert true_w * 0.4 <= width_m <= true_w * 2.5, (g, width_m)
    rgb_only, scal_rgb = box_features(s.rgb, None, None, [g["box"]])
    assert float(rgb_only[0, 3].abs().sum()) == 0.0 and float(scal_rgb[0, 2:].abs().sum()) == 0
    assert torch.allclose(rgb_only[0, :3], crops[0, :3])


def test_combine_picks_best_category_and_blends_scores():
    c, score = combine(0.8, [0.1, 0.6, 0.1, 0.0, 0.0, 0.0, 0.2], alpha=0.5)
    assert c == 1 and score == pytest.approx((0.8 * 0.6) ** 0.5)
    assert combine(0.8, [0.1, 0.6, 0.1, 0.0, 0.0, 0.0, 0.2], alpha=1.0)[1] == pytest.approx(0.8)


def test_box_deltas_and_apply_deltas_are_inverse():
    box, target = [40.0, 30.0, 48.0, 36.0], [41.5, 29.0, 50.0, 37.5]
    d = box_deltas(box, target)
    assert d.shape == (4,) and np.all(np.abs(d) < 10)
    assert apply_deltas(box, d) == pytest.approx(target, abs=1e-4)
    assert apply_deltas(box, np.zeros(4)) == pytest.approx(box)
    # clipped to the image
    assert apply_deltas([150.0, 0.0, 160.0, 10.0], [5.0, -5.0, 0.0, 0.0], (120, 160))[2] == 160.0


def test_refine_candidates_corrects_boxes_thresholds_and_suppresses_duplicates():
    # (class, colour, peak, colour_prob, box, class_scores) as decoded by the first stage
    cands = [(0, 2, 0.9, 0.9, [10.0, 10.0, 20.0, 20.0], []),
             (0, 2, 0.6, 0.9, [11.0, 10.0, 21.0, 20.0], []),  # the same object again
             (1, 3, 0.9, 0.9, [60.0, 10.0, 70.0, 20.0], []),
             (1, 3, 0.9, 0.9, [90.0, 10.0, 95.0, 20.0], [])]  # background to the refiner
    probs = np.array([[0.9, 0.1, 0, 0, 0, 0, 0.0], [0.8, 0.1, 0, 0, 0, 0, 0.1],
                      [0.0, 0.2, 0.8, 0, 0, 0, 0.0], [0.02, 0, 0, 0, 0, 0, 0.98]])
    shift = box_deltas([60.0, 10.0, 70.0, 20.0], [62.0, 10.0, 72.0, 20.0])
    deltas = np.stack([np.zeros(4), np.zeros(4), shift, np.zeros(4)])
    out = refine_candidates(cands, probs, deltas, 0.0, 0.3, (120, 160))
    assert [(c, k) for c, k, _, _ in out] == [(0, 2), (2, 3)]
    assert out[0][2] == pytest.approx(0.9) and out[1][2] == pytest.approx(0.8)
    assert out[1][3] == pytest.approx([62.0, 10.0, 72.0, 20.0], abs=1e-4)
    # without a box head the boxes stay as they are
    plain = refine_candidates(cands, probs, None, 0.0, 0.3, (120, 160))
    assert plain[1][3] == [60.0, 10.0, 70.0, 20.0]


def test_packaged_refiner_is_used_and_helps_on_heldout_frames(heldout_samples):
    refined = make_detector(VisionConfig(score_threshold=0.05))
    assert refined.refiner is not None
    plain = make_detector(VisionConfig(score_threshold=0.05, refine=False))
    assert plain.refiner is not None  # loaded, but switched off by the config
    truths = [s.boxes for s in heldout_samples]
    cats = dataset.CATEGORIES

    def run(det, depth: bool):
        return [[d.to_dict() for d in det.detect(s.rgb, s.depth if depth else None,
                                                 s.intrinsics)] for s in heldout_samples]

    with_refiner = evaluate(run(refined, True), truths, cats)["map50"]
    without = evaluate(run(plain, True), truths, cats)["map50"]
    rgb_only = evaluate(run(refined, False), truths, cats)["map50"]
    assert with_refiner > without, (with_refiner, without)
    assert rgb_only >= 0.3, rgb_only  # still works on RGB-only images (CLI `detect`)


@pytest.mark.slow
def test_refiner_training_smoke_run(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBODIED_COLLAB_CACHE", str(tmp_path / "cache"))
    cfg = TrainConfig(stage="refiner", train_worlds=2, refiner_frames_per_world=6, val_worlds=1,
                      val_frames_per_world=4, refiner_steps=6, refiner_batch=16,
                      refiner_width=8, num_threads=1, device="cpu")
    summary = train(cfg, tmp_path, progress=False)
    assert summary["refiner"]["crops"] > 0
    assert list(tmp_path.joinpath("cache", "vision").glob("refiner-crops-*.npz"))
    saved = json.loads((tmp_path / "train.json").read_text())
    assert saved["stage"] == "refiner" and "alpha" in saved["refiner"]
    assert (tmp_path / "refiner_curve.png").stat().st_size > 1000
    assert len(saved["refiner"]["curve"]) == 6 and saved["refiner"]["curve"][0]["box"] > 0
    det = make_detector(VisionConfig(weights=str(tmp_path / "detector.pt")))
    assert det.refiner is not None and det.refiner.width == 8 and det.refiner.box_head
    s = next(dataset.iter_samples(dataset.split_seeds("heldout", 1), 1, seed=3))
    assert isinstance(det.detect(s.rgb, s.depth, s.intrinsics), list)
