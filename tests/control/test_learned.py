"""The learned controller: packaged checkpoint, checkpoint validation, features, training smoke."""

import numpy as np
import pytest

from embodied_collab.control.classical import LocalObservation
from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.learned import (
    OBS_DIM,
    LearnedController,
    MlpPolicy,
    default_policy_path,
    policy_features,
)
from embodied_collab.errors import InvalidFileError, ModelNotAvailable


def _obs():
    angles = np.linspace(-np.pi, np.pi, 64, endpoint=False)
    return LocalObservation(pose=(0.0, 0.0, 0.0), velocity=(0.1, 0.0), waypoint=(0.6, 0.0),
                            goal=(3.0, 0.0), goal_heading=None, remaining=3.0,
                            ranges=np.full(64, 6.0), angles=angles, range_max=6.0)


def test_features_shape_and_range():
    f = policy_features(_obs(), ControlConfig())
    assert f.shape == (OBS_DIM,) and f.dtype == np.float32 and np.isfinite(f).all()
    assert f[:32].min() == 1.0  # open space everywhere


def test_packaged_policy_loads_small_and_fast():
    path = default_policy_path()
    assert path.stat().st_size <= 1_000_000
    ctl = LearnedController(ControlConfig())
    v, w = ctl.command(_obs())
    assert np.isfinite([v, w]).all()
    assert -ControlConfig().v_reverse_max <= v <= ControlConfig().v_max


def test_checkpoint_round_trip_and_refusals(tmp_path):
    rng = np.random.default_rng(0)
    pol = MlpPolicy([(rng.normal(size=(OBS_DIM, 8)), np.zeros(8)),
                     (rng.normal(size=(8, 2)), np.zeros(2))])
    p = pol.save(tmp_path / "p.npz")
    x = rng.normal(size=OBS_DIM).astype(np.float32)
    assert np.allclose(MlpPolicy.load(p)(x), pol(x))
    with pytest.raises(ModelNotAvailable, match="train controller"):
        MlpPolicy.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InvalidFileError, match="unreadable"):
        MlpPolicy.load(tmp_path / "junk.npz")
    bad = MlpPolicy([(rng.normal(size=(5, 2)), np.zeros(2))]).save(tmp_path / "bad.npz")
    with pytest.raises(InvalidFileError, match="layer 0"):
        MlpPolicy.load(bad)


@pytest.mark.slow
def test_training_smoke(tmp_path):
    from embodied_collab.control.train import TrainConfig, train_controller

    out = train_controller(TrainConfig(total_timesteps=512, n_envs=1, n_steps=256,
                                       batch_size=64, n_epochs=1, net_arch=(16,)),
                           out_dir=tmp_path, progress=False)
    pol = MlpPolicy.load(out["policy"])
    assert pol.weights[0][0].shape == (OBS_DIM, 16)
    assert (tmp_path / "policy.npz").exists()


def test_train_config_validation():
    from embodied_collab.control.train import TrainConfig

    for name, bad in [("total_timesteps", 0), ("n_envs", 0), ("world_seeds", 0),
                      ("n_steps", 0), ("batch_size", 0), ("n_epochs", 0),
                      ("max_episode_steps", 0), ("seed", -1), ("clutter", 50),
                      ("control_rate_hz", 0.0), ("net_arch", ()), ("learning_rate", 2.0),
                      ("gamma", 0.0), ("log_std_init", 3.0)]:
        with pytest.raises(ValueError, match=name):
            TrainConfig(**{name: bad})


def test_packaged_policy_drives_an_unseen_episode_without_collisions():
    from embodied_collab.control.episodes import make_episode, run_episode

    res = run_episode(make_episode(500_000), ControlConfig(controller="learned"))
    assert res.status == "succeeded" and res.collisions == 0
