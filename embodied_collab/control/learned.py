"""The learned local controller: a small MLP policy, run in pure numpy, on top of pure pursuit.

The policy maps lidar + the lookahead waypoint on the global path (+ remaining distance, the
current velocity and the pure-pursuit command) to a normalised *residual* ``(dv, dw)`` that is
added to the regulated pure-pursuit command: the learned part only has to add avoidance and
speed. It was trained with stable-baselines3 PPO (see :mod:`embodied_collab.control.train`) and
exported to a ``.npz`` of its layer weights, so inference needs neither torch nor SB3 and takes
microseconds. Whatever it proposes still goes through the safety governor.
"""

from __future__ import annotations

import logging
import math
from importlib import resources
from pathlib import Path

import numpy as np

from embodied_collab.control.classical import (
    CONTROLLER_REGISTRY,
    LocalObservation,
    PurePursuit,
    to_robot_frame,
    wrap_angle,
)
from embodied_collab.control.config_control import ControlConfig
from embodied_collab.errors import InvalidFileError, ModelNotAvailable

logger = logging.getLogger(__name__)

#: Lidar sectors the policy sees (min range per sector, sector 0 centred behind the robot).
N_SECTORS = 32
#: Ranges beyond this (m, from the footprint) read as "far".
FAR = 2.0
#: Length of the feature vector.
OBS_DIM = N_SECTORS + 9
#: Largest residual, as a fraction of ``v_max`` / ``w_max``.
RESIDUAL_V = 0.5
RESIDUAL_W = 0.5
CHECKPOINT_FORMAT = "embodied_collab.control_policy"
CHECKPOINT_VERSION = 2


def default_policy_path() -> Path:
    """The packaged policy: ``embodied_collab/data/control/policy.npz``."""
    return Path(str(resources.files("embodied_collab") / "data" / "control" / "policy.npz"))


def lidar_sectors(ranges: np.ndarray, angles: np.ndarray, range_max: float,
                  robot_radius: float) -> np.ndarray:
    """Min free distance (from the footprint, normalised to [0, 1] by :data:`FAR`) per sector."""
    r = np.asarray(ranges, dtype=np.float64)
    a = np.asarray(angles, dtype=np.float64)
    r = np.where(np.isfinite(r) & (r < range_max), r, np.inf)
    idx = (((a + math.pi) % (2 * math.pi)) / (2 * math.pi) * N_SECTORS).astype(int) % N_SECTORS
    out = np.full(N_SECTORS, np.inf)
    np.minimum.at(out, idx, r)
    return np.clip((out - robot_radius) / FAR, 0.0, 1.0)


