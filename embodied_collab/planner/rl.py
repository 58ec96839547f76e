"""PPO fine-tuning of the planner SLM with stable-baselines3, reward from simulation feedback.

:class:`TransformerActorCritic` is an SB3 ``ActorCriticPolicy`` whose actor and critic are one
:class:`~embodied_collab.planner.model.PlannerLM` (action-scoring head + value head) reading the
flat token observation of :class:`~embodied_collab.planner.obs.TokenObservation`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from embodied_collab.planner.config_planner import PlannerConfig
from embodied_collab.planner.model import PlannerLM
from embodied_collab.planner.obs import split_observation

logger = logging.getLogger(__name__)


def _policy_class():
    from stable_baselines3.common.distributions import CategoricalDistribution
    from stable_baselines3.common.policies import ActorCriticPolicy

    class TransformerActorCritic(ActorCriticPolicy):
        """Actor-critic over a :class:`PlannerLM`.

        Extra policy kwargs: ``lm_kwargs`` (PlannerLM constructor arguments), ``max_tokens``,
        ``action_masking``.
        """

        def __init__(self, observation_space, action_space, lr_schedule, *,
                     lm_kwargs: dict[str, Any], action_masking: bool = False, **kwargs):
            self._lm_kwargs = dict(lm_kwargs)
            self._masking = bool(action_masking)
            kwargs.setdefault("net_arch", [])
            super().__init__(observation_space, action_space, lr_schedule, **kwargs)

        def _build(self, lr_schedule: Callable[[float], float]) -> None:
            self.lm = PlannerLM(**self._lm_kwargs)
            self.n_actions = int(self.action_space.n)
            self.action_dist = CategoricalDistribution(self.n_actions)
            self.optimizer = self.optimizer_class(
                self.lm.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
            )

        def _logits_values(self, obs: torch.Tensor):
            ids, at, mask = split_observation(obs, self.lm.max_tokens, self.n_actions)
            return self.lm(ids, at, mask if self._masking else None)

        def forward(self, obs, deterministic: bool = False):
            logits, values = self._logits_values(obs)
            dist = self.action_dist.proba_distribution(action_logits=logits)
            actions = dist.get_actions(deterministic=deterministic)
            return actions, values.unsqueeze(-1), dist.log_prob(actions)

        def evaluate_actions(self, obs, actions):
            logits, values = self._logits_values(obs)
            dist = self.action_dist.proba_distribution(action_logits=logits)
            return values.unsqueeze(-1), dist.log_prob(actions), dist.entropy()

        def get_distribution(self, obs):
            logits, _ = self._logits_values(obs)
            return self.action_dist.proba_distribution(action_logits=logits)

        def predict_values(self, obs):
            return self._logits_values(obs)[1].unsqueeze(-1)

        def _get_constructor_parameters(self) -> dict[str, Any]:
            data = super()._get_constructor_parameters()
            data.update(lm_kwargs=self._lm_kwargs, action_masking=self._masking)
            return data

    return TransformerActorCritic


def lm_kwargs(model: PlannerLM) -> dict[str, Any]:
    """Constructor arguments that rebuild ``model``'s architecture."""
    g = model.gpt.config
    return dict(vocab_size=g.vocab_size, n_layer=g.n_layer, n_head=g.n_head, n_embd=g.n_embd,
                max_tokens=g.n_positions, dropout=g.resid_pdrop, special=model.special)


def make_ppo(env, model: PlannerLM, cfg: PlannerConfig, *, tensorboard_log: str | None = None,
             seed: int | None = None, verbose: int = 0):
    """A PPO learner whose policy starts from ``model``'s weights (they are copied)."""
    from stable_baselines3 import PPO

    ppo = PPO(
        _policy_class(), env,
        learning_rate=cfg.ppo_lr, n_steps=cfg.ppo_n_steps, batch_size=cfg.ppo_batch_size,
        n_epochs=cfg.ppo_epochs, gamma=cfg.ppo_gamma, clip_range=cfg.ppo_clip,
        ent_coef=cfg.ppo_ent_coef, vf_coef=0.5, max_grad_norm=0.5, target_kl=0.05,
        policy_kwargs=dict(lm_kwargs=lm_kwargs(model), action_masking=cfg.action_masking),
        tensorboard_log=tensorboard_log, seed=seed, verbose=verbose, device="cpu",
    )
    ppo.policy.lm.load_state_dict(model.state_dict())
    return ppo


def finetune(model: PlannerLM, env, cfg: PlannerConfig, *, steps: int | None = None,
             tensorboard_log: str | None = None, seed: int | None = None,
             progress_bar: bool = False) -> tuple[PlannerLM, list[float]]:
    """PPO-fine-tune ``model`` in ``env`` (a TokenObservation-wrapped planning env or VecEnv).

    Returns:
        The fine-tuned model (a new module; ``model`` is left unchanged) and the returns of
        the episodes completed during training, in order.
    """
    from stable_baselines3.common.callbacks import BaseCallback

    returns: list[float] = []

    class _Returns(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals.get("infos", []):
                ep = info.get("episode")
                if ep is not None:
                    returns.append(float(ep["r"]))
            return True

    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

    if not isinstance(env, VecEnv):
        env = DummyVecEnv([lambda e=env: Monitor(e)])
    ppo = make_ppo(env, model, cfg, tensorboard_log=tensorboard_log, seed=seed)
    total = cfg.ppo_steps if steps is None else steps
    if total > 0:
        ppo.learn(total_timesteps=total, callback=_Returns(), progress_bar=progress_bar,
                  tb_log_name="ppo")
    tuned = PlannerLM(**lm_kwargs(model))
    tuned.load_state_dict(ppo.policy.lm.state_dict())
    tuned.eval()
    logger.info("PPO: %d steps, %d episodes, mean return %.3f", total, len(returns),
                float(np.mean(returns)) if returns else float("nan"))
    return tuned, returns
