"""CLI: ``embodied-collab detect IMAGE``, ``train detector`` and ``bench vision``."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from embodied_collab.errors import InvalidFileError, InvalidInputError
from embodied_collab.vision.config_vision import RUNTIMES

#: Image formats ``detect`` accepts (decoded with OpenCV).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


def load_image(path: str | Path):
    """Read an image file as uint8 RGB (H, W, 3).

    Raises:
        InvalidFileError: if the file is missing, empty or not a decodable image.
    """
    import cv2
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise InvalidFileError(f"image file not found: {p}", path=str(p))
    data = p.read_bytes()
    if not data:
        raise InvalidFileError(f"image file is empty: {p}", path=str(p))
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InvalidFileError(
            f"not a decodable image (expected one of {', '.join(IMAGE_SUFFIXES)}): {p}",
            path=str(p))
    if img.dtype != np.uint8:
        raise InvalidFileError(f"image must be 8-bit per channel, got {img.dtype}: {p}",
                               path=str(p))
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    else:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if img.shape[0] < 8 or img.shape[1] < 8:
        raise InvalidFileError(f"image too small ({img.shape[1]}x{img.shape[0]}, need >= 8x8)",
                               path=str(p))
    return img


def _detect(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.config import load_config
    from embodied_collab.vision.config_vision import VisionConfig
    from embodied_collab.vision.detector import make_detector

    cfg = load_config(VisionConfig, args.config) if args.config else VisionConfig()
    if args.backend:
        cfg = VisionConfig(**{**cfg.__dict__, "backend": args.backend})
    rgb = load_image(args.image)
    detector = make_detector(cfg)
    if cfg.backend == "sim" and (rgb.shape[0], rgb.shape[1]) != (120, 160):
        import cv2

        rgb = cv2.resize(rgb, (160, 120), interpolation=cv2.INTER_AREA)
    t0 = time.perf_counter()
    dets = detector.detect(rgb)
    latency = (time.perf_counter() - t0) * 1000
    out = {"detections": [d.to_dict() for d in dets], "latency_ms": round(latency, 2)}
    if args.json:
        print_json(out)
    else:
        for d in out["detections"]:
            print(f"{d['colour']} {d['label']}  score {d['score']:.2f}  box {d['box']}")
        print(f"{len(dets)} detection(s) in {out['latency_ms']} ms")
    return 0


def _train(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.config import load_config
    from embodied_collab.vision.config_vision import TrainConfig
    from embodied_collab.vision.train import DEFAULT_OUT, train

    cfg = load_config(TrainConfig, args.config) if args.config else TrainConfig()
    summary = train(cfg, args.out or DEFAULT_OUT, progress=not args.quiet)
    summary.pop("history", None)
    print_json(summary)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.vision.bench import run_bench

    if args.frames < 1:
        raise InvalidInputError(f"--frames must be >= 1, got {args.frames}")
    if args.weights and not Path(args.weights).is_file():
        raise InvalidInputError(f"--weights {args.weights}: no such file")
    result = run_bench(args.frames, worlds=args.worlds, yolo=not args.no_yolo,
                       weights=args.weights, runtime=args.runtime, progress=not args.json)
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    if args.json:
        print_json(result)
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return 0


def register(sub: argparse._SubParsersAction,
             groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add ``detect``, ``train detector`` and ``bench vision`` to the CLI."""
    p = sub.add_parser("detect", help="detect objects in an image file")
    p.add_argument("image", help="image file (PNG, JPEG, ...)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--backend", choices=("sim", "yolov3-tiny"), default=None,
                   help="detector backend (default: the config's, 'sim')")
    p.add_argument("--config", default=None, help="VisionConfig YAML file")
    p.set_defaults(func=_detect)

    t = groups["train"].add_parser("detector", help="train the on-board detector on sim frames")
    t.add_argument("--config", default=None, help="TrainConfig YAML file")
    t.add_argument("--out", default=None, help="output directory (default: packaged data)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=_train)

    b = groups["bench"].add_parser("vision", help="detector mAP, localisation, latency")
    b.add_argument("--json", action="store_true", help="print JSON")
    b.add_argument("--frames", type=int, default=500, help="held-out frames (default 500)")
    b.add_argument("--worlds", type=int, default=25, help="held-out worlds (default 25)")
    b.add_argument("--no-yolo", action="store_true", help="skip the YOLOv3-tiny backend")
    b.add_argument("--weights", default="",
                   help="sim detector weights to measure (default: the packaged ones)")
    b.add_argument("--runtime", choices=RUNTIMES, default="auto",
                   help="where the sim detector's networks run (default: auto, ONNX Runtime "
                        "when installed)")
    b.set_defaults(func=_bench)
