"""The decision path (numpy features, reused prefix) gives the batched reference path's logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embodied_collab.planner import fastpath
from embodied_collab.planner.model import DecodeCache, build_model
from embodied_collab.planner.policy import SLMPolicy, load_default
from embodied_collab.planner.tokenizer import PlanTokenizer


@pytest.fixture(scope="module")
def episodes():
    """Observations of real episodes (the committed SLM acting), one list per episode, on
    held-out tasks of every difficulty: (text, slot names, action mask)."""
    from embodied_collab.planner.train import heldout_suite
    from embodied_collab.sim.catalog import DIFFICULTIES
    from embodied_collab.sim.planning_env import HouseholdPlanEnv

    policy = load_default()
    out = []
    for k, difficulty in enumerate(DIFFICULTIES):
        tasks = heldout_suite(2, difficulty, 4242 + k).tasks
        env = HouseholdPlanEnv(suite=tasks)
        for i in range(len(tasks)):
            _, info = env.reset(seed=i, options={"task_index": i})
            names = list(env.unwrapped.codec.names)
            steps, done = [], False
            while not done and len(steps) < 12:
                steps.append((info["text"], names, info["action_mask"]))
                slot = int(policy.scores_reference(info["text"], names).argmax())
                _, _, terminated, truncated, info = env.step(slot)
                done = terminated or truncated
            out.append(steps)
    return out


def _reference_logits(model, tok, cfg, text, table):
    ids = torch.tensor([tok.encode(text, cfg.max_tokens)])
    with torch.no_grad():  # grad mode off but not inference: forward runs its batched path
        model.train(False)
        hidden, trimmed, state = model.encode(ids)
        ref_hidden = model.gpt(input_ids=trimmed).last_hidden_state
        logits, _ = model(ids, table)
    assert torch.allclose(hidden, ref_hidden, atol=1e-5)
    return logits[0]


def test_decision_logits_match_the_reference_along_episodes(episodes):
    policy = load_default()
    model, tok, cfg = policy.model, policy.tokenizer, policy.cfg
    cache = DecodeCache()
    reused = 0
    n = 0
    for steps in episodes:
        for text, names, _ in steps:
            table, table_np = policy._table(names)
            ids = policy.encode(text)
            assert ids == tok.encode(text, cfg.max_tokens)
            reused += int(cache.shared_prefix(torch.tensor(ids), model._weights_version()) > 3)
            with torch.inference_mode():
                fast = model.decide(ids, table, action_np=table_np, cache=cache)
                cold = model.decide(ids, table)
            ref = _reference_logits(model, tok, cfg, text, table)
            assert fast.shape == ref.shape == (len(names),)
            assert torch.allclose(fast, ref, atol=1e-5), float((fast - ref).abs().max())
            assert torch.allclose(cold, ref, atol=1e-5)
            n += 1
    assert n >= 24 and reused >= n // 2  # the prefix cache was exercised


def test_policy_scores_match_the_reference_path_with_and_without_masking(episodes):
    policy = load_default()
    masked = SLMPolicy(policy.model, policy.tokenizer, policy.cfg, action_masking=True)
    for steps in episodes[::2]:
        for text, names, mask in steps:
            for p in (policy, masked):
                fast = p.scores(text, names, mask)
                ref = p.scores_reference(text, names, mask)
                np.testing.assert_allclose(fast, ref, atol=1e-5)
                assert abs(float(fast.sum()) - 1.0) < 1e-4
            assert masked.scores(text, names, mask)[np.asarray(mask) == 0].max() < 1e-6


@pytest.mark.parametrize("n_ground", [12, 20, 22])
def test_numpy_features_equal_the_tensor_features(episodes, n_ground):
    """Both feature sets, on an untrained model (features come from token ids only)."""
    from embodied_collab.planner.config_planner import PlannerConfig

    policy = load_default()
    tok = policy.tokenizer
    model = build_model(PlannerConfig(n_layer=1, n_head=2, n_embd=32), tok,
                        n_ground=n_ground).eval()
    for steps in episodes:
        for text, names, _ in steps[::3]:
            table, table_np = policy._table(names)
            ids = torch.tensor([tok.encode(text, 320)])
            with torch.no_grad():
                hidden, trimmed, _ = model.encode(ids)
                _, _, weights, count = model.mentions(hidden, trimmed, table)
                ref = model.grounding(trimmed, table, weights, count)[0].numpy()
            ids_np = trimmed[0].numpy()
            w = fastpath.mention_weights(ids_np, table_np, model.none_id)
            np.testing.assert_array_equal(w, weights[0].numpy())
            got = fastpath.grounding_features(model, ids_np, table_np, w)
            assert got.shape == (len(names), n_ground)
            np.testing.assert_allclose(got, ref, atol=1e-6)


def test_cache_follows_weight_changes_and_new_episodes(episodes):
    """An in-place weight update (an optimiser step) invalidates the cached prefix."""
    policy = load_default()
    tok = PlanTokenizer(policy.tokenizer.vocab)
    from embodied_collab.planner.config_planner import PlannerConfig

    cfg = PlannerConfig(n_layer=1, n_head=2, n_embd=32)
    model = build_model(cfg, tok).eval()
    student = SLMPolicy(model, tok, cfg)
    (t1, names, _), (t2, _, _) = episodes[1][0], episodes[1][1]
    other = episodes[-1][0][0]
    student.scores(t1, names)
    with torch.no_grad():
        for p in model.gpt.parameters():
            p.add_(0.05 * torch.randn_like(p))
    for text in (t2, other, t1):
        np.testing.assert_allclose(student.scores(text, names),
                                   student.scores_reference(text, names), atol=1e-5)


def test_long_text_is_cut_like_the_tokenizer_cuts_it(episodes):
    from embodied_collab.planner.config_planner import PlannerConfig

    policy = load_default()
    cfg = PlannerConfig(n_layer=1, n_head=2, n_embd=32, max_tokens=64)
    short = SLMPolicy(build_model(cfg, policy.tokenizer).eval(), policy.tokenizer, cfg)
    text, names, _ = episodes[0][-1]
    ids = short.encode(text)
    assert ids == policy.tokenizer.encode(text, 64) and len(ids) == 64
    np.testing.assert_allclose(short.scores(text, names), short.scores_reference(text, names),
                               atol=1e-5)


_ON_TEXT = """instruction: Put the large yellow box on the cabinet in the bathroom.
living_room explored: sofa_1 []; table_1 []; cabinet_1 closed [small orange book_2]
kitchen explored: counter_1 [small yellow box_1]; fridge_1 open [large yellow book_1 (in)]
bathroom explored: sink_1 []; cabinet_2 closed []
doors: bathroom-kitchen, kitchen-living_room
robot: at cabinet_2 in bathroom, holding large yellow box_2
history: navigate table_1 -> ok; pick box_2 -> ok; navigate cabinet_2 -> ok"""
_ON_NAMES = ["navigate cabinet_2", "open cabinet_2", "place cabinet_2", "open cabinet_1",
             "open fridge_1", "navigate kitchen", "done"]


def test_the_destination_to_put_something_on_stays_closed():
    """`open` of the destination of an "on" instruction is excluded (the teacher never opens
    it: placing would put the object inside); other containers and "in" instructions are not
    affected."""
    policy = load_default()
    assert policy.keep_destination_closed
    _, table_np = policy._table(_ON_NAMES)
    ids = np.asarray(policy.encode(_ON_TEXT))
    shut = fastpath.closed_destination(policy.model, ids, table_np,
                                       policy.tokenizer.index["open"])
    assert shut.tolist() == [False, True, False, False, False, False, False]
    p = policy.scores(_ON_TEXT, _ON_NAMES)
    assert p[1] == 0.0 and int(p.argmax()) != 1
    np.testing.assert_allclose(p, policy.scores_reference(_ON_TEXT, _ON_NAMES), atol=1e-5)
    free = SLMPolicy(policy.model, policy.tokenizer, policy.cfg, keep_destination_closed=False)
    assert free.scores(_ON_TEXT, _ON_NAMES)[1] > 0.0
    put_in = _ON_TEXT.replace("on the cabinet in the bathroom", "in the cabinet in the bathroom")
    ids = np.asarray(policy.encode(put_in))
    assert not fastpath.closed_destination(policy.model, ids, table_np,
                                           policy.tokenizer.index["open"]).any()
    assert policy.scores(put_in, _ON_NAMES)[1] > 0.0


def test_closed_destination_is_feature_21_of_the_open_actions(episodes):
    from embodied_collab.planner.config_planner import PlannerConfig

    policy = load_default()
    model = build_model(PlannerConfig(n_layer=1, n_head=2, n_embd=32), policy.tokenizer).eval()
    open_id = policy.tokenizer.index["open"]
    hits = 0
    for steps in episodes:
        for text, names, _ in steps:
            _, table_np = policy._table(names)
            ids = np.asarray(policy.encode(text))
            w = fastpath.mention_weights(ids, table_np, model.none_id)
            f = fastpath.grounding_features(model, ids, table_np, w)
            shut = fastpath.closed_destination(model, ids, table_np, open_id)
            expect = (table_np[:, 0] == open_id) & (f[:, 21] > 0)
            assert shut.tolist() == expect.tolist()
            hits += int(shut.any())
    assert hits > 0
