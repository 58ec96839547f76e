"""The residual training env, goal text parsing and the control node's config."""

import numpy as np
import pytest

from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.episodes import make_episode
from embodied_collab.control.global_path import parse_target
from embodied_collab.control.learned import OBS_DIM, RESIDUAL_V, action_to_command
from embodied_collab.errors import InvalidInputError


def test_residual_env_passes_the_checkers_and_runs_pure_pursuit_at_zero_action():
    from stable_baselines3.common.env_checker import check_env

    from embodied_collab.control.nav_env import ResidualNavEnv

    env = ResidualNavEnv(ControlConfig(rate_hz=10.0), pool_size=1, max_steps=200,
                         max_distance=4.0)
    check_env(env, warn=False)
    obs, _ = env.reset(seed=1)
    assert obs.shape == (OBS_DIM,)
    total, done, info = 0.0, False, {}
    while not done:
        obs, r, term, trunc, info = env.step(np.zeros(2, np.float32))
        total += r
        done = term or trunc
    assert info["success"] and not info["collided"] and total > 0


def test_residual_env_validation():
    from embodied_collab.control.nav_env import ResidualNavEnv

    with pytest.raises(ValueError, match="pool_size"):
        ResidualNavEnv(pool_size=0)
    with pytest.raises(ValueError, match="max_steps"):
        ResidualNavEnv(max_steps=0)
    with pytest.raises(ValueError, match="layouts"):
        make_episode(0, layouts="mine")


def test_residual_action_is_added_to_the_base_and_clipped():
    cfg = ControlConfig()
    assert action_to_command(np.zeros(2), cfg, (0.3, 0.2)) == (0.3, 0.2)
    v, _ = action_to_command(np.array([1.0, 0.0]), cfg, (0.3, 0.0))
    assert v == pytest.approx(min(0.3 + RESIDUAL_V * cfg.v_max, cfg.v_max))
    v, w = action_to_command(np.array([-5.0, 5.0]), cfg, (0.0, cfg.w_max))
    assert v == pytest.approx(-min(RESIDUAL_V * cfg.v_max, cfg.v_reverse_max))
    assert w == cfg.w_max


@pytest.mark.parametrize("text, expected", [("1 2", (1.0, 2.0)),
                                            ("1.5, -2, 0.5", (1.5, -2.0, 0.5)),
                                            (" kitchen_1 ", "kitchen_1")])
def test_parse_target(text, expected):
    assert parse_target(text) == expected


@pytest.mark.parametrize("text, match", [("", "empty"), ("go to kitchen", "place id"),
                                         ("1 2 3 4", "2 or 3"), ("1 nan", "finite")])
def test_parse_target_refuses(text, match):
    with pytest.raises(InvalidInputError, match=match):
        parse_target(text)


@pytest.mark.parametrize("field, bad", [("world_seed", -1), ("world_path", 3),
                                        ("status_rate_hz", 0.0), ("rate_hz", 0.0)])
def test_control_node_config_validation(field, bad):
    from embodied_collab.ros.config_control_node import ControlNodeConfig

    with pytest.raises(ValueError, match=field):
        ControlNodeConfig(**{field: bad})
