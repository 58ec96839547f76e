"""SimNodeConfig validation: every validated field refuses a bad value with a clear message."""

import pytest

from embodied_collab.config import config_from_dict, config_to_dict
from embodied_collab.errors import InvalidFileError
from embodied_collab.ros.config_sim_node import SimNodeConfig


def test_defaults_are_valid_and_round_trip():
    cfg = SimNodeConfig()
    assert config_from_dict(SimNodeConfig, config_to_dict(cfg)) == cfg


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("world_seed", -1, "world_seed"),
        ("rate_factor", 0.0, "rate_factor"),
        ("rate_factor", 101.0, "rate_factor"),
        ("physics_rate_hz", -5.0, "physics_rate_hz"),
        ("odom_rate_hz", 0.0, "odom_rate_hz"),
        ("scan_rate_hz", 0.0, "scan_rate_hz"),
        ("camera_rate_hz", 500.0, "camera_rate_hz"),
        ("camera_width", 8, "camera_width"),
        ("camera_height", 4000, "camera_height"),
        ("cmd_timeout_s", -0.1, "cmd_timeout_s"),
        ("odom_frame", "", "odom_frame"),
        ("base_frame", "base link", "base_frame"),
        ("laser_frame", "", "laser_frame"),
        ("camera_frame", "", "camera_frame"),
    ],
)
def test_bad_values_are_refused(field, value, match):
    with pytest.raises(ValueError, match=match):
        SimNodeConfig(**{field: value})


def test_unknown_key_is_refused():
    with pytest.raises(InvalidFileError, match="unknown config key"):
        config_from_dict(SimNodeConfig, {"camera_fps": 30})
