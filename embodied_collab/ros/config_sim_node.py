"""Configuration of the simulator node (the simulated robot base on ROS 2)."""

from __future__ import annotations

from dataclasses import dataclass


def _positive(name: str, value: float, upper: float) -> None:
    if not (0.0 < value <= upper):
        raise ValueError(f"{name} must be in (0, {upper}], got {value!r}")


@dataclass(kw_only=True)
class SimNodeConfig:
    """Parameters of ``sim_node`` (mirrored one-to-one as ROS parameters).

    Attributes:
        world_seed: seed of the generated household world (used when ``world_path`` is empty).
        world_path: a world JSON file to load instead of generating one ("" = generate).
        rate_factor: simulated seconds per wall-clock second (1 = real time, 4 = 4x faster).
        physics_rate_hz: wall-clock rate of the physics loop; each tick advances the simulation
            by the elapsed wall time times ``rate_factor``, in steps of at most
            ``1 / physics_rate_hz`` simulated seconds.
        odom_rate_hz: /odom rate in simulated time.
        scan_rate_hz: /scan rate in simulated time.
        camera_rate_hz: camera (RGB, depth, camera_info) rate in simulated time.
        camera_width: image width in pixels.
        camera_height: image height in pixels.
        publish_depth: publish /camera/depth/image_raw (32FC1 metres) with the RGB image.
        odom_on_cmd: also publish /odom right after a /cmd_vel is applied, so a controller sees
            the effect of its command without waiting for the next periodic message.
        cmd_timeout_s: stop the base when no /cmd_vel arrived for this long (a real base's
            watchdog; simulated seconds; 0 disables it).
        odom_frame: frame id of /odom.
        base_frame: child frame id of /odom.
        laser_frame: frame id of /scan.
        camera_frame: frame id of the camera images (optical frame).
    """

    world_seed: int = 0
    world_path: str = ""
    rate_factor: float = 1.0
    physics_rate_hz: float = 100.0
    odom_rate_hz: float = 50.0
    scan_rate_hz: float = 10.0
    camera_rate_hz: float = 30.0
    camera_width: int = 320
    camera_height: int = 240
    publish_depth: bool = True
    odom_on_cmd: bool = True
    cmd_timeout_s: float = 0.5
    odom_frame: str = "odom"
    base_frame: str = "base_link"
    laser_frame: str = "laser"
    camera_frame: str = "camera_optical_frame"

    def __post_init__(self) -> None:
        if not isinstance(self.world_seed, int) or self.world_seed < 0:
            raise ValueError(f"world_seed must be an integer >= 0, got {self.world_seed!r}")
        _positive("rate_factor", self.rate_factor, 100.0)
        _positive("physics_rate_hz", self.physics_rate_hz, 2000.0)
        _positive("odom_rate_hz", self.odom_rate_hz, 1000.0)
        _positive("scan_rate_hz", self.scan_rate_hz, 200.0)
        _positive("camera_rate_hz", self.camera_rate_hz, 120.0)
        for name in ("camera_width", "camera_height"):
            value = getattr(self, name)
            if not isinstance(value, int) or not (16 <= value <= 1920):
                raise ValueError(f"{name} must be an integer in [16, 1920], got {value!r}")
        if not (0.0 <= self.cmd_timeout_s <= 60.0):
            raise ValueError(f"cmd_timeout_s must be in [0, 60], got {self.cmd_timeout_s!r}")
        for name in ("odom_frame", "base_frame", "laser_frame", "camera_frame"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value or " " in value:
                raise ValueError(
                    f"{name} must be a non-empty frame id without spaces, got {value!r}")
