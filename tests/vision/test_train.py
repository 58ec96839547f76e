"""A tiny training smoke run (real renderer, real net, a few steps)."""

from __future__ import annotations

import json

import pytest

from embodied_collab.vision.config_vision import TrainConfig, VisionConfig
from embodied_collab.vision.detector import make_detector
from embodied_collab.vision.train import train


@pytest.mark.slow
def test_training_smoke_run_writes_loadable_weights_and_curve(tmp_path):
    cfg = TrainConfig(stage="detector", train_worlds=2, frames_per_world=8, val_worlds=1,
                      val_frames_per_world=4,
                      epochs=2, batch_size=8, width=8, num_threads=1, device="cpu")
    summary = train(cfg, tmp_path, progress=False)
    assert (tmp_path / "detector.pt").is_file()
    assert (tmp_path / "training_curve.png").stat().st_size > 1000
    hist = json.loads((tmp_path / "train.json").read_text())["history"]
    assert len(hist) == 2 and hist[1]["loss"] < hist[0]["loss"]
    assert summary["frames"] == 16
    det = make_detector(VisionConfig(weights=str(tmp_path / "detector.pt")))
    import numpy as np

    assert isinstance(det.detect(np.zeros((120, 160, 3), np.uint8)), list)
