"""Every validated field of VisionConfig and TrainConfig rejects bad values with its name."""

from __future__ import annotations

import pytest

from embodied_collab.vision.config_vision import TrainConfig, VisionConfig


@pytest.mark.parametrize("field,value", [
    ("backend", "resnet"), ("score_threshold", 1.5), ("score_threshold", -0.1),
    ("max_detections", 0), ("num_threads", -1), ("yolo_input_size", 100),
    ("yolo_input_size", 0), ("yolo_nms_threshold", 0.0), ("camera_z", 3.0),
    ("depth_region", 0.0), ("max_depth", 0.0), ("match_radius", -1.0), ("min_hits", 0),
    ("associate_radius", 0.0), ("frame_id", ""),
])
def test_vision_config_rejects(field, value):
    with pytest.raises(ValueError, match=field):
        VisionConfig(**{field: value})


@pytest.mark.parametrize("field,value", [
    ("train_worlds", 0), ("frames_per_world", 0), ("val_worlds", 0),
    ("val_frames_per_world", 0), ("epochs", 0), ("batch_size", 0), ("width", 0),
    ("num_threads", 0), ("render_workers", 0), ("lr", 0.0), ("weight_decay", -1.0),
    ("seed", -1), ("device", "tpu"), ("stage", "both"), ("refiner_frames_per_world", 0),
    ("refiner_steps", 0), ("refiner_batch", 0), ("refiner_width", 0), ("refiner_lr", 0.0),
    ("refiner_depth_dropout", 1.0), ("refiner_depth_dropout", -0.1), ("refiner_box_weight", -1.0),
])
def test_train_config_rejects(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_defaults_are_valid():
    assert VisionConfig().backend == "sim"
    assert TrainConfig().epochs >= 1
