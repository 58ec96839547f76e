"""The LLM teacher: reply parsing (pure logic) and a tiny distillation run against the real
embedded llama.cpp server."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from embodied_collab.planner.teachers import encode_or_invalid, llm_messages, parse_action


def test_parse_action_reads_json_or_bare_text():
    assert parse_action('{"action": "pick cup_1"}') == "pick cup_1"
    assert parse_action('Sure: {"action": " done "} ok') == "done"
    assert parse_action("navigate kitchen\nbecause...") == "navigate kitchen"
    assert parse_action("") is None


def test_unknown_actions_map_to_a_slot_the_env_rejects():
    from embodied_collab.sim.planning_env import HouseholdPlanEnv

    env = HouseholdPlanEnv()
    env.reset(seed=1)
    names = env.codec.names
    assert names[encode_or_invalid(env, "done")] == "done"
    bad = encode_or_invalid(env, "fly to the moon")
    _, reward, _, _, info = env.step(bad)
    assert not info["action_ok"] and reward == env.config.penalty_invalid
    msgs = llm_messages("instruction: x", ["done", "navigate kitchen"])
    assert msgs[0]["role"] == "system" and "navigate kitchen" in msgs[1]["content"]


@pytest.mark.server
@pytest.mark.models
@pytest.mark.slow
def test_tiny_online_distillation_from_the_real_llm(tiny_cfg):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python[server] not installed")
    from embodied_collab.cloud.config_cloud import CloudConfig
    from embodied_collab.cloud.server import LocalServer
    from embodied_collab.planner import sft
    from embodied_collab.planner.model import build_model
    from embodied_collab.planner.teachers import LLMTeacher
    from embodied_collab.planner.tokenizer import PlanTokenizer
    from embodied_collab.sim.config_planning import PlanningConfig
    from embodied_collab.sim.planning_env import HouseholdPlanEnv

    cfg = dataclasses.replace(tiny_cfg, teacher="llm", offline_epochs=1, sft_epochs=1)
    server = LocalServer(CloudConfig(local_n_threads=1, startup_timeout_s=120.0))
    server.start()
    try:
        teacher = LLMTeacher(server.base_url, deadline_s=180.0)
        env = HouseholdPlanEnv(PlanningConfig(difficulty="fetch", max_steps=2))
        tok = PlanTokenizer()
        model = build_model(cfg, tok)
        data, hist = sft.distill(model, tok, env, teacher, cfg, rng=np.random.default_rng(0),
                                 offline_episodes=1, rounds=1, round_episodes=1)
    finally:
        server.stop()
    assert teacher.calls >= 2 and teacher.failures == 0
    assert len(data) >= 1
    assert all(0 <= a < env.action_space.n for a in data.labels)
    assert [h["phase"] for h in hist] == ["offline", "online_1"]
