"""Configuration of on-board vision: detector backend, localisation, object map, training."""

from __future__ import annotations

from dataclasses import dataclass

#: Detector backends (see :mod:`embodied_collab.vision.detector`).
BACKENDS = ("sim", "yolov3-tiny")

#: Where the ``sim`` detector's networks run (:attr:`VisionConfig.runtime`).
RUNTIMES = ("auto", "onnxruntime", "torch")

#: What ``embodied-collab train detector`` trains (:attr:`TrainConfig.stage`).
STAGES = ("refiner", "detector", "all")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")


def _fraction(name: str, value: float, *, open_low: bool = False) -> None:
    if not (0.0 < value <= 1.0 if open_low else 0.0 <= value <= 1.0):
        lo = "(0" if open_low else "[0"
        raise ValueError(f"{name} must be in {lo}, 1], got {value!r}")


@dataclass(kw_only=True)
class VisionConfig:
    """Detector, localisation and object-map settings (mirrored as ROS parameters).

    Attributes:
        backend: detector backend, one of :data:`BACKENDS` (``"sim"``: the small net trained on
            the simulator's frames; ``"yolov3-tiny"``: COCO YOLOv3-tiny through OpenCV DNN).
        weights: path of the ``sim`` detector's weights; ``""`` = the packaged weights.
        score_threshold: detections scoring below this are dropped.
        max_detections: most detections returned per frame.
        num_threads: torch / ONNX Runtime / OpenCV threads used by the detector (0 = library
            default).
        runtime: where the ``sim`` detector's networks run, one of :data:`RUNTIMES`:
            ``"auto"`` (ONNX Runtime on a cached export of the weights, about twice as fast on
            one core; PyTorch when ``onnx``/``onnxruntime`` are missing), ``"onnxruntime"``
            (an error when it is not available) or ``"torch"``.
        yolo_input_size: square input side of YOLOv3-tiny (multiple of 32).
        yolo_nms_threshold: IoU above which YOLO boxes are suppressed.
        use_depth_size: with a depth image, use it to re-decide the category: the refiner's
            depth inputs (relative depth crop, distance, metric size), or without a refiner the
            metric-size likelihood re-ranking of the heatmap scores.
        refine: re-classify each candidate with the second-stage crop classifier packaged with
            the weights (when the weights carry one).
        camera_z: optical centre height above the floor (m), for world positions.
        depth_region: side of the box-centre region (fraction of the box) whose median depth
            locates a detection.
        max_depth: detections with a median depth beyond this (m) get no position.
        match_radius: a sighting within this distance (m) of a track (same category) fuses
            into it.
        min_hits: sightings before a track counts as confirmed.
        associate_radius: a confirmed track marks the nearest world object of its category
            (and colour) within this distance (m) as observed in the scene graph.
        frame_id: frame of published positions.
    """

    backend: str = "sim"
    weights: str = ""
    score_threshold: float = 0.35
    max_detections: int = 20
    num_threads: int = 1
    runtime: str = "auto"
    yolo_input_size: int = 416
    yolo_nms_threshold: float = 0.45
    use_depth_size: bool = True
    refine: bool = True
    camera_z: float = 1.0
    depth_region: float = 0.4
    max_depth: float = 10.0
    match_radius: float = 0.35
    min_hits: int = 2
    associate_radius: float = 0.5
    frame_id: str = "map"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {list(BACKENDS)}, got {self.backend!r}")
        _fraction("score_threshold", self.score_threshold)
        if self.max_detections < 1:
            raise ValueError(f"max_detections must be >= 1, got {self.max_detections!r}")
        if self.num_threads < 0:
            raise ValueError(f"num_threads must be >= 0, got {self.num_threads!r}")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {list(RUNTIMES)}, got {self.runtime!r}")
        if self.yolo_input_size < 32 or self.yolo_input_size % 32:
            raise ValueError(
                f"yolo_input_size must be a multiple of 32 >= 32, got {self.yolo_input_size!r}")
        _fraction("yolo_nms_threshold", self.yolo_nms_threshold, open_low=True)
        if not 0.05 <= self.camera_z <= 2.3:
            raise ValueError(f"camera_z must be in [0.05, 2.3] m, got {self.camera_z!r}")
        _fraction("depth_region", self.depth_region, open_low=True)
        for name in ("max_depth", "match_radius", "associate_radius"):
            _positive(name, getattr(self, name))
        if self.min_hits < 1:
            raise ValueError(f"min_hits must be >= 1, got {self.min_hits!r}")
        if not self.frame_id:
            raise ValueError("frame_id must be a non-empty frame name, got ''")


