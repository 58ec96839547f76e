"""Conversions between numpy / plain-Python values and ROS 2 messages.

Image and scan payloads are copied once (``ndarray.tobytes``), the fast path of the generated
message classes; :func:`image_to_array` reads without copying.
"""

from __future__ import annotations

import array
import math
from typing import Any

import numpy as np

from embodied_collab.errors import InvalidInputError

#: Image encodings this module reads and writes, with their dtype and channel count.
ENCODINGS: dict[str, tuple[Any, int]] = {
    "rgb8": (np.uint8, 3),
    "bgr8": (np.uint8, 3),
    "mono8": (np.uint8, 1),
    "16UC1": (np.uint16, 1),
    "32FC1": (np.float32, 1),
}


def stamp_msg(ns: int) -> Any:
    """``builtin_interfaces/Time`` for ``ns`` nanoseconds."""
    from builtin_interfaces.msg import Time

    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def stamp_ns(stamp: Any) -> int:
    """Nanoseconds of a ``builtin_interfaces/Time``."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def yaw_to_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """``(x, y, z, w)`` of a rotation by ``yaw`` about z."""
    return (0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0))


def quaternion_to_yaw(x: float, y: float, z: float, w: float) -> float:
    """Yaw (rotation about z) of a quaternion."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def twist_msg(v: float, w: float) -> Any:
    """``geometry_msgs/Twist`` for a unicycle command (m/s forward, rad/s counter-clockwise)."""
    from geometry_msgs.msg import Twist

    msg = Twist()
    msg.linear.x = float(v)
    msg.angular.z = float(w)
    return msg


def twist_to_cmd(msg: Any) -> tuple[float, float]:
    """``(v, w)`` of a ``geometry_msgs/Twist``; other components are ignored (planar base).

    Raises:
        InvalidInputError: if v or w is not finite.
    """
    v, w = float(msg.linear.x), float(msg.angular.z)
    if not (math.isfinite(v) and math.isfinite(w)):
        raise InvalidInputError(f"/cmd_vel must be finite, got v={v!r} w={w!r}")
    return v, w


def odometry_msg(
    pose: tuple[float, float, float],
    velocity: tuple[float, float],
    *,
    stamp_ns: int,
    frame_id: str = "odom",
    child_frame_id: str = "base_link",
) -> Any:
    """``nav_msgs/Odometry`` of a planar pose ``(x, y, theta)`` and velocity ``(v, w)``."""
    from nav_msgs.msg import Odometry

    msg = Odometry()
    msg.header.stamp = stamp_msg(stamp_ns)
    msg.header.frame_id = frame_id
    msg.child_frame_id = child_frame_id
    x, y, theta = pose
    msg.pose.pose.position.x = float(x)
    msg.pose.pose.position.y = float(y)
    q = msg.pose.pose.orientation
    q.x, q.y, q.z, q.w = yaw_to_quaternion(float(theta))
    msg.twist.twist.linear.x = float(velocity[0])
    msg.twist.twist.angular.z = float(velocity[1])
    return msg


def odometry_to_pose(msg: Any) -> tuple[tuple[float, float, float], tuple[float, float]]:
    """``((x, y, theta), (v, w))`` of a ``nav_msgs/Odometry``."""
    p, q = msg.pose.pose.position, msg.pose.pose.orientation
    theta = quaternion_to_yaw(q.x, q.y, q.z, q.w)
    t = msg.twist.twist
    return (p.x, p.y, theta), (t.linear.x, t.angular.z)


def scan_msg(
    ranges: np.ndarray,
    *,
    angle_min: float,
    angle_max: float,
    range_min: float,
    range_max: float,
    stamp_ns: int,
    frame_id: str = "laser",
    scan_time: float = 0.0,
) -> Any:
    """``sensor_msgs/LaserScan`` from evenly spaced ``ranges`` (metres) over [min, max] angle.

    Raises:
        InvalidInputError: if ``ranges`` is not one-dimensional with at least 2 beams.
    """
    from sensor_msgs.msg import LaserScan

    ranges = np.asarray(ranges, dtype=np.float32)
    if ranges.ndim != 1 or ranges.size < 2:
        raise InvalidInputError(f"scan ranges must be 1-D with >= 2 beams, got {ranges.shape}")
    msg = LaserScan()
    msg.header.stamp = stamp_msg(stamp_ns)
    msg.header.frame_id = frame_id
    msg.angle_min = float(angle_min)
    msg.angle_max = float(angle_max)
    msg.angle_increment = float((angle_max - angle_min) / (ranges.size - 1))
    msg.scan_time = float(scan_time)
    msg.range_min = float(range_min)
    msg.range_max = float(range_max)
    msg.ranges = array.array("f", ranges.tobytes())
    return msg


