"""Training the learned local controller with stable-baselines3 PPO in the continuous world.

The environment is :class:`embodied_collab.control.nav_env.ResidualNavEnv`: the real control
loop (global path on the map, lidar obstacles, lookahead waypoint, safety governor) on the
simulator, the policy's action being a residual on pure pursuit. The policy is exported to a
numpy ``.npz`` (:class:`~embodied_collab.control.learned.MlpPolicy`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.learned import MlpPolicy, default_policy_path
from embodied_collab.errors import require

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class TrainConfig:
    """Hyper-parameters of ``embodied-collab train controller`` (YAML keys of ``--config``).

    Attributes:
        total_timesteps: environment steps of PPO.
        seed: seed of PPO and the environments.
        n_envs: parallel environments (in one process).
        clutter: floor objects not on the map per episode.
        world_seeds: number of training episodes (each its own layout, world seed below
            10**6) in the environment's pool.
        control_rate_hz: control (and simulation step) rate during training.
        net_arch: hidden layer sizes of the policy.
        learning_rate: Adam step size.
        n_steps: rollout length per environment.
        batch_size: minibatch size.
        n_epochs: passes over each rollout.
        gamma: discount.
        max_episode_steps: episode step limit.
        log_std_init: initial log standard deviation of the Gaussian policy (exploration).
    """

    total_timesteps: int = 60_000
    seed: int = 0
    n_envs: int = 4
    clutter: int = 3
    world_seeds: int = 64
    control_rate_hz: float = 10.0
    net_arch: tuple[int, ...] = (64, 64)
    learning_rate: float = 3e-4
    n_steps: int = 512
    batch_size: int = 256
    n_epochs: int = 5
    gamma: float = 0.99
    max_episode_steps: int = 250
    log_std_init: float = -1.0

    def __post_init__(self) -> None:
        for name in ("total_timesteps", "n_envs", "world_seeds", "n_steps", "batch_size",
                     "n_epochs", "max_episode_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.clutter, int) or not 0 <= self.clutter <= 20:
            raise ValueError(f"clutter must be an integer in [0, 20], got {self.clutter!r}")
        if not (isinstance(self.control_rate_hz, (int, float)) and 1 <= self.control_rate_hz
                <= 100):
            raise ValueError(f"control_rate_hz must be in [1, 100], got {self.control_rate_hz!r}")
        if not self.net_arch or not all(isinstance(n, int) and 1 <= n <= 512
                                        for n in self.net_arch):
            raise ValueError(f"net_arch must be 1-512 unit layers, got {self.net_arch!r}")
        if not (isinstance(self.learning_rate, float) and 0 < self.learning_rate < 1):
            raise ValueError(f"learning_rate must be in (0, 1), got {self.learning_rate!r}")
        if not (isinstance(self.gamma, float) and 0 < self.gamma <= 1):
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma!r}")
        if not (isinstance(self.log_std_init, (int, float)) and -5 <= self.log_std_init <= 1):
            raise ValueError(f"log_std_init must be in [-5, 1], got {self.log_std_init!r}")


def make_train_env(tc: TrainConfig, control: ControlConfig, index: int = 0) -> gym.Env:
    """One training environment (:class:`~embodied_collab.control.nav_env.ResidualNavEnv`)."""
    from embodied_collab.control.nav_env import ResidualNavEnv

    cfg = ControlConfig(**{**control.__dict__, "rate_hz": float(tc.control_rate_hz)})
    # every environment draws from the same pool of episodes (same seeds), in its own order
    return ResidualNavEnv(cfg, pool_size=tc.world_seeds, seed_base=0, clutter=tc.clutter,
                          max_steps=tc.max_episode_steps)


def export_policy(model: Any) -> MlpPolicy:
    """The deterministic actor of an SB3 PPO ``MlpPolicy`` as a numpy :class:`MlpPolicy`."""
    import torch

    layers = [m for m in model.policy.mlp_extractor.policy_net if isinstance(m, torch.nn.Linear)]
    layers.append(model.policy.action_net)
    return MlpPolicy([(m.weight.detach().cpu().numpy().T, m.bias.detach().cpu().numpy())
                      for m in layers])


def train_controller(tc: TrainConfig, control: ControlConfig | None = None,
                     out_dir: str | Path | None = None, *, progress: bool = True) -> dict:
    """Train the policy; write ``policy.npz`` and ``learning_curve.png`` into ``out_dir``.

    Returns:
        a summary: paths, steps, wall time, final mean episode return and success rate.
    """
    require("stable_baselines3", "dev")
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    control = control or ControlConfig()
    out = Path(out_dir) if out_dir is not None else default_policy_path().parent
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    venv = DummyVecEnv([lambda i=i: Monitor(make_train_env(tc, control, i), info_keywords=(
        "success",)) for i in range(tc.n_envs)])
    venv.seed(tc.seed)
    model = PPO("MlpPolicy", venv, learning_rate=tc.learning_rate, n_steps=tc.n_steps,
                batch_size=tc.batch_size, n_epochs=tc.n_epochs, gamma=tc.gamma, seed=tc.seed,
                policy_kwargs={"net_arch": list(tc.net_arch), "activation_fn": torch.nn.Tanh,
                               "log_std_init": tc.log_std_init},
                device="cpu", verbose=0)
    curve: list[tuple[int, float, float]] = []

    class Progress(BaseCallback):
        def _on_training_start(self) -> None:
            from tqdm import tqdm

            self.bar = tqdm(total=tc.total_timesteps, desc="train controller", unit="step",
                            mininterval=2.0,
                            disable=not progress)

        def _on_step(self) -> bool:
            self.bar.update(self.training_env.num_envs)
            for info in self.locals.get("infos", []):
                ep = info.get("episode")
                if ep is not None:
                    curve.append((self.num_timesteps, float(ep["r"]),
                                  float(bool(info.get("success")))))
            if curve:
                recent = curve[-50:]
                self.bar.set_postfix(refresh=False, ret=f"{np.mean([c[1] for c in recent]):.2f}",
                                     succ=f"{np.mean([c[2] for c in recent]):.2f}")
            return True

        def _on_training_end(self) -> None:
            self.bar.close()

    t0 = time.perf_counter()
    model.learn(total_timesteps=tc.total_timesteps, callback=Progress())
    wall = time.perf_counter() - t0
    policy = export_policy(model)
    policy_path = policy.save(out / "policy.npz", steps=tc.total_timesteps, seed=tc.seed,
                              net_arch=list(tc.net_arch))
    png = _plot_curve(curve, out / "learning_curve.png")
    recent = curve[-100:]
    return {
        "policy": str(policy_path), "learning_curve": str(png) if png else None,
        "steps": tc.total_timesteps, "wall_s": round(wall, 1), "episodes": len(curve),
        "final_mean_return": round(float(np.mean([c[1] for c in recent])), 3) if recent else None,
        "final_success_rate": round(float(np.mean([c[2] for c in recent])), 3) if recent else None,
        "policy_bytes": policy_path.stat().st_size,
    }


def _plot_curve(curve: list[tuple[int, float, float]], path: Path) -> Path | None:
    if not curve:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([c[0] for c in curve])
    ret = np.array([c[1] for c in curve])
    succ = np.array([c[2] for c in curve])
    k = max(1, min(50, len(curve) // 10))
    kernel = np.ones(k) / k
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, ret, ".", alpha=0.2, label="episode return")
    if len(curve) >= k:
        ax.plot(steps[k - 1:], np.convolve(ret, kernel, "valid"), label=f"return (mean of {k})")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return")
    ax2 = ax.twinx()
    if len(curve) >= k:
        ax2.plot(steps[k - 1:], np.convolve(succ, kernel, "valid"), "g", label="success rate")
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("success rate")
    ax.set_title("learned local controller (residual on pure pursuit): PPO")
    fig.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
