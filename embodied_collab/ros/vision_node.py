"""On-board vision on ROS 2: camera in; detections (located, fused) and an annotated image out.

A thin adapter over :mod:`embodied_collab.vision`: subscribes to the RGB image, the depth image,
the camera info and ``/odom``; runs the configured detector on each image, locates detections
with depth + intrinsics + pose, fuses them in an :class:`ObjectMap` (``object_id`` carries the
track id) and publishes ``Detections`` and an annotated ``rgb8`` image. Images arrive through a
keep-last-1 queue and a frame arriving while one is being processed is dropped, so the node
never works on stale frames when it falls behind.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from embodied_collab.ros import convert, convert_interfaces, interfaces, qos
from embodied_collab.ros.graph import TOPICS
from embodied_collab.ros.params import ParameterMirror
from embodied_collab.vision.config_vision import VisionConfig
from embodied_collab.vision.detector import make_detector
from embodied_collab.vision.localise import locate_detections
from embodied_collab.vision.object_map import ObjectMap

_READ_ONLY = ("backend", "weights", "num_threads", "runtime", "yolo_input_size")


def annotate(rgb: np.ndarray, detections: list) -> np.ndarray:
    """A copy of ``rgb`` with each detection's box and ``colour label score`` drawn."""
    import cv2

    out = np.ascontiguousarray(rgb.copy())
    for d in detections:
        x0, y0, x1, y1 = (int(round(v)) for v in d.box)
        cv2.rectangle(out, (x0, y0), (max(x1 - 1, x0), max(y1 - 1, y0)), (255, 0, 255), 1)
        cv2.putText(out, f"{d.colour} {d.label} {d.score:.2f}", (x0, max(y0 - 2, 7)),
                    cv2.FONT_HERSHEY_PLAIN, 0.6, (255, 0, 255), 1)
    return out


class VisionNode(Node):
    """ROS 2 node running the detector (see the module docstring and docs/vision.md)."""

    def __init__(self, name: str = "vision", **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._params = ParameterMirror(self, VisionConfig, read_only=_READ_ONLY)
        cfg = self._params.config
        self._detector = make_detector(cfg)
        self._map = ObjectMap(cfg)
        self._busy = threading.Lock()
        self._depth: np.ndarray | None = None
        self._intrinsics: tuple | None = None
        self._pose: tuple[float, float, float] | None = None
        self.frames = 0
        self.dropped = 0
        msgs = interfaces.msg()
        if msgs is None:
            raise RuntimeError("embodied_collab_interfaces is not built (scripts/build_ros_ws.sh)")
        latest = qos.sensor_qos(depth=1)
        self._pub_det = self.create_publisher(msgs.Detections, TOPICS["detections"],
                                              qos.state_qos())
        self._pub_img = self.create_publisher(Image, TOPICS["detections_image"], latest)
        self.create_subscription(Image, TOPICS["depth"], self._on_depth, latest)
        self.create_subscription(CameraInfo, TOPICS["camera_info"], self._on_info, latest)
        self.create_subscription(Odometry, TOPICS["odom"], self._on_odom, qos.state_qos())
        self.create_subscription(Image, TOPICS["image"], self._on_image, latest)
        runtime = getattr(self._detector, "runtime", "opencv")
        self.get_logger().info(f"vision: backend {cfg.backend} ({runtime}), publishing "
                               f"{TOPICS['detections']}")

    def _on_depth(self, msg: Image) -> None:
        self._depth = convert.image_to_array(msg)

    def _on_info(self, msg: CameraInfo) -> None:
        k = msg.k
        self._intrinsics = (float(k[0]), float(k[4]), float(k[2]), float(k[5]),
                            int(msg.width), int(msg.height))

    def _on_odom(self, msg: Odometry) -> None:
        self._pose = convert.odometry_to_pose(msg)[0]

    def _on_image(self, msg: Image) -> None:
        if not self._busy.acquire(blocking=False):
            self.dropped += 1  # still working on the previous frame: skip this one
            return
        try:
            self._process(msg)
        finally:
            self._busy.release()

    def _process(self, msg: Image) -> None:
        cfg = self._params.config
        self._detector.config = cfg
        try:
            rgb = convert.image_to_array(msg)
            if msg.encoding == "bgr8":
                rgb = rgb[..., ::-1]
            dets = self._detector.detect(np.ascontiguousarray(rgb), self._depth,
                                         self._intrinsics)
        except Exception as exc:  # a bad frame must not stop the node
            self.get_logger().warning(f"frame dropped: {exc}")
            self.dropped += 1
            return
        self.frames += 1
        stamp = convert.stamp_ns(msg.header.stamp)
        located: dict[int, tuple] = {}
        if self._depth is not None and self._intrinsics and self._pose is not None \
                and self._depth.shape[:2] == rgb.shape[:2]:
            sightings = locate_detections(dets, self._depth, self._intrinsics, self._pose, cfg)
            tracks = self._map.update(sightings, stamp * 1e-9)
            for (det, pos), track in zip(sightings, tracks, strict=True):
                located[id(det)] = (pos, track.id)
        items = []
        for d in dets:
            item = {"label": d.label, "score": d.score, "bbox": d.box}
            if id(d) in located:
                item["position"], item["object_id"] = located[id(d)]
            items.append(item)
        self._pub_det.publish(convert_interfaces.detections_msg(items, stamp_ns=stamp,
                                                                frame_id=cfg.frame_id))
        self._pub_img.publish(convert.image_msg(annotate(rgb, dets), "rgb8", stamp_ns=stamp,
                                                frame_id=msg.header.frame_id))

    @property
    def object_map(self) -> ObjectMap:
        """The fused object map (tracks)."""
        return self._map