@dataclass(kw_only=True)
class TrainConfig:
    """Training of the ``sim`` detector (``embodied-collab train detector``).

    Attributes:
        train_worlds: generated worlds (seeds ``0 .. train_worlds-1``) frames are rendered from.
        frames_per_world: frames rendered per world.
        val_worlds: held-out worlds for the per-epoch validation (seeds from ``VAL_SEED0``).
        val_frames_per_world: frames per validation world.
        epochs: passes over the training frames.
        batch_size: frames per optimisation step.
        lr: peak AdamW learning rate (cosine schedule).
        weight_decay: AdamW weight decay.
        width: channel width of the network's first stage.
        seed: seed of frame sampling, initialisation and batching.
        num_threads: torch threads (1: the committed weights were trained so, and on a shared
            2-core machine a second thread slowed the steps down).
        render_workers: processes rendering frames (1 = in this process).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (cuda when available); results match up
            to floating-point nondeterminism.
        stage: what to train: ``"all"`` (default: the first stage from scratch, then the
            refiner on it), ``"refiner"`` (the second-stage crop classifier on top of the first
            stage loaded from ``init_weights``) or ``"detector"`` (the first stage only).
        init_weights: first-stage weights for ``stage: refiner`` (``""`` = the packaged ones).
        refiner_frames_per_world: frames per training world rendered for the refiner's crops.
        refiner_steps: refiner optimisation steps.
        refiner_batch: crops per refiner step.
        refiner_lr: peak AdamW learning rate of the refiner (one-cycle schedule).
        refiner_width: channel width of the refiner.
        refiner_depth_dropout: share of training crops whose depth inputs are zeroed, so the
            refiner also works on RGB-only images.
        refiner_box_weight: weight of the refiner's box-correction loss (0 = no box head).
    """

    train_worlds: int = 200
    frames_per_world: int = 40
    val_worlds: int = 12
    val_frames_per_world: int = 20
    epochs: int = 16
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    width: int = 24
    seed: int = 0
    num_threads: int = 1
    render_workers: int = 1
    device: str = "auto"
    stage: str = "all"
    init_weights: str = ""
    refiner_frames_per_world: int = 72
    refiner_steps: int = 6000
    refiner_batch: int = 128
    refiner_lr: float = 3e-3
    refiner_width: int = 24
    refiner_depth_dropout: float = 0.15
    refiner_box_weight: float = 1.0

    def __post_init__(self) -> None:
        for name in ("train_worlds", "frames_per_world", "val_worlds", "val_frames_per_world",
                     "epochs", "batch_size", "width", "num_threads", "render_workers",
                     "refiner_frames_per_world", "refiner_steps", "refiner_batch",
                     "refiner_width"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        _positive("lr", self.lr)
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed!r}")
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {list(STAGES)}, got {self.stage!r}")
        _positive("refiner_lr", self.refiner_lr)
        if self.refiner_box_weight < 0:
            raise ValueError(
                f"refiner_box_weight must be >= 0, got {self.refiner_box_weight!r}")
        if not 0.0 <= self.refiner_depth_dropout < 1.0:
            raise ValueError(
                f"refiner_depth_dropout must be in [0, 1), got {self.refiner_depth_dropout!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