def policy_features(obs: LocalObservation, config: ControlConfig,
                    base: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The policy's input vector (float32, length :data:`OBS_DIM`) for one observation.

    Args:
        obs: what the controller sees.
        config: limits used for normalisation.
        base: the pure-pursuit command the residual is added to.
    """
    sect = lidar_sectors(obs.ranges, obs.angles, obs.range_max, config.robot_radius)
    x, y = to_robot_frame(obs.pose, obs.waypoint)
    d = math.hypot(x, y)
    bearing = math.atan2(y, x) if d > 1e-9 else 0.0
    if d < 1e-3 and obs.goal_heading is not None:
        bearing = wrap_angle(obs.goal_heading - obs.pose[2])
    extra = np.array([
        min(d / config.lookahead, 1.5),
        math.cos(bearing),
        math.sin(bearing),
        min(obs.remaining / 2.0, 1.0),
        min(math.hypot(obs.goal[0] - obs.pose[0], obs.goal[1] - obs.pose[1]) / 2.0, 1.0),
        obs.velocity[0] / config.v_max,
        obs.velocity[1] / config.w_max,
        base[0] / config.v_max,
        base[1] / config.w_max,
    ])
    return np.concatenate([sect, extra]).astype(np.float32)


def action_to_command(action: np.ndarray, config: ControlConfig,
                      base: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float]:
    """Residual action in [-1, 1]^2 + the base command -> ``(v, w)`` within the limits."""
    a0 = float(np.clip(action[0], -1.0, 1.0))
    a1 = float(np.clip(action[1], -1.0, 1.0))
    v = float(np.clip(base[0] + RESIDUAL_V * config.v_max * a0, -config.v_reverse_max,
                      config.v_max))
    w = float(np.clip(base[1] + RESIDUAL_W * config.w_max * a1, -config.w_max, config.w_max))
    return v, w


class MlpPolicy:
    """A tanh MLP ``obs -> action`` from a checkpoint's weights (pure numpy).

    Args:
        weights: ``[(W, b), ...]`` with ``W`` of shape (in, out).
    """

    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.weights = [(np.asarray(W, np.float32), np.asarray(b, np.float32))
                        for W, b in weights]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, np.float32)
        for i, (W, b) in enumerate(self.weights):
            h = h @ W + b
            if i < len(self.weights) - 1:
                h = np.tanh(h)
        return np.clip(h, -1.0, 1.0)

    def save(self, path: str | Path, **meta: object) -> Path:
        """Write the ``.npz`` checkpoint (with format/version and ``meta``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"W{i}": W for i, (W, _) in enumerate(self.weights)}
        arrays.update({f"b{i}": b for i, (_, b) in enumerate(self.weights)})
        np.savez_compressed(path, format=CHECKPOINT_FORMAT, version=CHECKPOINT_VERSION,
                            obs_dim=OBS_DIM, n_layers=len(self.weights),
                            meta=repr(dict(meta)), **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> MlpPolicy:
        """Read a checkpoint written by :meth:`save`.

        Raises:
            ModelNotAvailable: if the file does not exist.
            InvalidFileError: if it is not a valid policy checkpoint for these features.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelNotAvailable(
                f"no control policy at {path}: run `embodied-collab train controller`")
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["format"]) != CHECKPOINT_FORMAT:
                    raise InvalidFileError(f"not a control policy (format {z['format']})",
                                           path=str(path))
                if int(z["version"]) != CHECKPOINT_VERSION or int(z["obs_dim"]) != OBS_DIM:
                    raise InvalidFileError(
                        f"policy version {int(z['version'])} / obs_dim {int(z['obs_dim'])} does "
                        f"not match this code ({CHECKPOINT_VERSION} / {OBS_DIM})", path=str(path))
                n = int(z["n_layers"])
                weights = [(z[f"W{i}"], z[f"b{i}"]) for i in range(n)]
        except (KeyError, ValueError, OSError) as exc:
            if isinstance(exc, InvalidFileError):
                raise
            raise InvalidFileError(f"unreadable policy checkpoint: {exc}", path=str(path)) from exc
        dims = [OBS_DIM] + [W.shape[1] for W, _ in weights]
        for i, (W, b) in enumerate(weights):
            if W.ndim != 2 or W.shape[0] != dims[i] or b.shape != (W.shape[1],):
                raise InvalidFileError(f"layer {i} has shape {W.shape}/{b.shape}",
                                       path=str(path))
            if not (np.isfinite(W).all() and np.isfinite(b).all()):
                raise InvalidFileError(f"layer {i} has non-finite weights", path=str(path))
        if dims[-1] != 2:
            raise InvalidFileError(f"policy outputs {dims[-1]} values, expected 2",
                                   path=str(path))
        return cls(weights)


class LearnedController:
    """Local controller running the trained policy.

    Args:
        config: ``policy_path`` ("" = packaged policy) and the limits used to scale actions.
        policy: a policy to use instead of loading one.
    """

    def __init__(self, config: ControlConfig, policy: MlpPolicy | None = None) -> None:
        self.config = config
        self.policy = policy or MlpPolicy.load(config.policy_path or default_policy_path())
        self.base = PurePursuit(config)

    def reset(self) -> None:
        """Reset the pure-pursuit base."""
        self.base.reset()

    def command(self, obs: LocalObservation) -> tuple[float, float]:
        base = self.base.command(obs)
        d_goal = math.hypot(obs.goal[0] - obs.pose[0], obs.goal[1] - obs.pose[1])
        if d_goal < self.config.goal_tolerance or self.base.narrow:
            # final alignment, and narrow spots (creeping, or a hit inside the safety margin:
            # states the policy was not trained in) are pure pursuit's
            return base
        x = policy_features(obs, self.config, base)
        return action_to_command(self.policy(x), self.config, base)


CONTROLLER_REGISTRY["learned"] = LearnedController
