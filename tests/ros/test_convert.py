"""Message conversions (pure: the message classes, no DDS)."""

import math

import numpy as np
import pytest

from embodied_collab.errors import InvalidInputError
from embodied_collab.ros import convert


def test_stamp_round_trip():
    ns = 1_795_000_000_123_456_789
    assert convert.stamp_ns(convert.stamp_msg(ns)) == ns


@pytest.mark.parametrize("yaw", [0.0, 0.5, -2.0, math.pi - 1e-6])
def test_odometry_round_trip(yaw):
    msg = convert.odometry_msg((1.5, -2.0, yaw), (0.3, -0.4), stamp_ns=5, frame_id="odom",
                               child_frame_id="base_link")
    (x, y, theta), (v, w) = convert.odometry_to_pose(msg)
    assert (x, y, v, w) == pytest.approx((1.5, -2.0, 0.3, -0.4))
    assert theta == pytest.approx(yaw, abs=1e-9)
    assert msg.child_frame_id == "base_link"


def test_twist_refuses_non_finite():
    with pytest.raises(InvalidInputError, match="finite"):
        convert.twist_to_cmd(convert.twist_msg(float("nan"), 0.0))
    assert convert.twist_to_cmd(convert.twist_msg(0.2, -0.1)) == pytest.approx((0.2, -0.1))


def test_scan_round_trip():
    ranges = np.linspace(0.1, 5.0, 64, dtype=np.float32)
    msg = convert.scan_msg(ranges, angle_min=-math.pi, angle_max=math.pi - 0.1, range_min=0.05,
                           range_max=6.0, stamp_ns=1, frame_id="laser")
    np.testing.assert_array_equal(convert.scan_to_array(msg), ranges)
    assert msg.angle_increment == pytest.approx((2 * math.pi - 0.1) / 63)
    with pytest.raises(InvalidInputError, match="1-D"):
        convert.scan_msg(np.zeros((2, 2)), angle_min=0, angle_max=1, range_min=0, range_max=1,
                         stamp_ns=0)


@pytest.mark.parametrize(
    ("encoding", "array"),
    [
        ("rgb8", np.arange(24 * 32 * 3, dtype=np.uint8).reshape(24, 32, 3)),
        ("mono8", np.arange(24 * 32, dtype=np.uint8).reshape(24, 32)),
        ("32FC1", np.linspace(0, 9, 24 * 32, dtype=np.float32).reshape(24, 32)),
        ("16UC1", np.arange(24 * 32, dtype=np.uint16).reshape(24, 32)),
    ],
)
def test_image_round_trip(encoding, array):
    msg = convert.image_msg(array, encoding, stamp_ns=7, frame_id="cam")
    assert (msg.height, msg.width, msg.encoding) == (24, 32, encoding)
    np.testing.assert_array_equal(convert.image_to_array(msg), array)


def test_image_refuses_mismatch():
    with pytest.raises(InvalidInputError, match="rgb8 needs a uint8"):
        convert.image_msg(np.zeros((4, 4, 3), np.float32), "rgb8", stamp_ns=0, frame_id="c")
    with pytest.raises(InvalidInputError, match="unsupported encoding"):
        convert.image_msg(np.zeros((4, 4), np.uint8), "yuv422", stamp_ns=0, frame_id="c")
    msg = convert.image_msg(np.zeros((4, 4), np.uint8), "mono8", stamp_ns=0, frame_id="c")
    msg.data = b"\x00" * 3
    with pytest.raises(InvalidInputError, match="too short"):
        convert.image_to_array(msg)


def test_camera_info():
    msg = convert.camera_info_msg(100.0, 100.0, 79.5, 59.5, 160, 120, stamp_ns=0, frame_id="c")
    assert list(msg.k) == [100.0, 0.0, 79.5, 0.0, 100.0, 59.5, 0.0, 0.0, 1.0]
    assert (msg.width, msg.height) == (160, 120)
