"""Shared fixtures of the planner tests: a tiny config and a tiny held-out suite."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


@pytest.fixture
def tiny_cfg():
    from embodied_collab.planner.config_planner import PlannerConfig

    return PlannerConfig(n_layer=1, n_head=2, n_embd=32, max_tokens=256, offline_episodes=12,
                         dagger_rounds=1, dagger_episodes=6, sft_epochs=2, offline_epochs=4,
                         sft_batch_size=16,
                         ppo_steps=256, ppo_n_steps=128, ppo_batch_size=32, ppo_epochs=2,
                         eval_episodes=4, num_threads=1)


@pytest.fixture(scope="session")
def small_suite():
    from embodied_collab.planner.train import heldout_suite

    return heldout_suite(4, "mixed", seed=99)
