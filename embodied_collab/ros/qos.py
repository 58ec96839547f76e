"""QoS profiles per stream kind: sensor data best effort, commands and state reliable."""

from __future__ import annotations

from typing import Any


def sensor_qos(depth: int = 5) -> Any:
    """Best effort, volatile, keep last ``depth``: lidar, camera (a late frame is worthless)."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.VOLATILE,
    )


def command_qos(depth: int = 10) -> Any:
    """Reliable, volatile, keep last ``depth``: /cmd_vel and other commands must not be dropped."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )


def state_qos(depth: int = 10) -> Any:
    """Reliable, volatile: /odom (what nav2 and robot bases use), mission and plan updates."""
    return command_qos(depth)


def latched_qos() -> Any:
    """Reliable, transient local, depth 1: slowly changing state a late joiner needs
    (link state, camera_info-like facts, the last mission status)."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=1,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )


def clock_qos() -> Any:
    """The profile rclpy's time source subscribes /clock with (best effort would be dropped)."""
    from rclpy.qos import QoSProfile

    return QoSProfile(depth=1)
