"""Every validated field of ControlConfig is refused with a message naming it."""

import dataclasses

import pytest

from embodied_collab.config import config_from_dict
from embodied_collab.control.config_control import ControlConfig
from embodied_collab.errors import InvalidFileError

BAD = {
    "controller": "neural",
    "policy_path": 3,
    "rate_hz": 0.0,
    "v_max": -1.0,
    "v_reverse_max": -0.1,
    "w_max": float("nan"),
    "a_max": 0.0,
    "a_brake": float("inf"),
    "alpha_max": -2.0,
    "robot_radius": 0.0,
    "stop_radius": 0.0,
    "stop_cone_deg": 400.0,
    "safety_margin": -0.01,
    "creep_speed": 0.0,
    "creep_margin": -0.001,
    "cmd_timeout_s": 0.0,
    "sensor_timeout_s": 11.0,
    "lookahead": 0.0,
    "goal_tolerance": 0.0,
    "plan_clearance": -1.0,
    "grid_resolution": 2.0,
    "replan_period_s": 0.0,
    "blocked_timeout_s": -1.0,
    "max_recoveries": 1.5,
    "goal_timeout_s": 0.0,
}


def test_defaults_valid():
    cfg = ControlConfig()
    assert cfg.period == pytest.approx(1.0 / cfg.rate_hz)


def test_every_field_has_a_bad_value_case():
    assert set(BAD) == {f.name for f in dataclasses.fields(ControlConfig)}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_value_names_field(name):
    with pytest.raises(ValueError, match=name):
        ControlConfig(**{name: BAD[name]})


def test_bool_is_not_a_number():
    with pytest.raises(ValueError, match="rate_hz"):
        ControlConfig(rate_hz=True)


def test_cross_field_rules():
    with pytest.raises(ValueError, match="a_brake must be >= a_max"):
        ControlConfig(a_max=2.0, a_brake=1.0)
    with pytest.raises(ValueError, match="stop_radius must be > robot_radius"):
        ControlConfig(robot_radius=0.3, stop_radius=0.25)
    with pytest.raises(ValueError, match="creep_speed"):
        ControlConfig(v_max=0.5, creep_speed=0.6)
    with pytest.raises(ValueError, match="creep_margin"):
        ControlConfig(safety_margin=0.03, creep_margin=0.04)
    with pytest.raises(ValueError, match="max_recoveries"):
        ControlConfig(max_recoveries=True)


def test_creep_stop_radius_covers_footprint_margin_and_braking():
    cfg = ControlConfig()
    brake = cfg.creep_speed ** 2 / (2 * cfg.a_brake) + cfg.creep_speed * cfg.period
    assert cfg.creep_stop_radius == pytest.approx(cfg.robot_radius + cfg.creep_margin + brake)
    assert cfg.robot_radius + cfg.creep_margin < cfg.creep_stop_radius < cfg.stop_radius


def test_from_dict_refuses_unknown_keys():
    with pytest.raises(InvalidFileError, match="unknown config key"):
        config_from_dict(ControlConfig, {"speed": 1})
    assert config_from_dict(ControlConfig, {"rate_hz": 100}).rate_hz == 100.0