def scan_to_array(msg: Any) -> np.ndarray:
    """The ranges of a ``sensor_msgs/LaserScan`` as float32 (a view, no copy)."""
    return np.frombuffer(msg.ranges, dtype=np.float32) if len(msg.ranges) else np.zeros(0, "f4")


def image_msg(image: np.ndarray, encoding: str, *, stamp_ns: int, frame_id: str) -> Any:
    """``sensor_msgs/Image`` of an HxW or HxWxC array in ``encoding`` (see :data:`ENCODINGS`).

    Raises:
        InvalidInputError: if the encoding is unknown or the array does not fit it.
    """
    from sensor_msgs.msg import Image

    if encoding not in ENCODINGS:
        raise InvalidInputError(f"unsupported encoding {encoding!r}; known: {list(ENCODINGS)}")
    dtype, channels = ENCODINGS[encoding]
    image = np.asarray(image)
    shape_ok = image.ndim == 2 if channels == 1 else image.ndim == 3 and image.shape[2] == channels
    if not shape_ok or image.dtype != dtype:
        raise InvalidInputError(
            f"{encoding} needs a {np.dtype(dtype).name} array with {channels} channel(s), "
            f"got {image.dtype} {image.shape}"
        )
    image = np.ascontiguousarray(image)
    msg = Image()
    msg.header.stamp = stamp_msg(stamp_ns)
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(image.shape[0]), int(image.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(image.strides[0])
    msg.data = image.tobytes()
    return msg


def image_to_array(msg: Any) -> np.ndarray:
    """The pixels of a ``sensor_msgs/Image`` as an HxW or HxWxC array (a read-only view).

    Raises:
        InvalidInputError: if the encoding is unsupported or the data size is wrong.
    """
    if msg.encoding not in ENCODINGS:
        raise InvalidInputError(f"unsupported encoding {msg.encoding!r}; known: {list(ENCODINGS)}")
    dtype, channels = ENCODINGS[msg.encoding]
    itemsize = np.dtype(dtype).itemsize
    row = msg.width * channels * itemsize
    if msg.step < row or len(msg.data) < msg.step * msg.height:
        raise InvalidInputError(
            f"image data too short: {len(msg.data)} bytes for {msg.height} rows of step {msg.step}"
        )
    flat = np.frombuffer(msg.data, dtype=np.uint8)[: msg.step * msg.height]
    rows = flat.reshape(msg.height, msg.step)[:, :row]
    out = rows.view(np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<"))
    shape = (msg.height, msg.width) if channels == 1 else (msg.height, msg.width, channels)
    return out.reshape(shape)


def camera_info_msg(
    fx: float, fy: float, cx: float, cy: float, width: int, height: int, *, stamp_ns: int,
    frame_id: str,
) -> Any:
    """``sensor_msgs/CameraInfo`` of an ideal pinhole camera (no distortion)."""
    from sensor_msgs.msg import CameraInfo

    msg = CameraInfo()
    msg.header.stamp = stamp_msg(stamp_ns)
    msg.header.frame_id = frame_id
    msg.width, msg.height = int(width), int(height)
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    msg.k = [float(fx), 0.0, float(cx), 0.0, float(fy), float(cy), 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [float(fx), 0.0, float(cx), 0.0, 0.0, float(fy), float(cy), 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


def clock_msg(ns: int) -> Any:
    """``rosgraph_msgs/Clock`` at ``ns`` nanoseconds."""
    from rosgraph_msgs.msg import Clock

    return Clock(clock=stamp_msg(ns))
