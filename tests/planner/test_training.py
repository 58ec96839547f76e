"""Tiny real training runs: distillation lowers the loss, PPO raises the return."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from embodied_collab.planner import rl, sft
from embodied_collab.planner.model import build_model
from embodied_collab.planner.obs import TokenObservation
from embodied_collab.planner.teachers import OracleTeacher
from embodied_collab.planner.tokenizer import PlanTokenizer
from embodied_collab.planner.train import training_env

pytestmark = pytest.mark.slow


def test_offline_and_online_distillation_lower_the_loss(tiny_cfg):
    torch.manual_seed(0)
    cfg = dataclasses.replace(tiny_cfg, sft_lr=3e-3, offline_epochs=4, difficulty="fetch")
    env = training_env(cfg)
    tok = PlanTokenizer()
    model = build_model(cfg, tok)
    rng = np.random.default_rng(0)
    data, hist = sft.distill(model, tok, env, OracleTeacher(), cfg, rng=rng,
                             offline_episodes=10, rounds=1, round_episodes=4)
    assert [h["phase"] for h in hist] == ["offline", "online_1"]
    assert hist[0]["rollout_success"] == 1.0  # the teacher itself acted
    assert hist[1]["dataset"] > hist[0]["dataset"]  # student-visited states were labelled
    losses = hist[0]["losses"]
    assert losses[-1] < losses[0] - 0.2, losses
    assert len(data.returns) == len(data) == len(data.ids)


def test_ppo_raises_the_return_on_a_fixed_task(tiny_cfg):
    from embodied_collab.sim.config_planning import PlanningConfig
    from embodied_collab.sim.generate import generate_task
    from embodied_collab.sim.planning_env import HouseholdPlanEnv

    torch.manual_seed(0)
    cfg = dataclasses.replace(tiny_cfg, ppo_lr=3e-3, ppo_clip=0.2, ppo_n_steps=128,
                              ppo_batch_size=64, ppo_epochs=4, ppo_ent_coef=0.0)
    task = generate_task(5, "fetch")
    env = HouseholdPlanEnv(PlanningConfig(max_steps=8), suite=[task])
    tok = PlanTokenizer()
    model = build_model(cfg, tok)
    wrapped = TokenObservation(env, tok, cfg.max_tokens)
    _, returns = rl.finetune(model, wrapped, cfg, steps=640, seed=0)
    assert len(returns) >= 20
    k = len(returns) // 4
    first, last = np.mean(returns[:k]), np.mean(returns[-k:])
    assert last > first, (first, last)
