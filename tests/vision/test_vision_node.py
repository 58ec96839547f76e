"""The vision node over real DDS: fed a rendered camera frame, it publishes located detections."""

from __future__ import annotations

import math
import threading
import time

import pytest

from embodied_collab.ros import interfaces, procs

pytestmark = [pytest.mark.ros,
              pytest.mark.skipif(not interfaces.load(),
                                 reason="interfaces not built (scripts/build_ros_ws.sh)")]

DOMAIN_ID = procs.unique_domain_id()


@pytest.fixture(scope="module", autouse=True)
def _loopback_domain():
    procs.use_private_domain(DOMAIN_ID)  # discovery on loopback only, private domain


class _Ctx:
    """One rclpy context with one node and an executor (spun in a thread or in bounded waits)."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        self.context = Context()
        rclpy.init(context=self.context, domain_id=DOMAIN_ID,
                   signal_handler_options=SignalHandlerOptions.NO)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.node = None

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        if self.node is not None:
            self.node.destroy_node()
        self.context.try_shutdown()


@pytest.fixture
def vision_node():
    from embodied_collab.ros.vision_node import VisionNode

    ctx = _Ctx()
    stop = threading.Event()
    thread = None
    try:
        ctx.node = VisionNode(context=ctx.context)
        ctx.executor.add_node(ctx.node)

        def spin() -> None:
            while not stop.is_set():
                ctx.executor.spin_once(timeout_sec=0.02)

        thread = threading.Thread(target=spin, daemon=True)
        thread.start()
        yield ctx.node
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=5.0)
        ctx.close()


def test_node_publishes_detections_for_a_camera_frame(vision_node):
    import rclpy
    from sensor_msgs.msg import Image

    from embodied_collab.ros import convert, qos
    from embodied_collab.ros.convert_interfaces import detections_from_msg
    from embodied_collab.ros.graph import TOPICS
    from embodied_collab.vision import dataset

    sample = None
    for s in dataset.iter_samples(dataset.split_seeds("heldout", 4), 6, seed=5):
        if sum(b["scored"] and b["pixels"] > 80 for b in s.boxes) >= 1:
            sample = s
            break
    assert sample is not None
    probe = _Ctx()
    try:
        probe.node = rclpy.create_node("vision_probe", context=probe.context)
        probe.executor.add_node(probe.node)
        got, images = [], []
        probe.node.create_subscription(interfaces.msg().Detections, TOPICS["detections"],
                                       got.append, qos.state_qos())
        probe.node.create_subscription(Image, TOPICS["detections_image"], images.append,
                                       qos.sensor_qos(depth=1))
        from nav_msgs.msg import Odometry
        from sensor_msgs.msg import CameraInfo

        pubs = {
            "image": probe.node.create_publisher(Image, TOPICS["image"], qos.sensor_qos(1)),
            "depth": probe.node.create_publisher(Image, TOPICS["depth"], qos.sensor_qos(1)),
            "info": probe.node.create_publisher(CameraInfo, TOPICS["camera_info"],
                                                qos.sensor_qos(1)),
            "odom": probe.node.create_publisher(Odometry, TOPICS["odom"], qos.state_qos()),
        }
        fx, fy, cx, cy, w, h = sample.intrinsics
        end = time.monotonic() + 30.0
        while time.monotonic() < end and not (got and got[-1].detections and images):
            ns = time.time_ns()
            pubs["odom"].publish(convert.odometry_msg(sample.pose, (0.0, 0.0), stamp_ns=ns))
            pubs["info"].publish(convert.camera_info_msg(fx, fy, cx, cy, w, h, stamp_ns=ns,
                                                         frame_id="camera"))
            pubs["depth"].publish(convert.image_msg(sample.depth, "32FC1", stamp_ns=ns,
                                                    frame_id="camera"))
            pubs["image"].publish(convert.image_msg(sample.rgb, "rgb8", stamp_ns=ns,
                                                    frame_id="camera"))
            t = time.monotonic() + 0.3
            while time.monotonic() < t:
                probe.executor.spin_once(timeout_sec=0.02)
        assert got, "no Detections message within 30 s"
        dets = detections_from_msg(got[-1])
        assert dets, "the node published no detection for a frame with a clear object"
        located = [d for d in dets if "position" in d]
        assert located, dets
        truth = [b["position"] for b in sample.boxes if b["scored"]]
        best = min(math.dist(d["position"], t) for t in truth for d in located)
        assert best < 0.3, (located, truth)
        assert images and images[-1].encoding == "rgb8"
        assert vision_node.frames >= 1
    finally:
        probe.close()
