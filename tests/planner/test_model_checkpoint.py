"""The planner model: shapes, entity pointers, checkpoint round trip and bad checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embodied_collab.errors import InvalidFileError, ModelNotAvailable
from embodied_collab.planner.model import build_model, load_checkpoint, save_checkpoint
from embodied_collab.planner.policy import SLMPolicy
from embodied_collab.planner.tokenizer import PlanTokenizer


def _inputs(tok: PlanTokenizer):
    texts = ["instruction: pick up the red cup_1 . kitchen explored : table_1 [ small red cup_1 ]",
             "instruction: go . kitchen unexplored : table_1"]
    width = 40
    ids = torch.zeros((2, width), dtype=torch.long)
    for i, t in enumerate(texts):
        e = tok.encode(t, width)
        ids[i, : len(e)] = torch.tensor(e)
    actions = ["navigate kitchen", "navigate table_1", "pick cup_1", None, "done"]
    table = torch.tensor([tok.encode_action(a) if a else [tok.none_id] * 3 for a in actions])
    return ids, table


def test_forward_shapes_and_parameter_budget(tiny_cfg):
    from embodied_collab.planner.config_planner import PlannerConfig

    tok = PlanTokenizer()
    model = build_model(tiny_cfg, tok)
    ids, table = _inputs(tok)
    logits, values = model(ids, table)
    assert logits.shape == (2, 5) and values.shape == (2,)
    per_sample = table.unsqueeze(0).expand(2, -1, -1)
    logits2, _ = model(ids, per_sample)
    assert torch.allclose(logits, logits2, atol=1e-5)
    mask = torch.tensor([[1, 1, 1, 0, 1], [1, 0, 0, 0, 1]], dtype=torch.bool)
    masked, _ = model(ids, table, mask)
    assert (masked[~mask] < -1e8).all()
    assert build_model(PlannerConfig(), tok).n_parameters() <= 10_000_000


def test_single_sequence_fast_path_matches_the_gpt2_stack():
    """At decision time (one sequence, inference) the encoder computes the GPT-2 stack from its
    weights directly; it must give the transformers model's hidden states."""
    from embodied_collab.planner.policy import load_default

    policy = load_default()
    model = policy.model.eval()
    text = ("instruction: bring the small red cup_1 from the kitchen to the table_2 . "
            "kitchen explored : table_1 [ small red cup_1 ] . robot : at table_1 in kitchen")
    ids = torch.tensor([policy.tokenizer.encode(text, policy.cfg.max_tokens)])
    width = int((ids != 0).sum())
    with torch.inference_mode():
        fast, trimmed, state = model.encode(ids)
        ref = model.gpt(input_ids=trimmed, attention_mask=(trimmed != 0).long()).last_hidden_state
    assert fast.shape == ref.shape == (1, width, model.n_embd)
    assert torch.allclose(fast, ref, atol=1e-5)
    assert torch.equal(state, fast[0, -1:])


def test_entity_mentions_point_at_the_text(tiny_cfg):
    tok = PlanTokenizer()
    model = build_model(tiny_cfg, tok)
    ids, table = _inputs(tok)
    hidden, trimmed, _ = model.encode(ids)
    _, present, _, _ = model.mentions(hidden, trimmed, table)
    # sample 0 mentions kitchen, table_1 and cup_1; sample 1 never mentions cup_1
    assert present[0, :3, 0].tolist() == [1.0, 1.0, 1.0]
    assert present[1, 2, 0].item() == 0.0
    assert present[:, 3, 0].tolist() == [0.0, 0.0]  # empty slot


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path, tiny_cfg):
    tok = PlanTokenizer().extended(["zebra"])
    model = build_model(tiny_cfg, tok).eval()
    path = save_checkpoint(tmp_path / "p.pt", model, tok, tiny_cfg, meta={"note": "test"})
    loaded, tok2, cfg2, meta = load_checkpoint(path)
    ids, table = _inputs(tok)
    with torch.no_grad():
        a, va = model(ids, table)
        b, vb = loaded(ids, table)
    assert torch.equal(a, b) and torch.equal(va, vb)
    assert tok2.vocab == tok.vocab and cfg2 == tiny_cfg and meta == {"note": "test"}
    policy = SLMPolicy.load(path)
    names = ["navigate kitchen", "navigate table_1", "pick cup_1", None, "done"]
    info = {"text": "instruction: go . kitchen unexplored : table_1",
            "action_mask": np.ones(5, dtype=np.int8)}
    slot, conf = policy.act(info, names)
    assert 0 <= slot < 5 and 0.0 < conf <= 1.0


def test_missing_and_corrupt_checkpoints_raise_clear_errors(tmp_path, tiny_cfg):
    with pytest.raises(ModelNotAvailable, match="not found"):
        load_checkpoint(tmp_path / "absent.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00not a checkpoint at all" * 10)
    with pytest.raises(InvalidFileError, match="not a readable planner checkpoint"):
        load_checkpoint(garbage)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(InvalidFileError, match="format field missing"):
        load_checkpoint(other)
    tok = PlanTokenizer()
    path = save_checkpoint(tmp_path / "p.pt", build_model(tiny_cfg, tok), tok, tiny_cfg)
    doc = torch.load(path, weights_only=True)
    doc["state_dict"].pop(next(iter(doc["state_dict"])))
    torch.save(doc, tmp_path / "trunc.pt")
    with pytest.raises(InvalidFileError, match="weights do not match"):
        load_checkpoint(tmp_path / "trunc.pt")
    doc = torch.load(path, weights_only=True)
    doc["config"]["n_layer"] = 0
    torch.save(doc, tmp_path / "badcfg.pt")
    with pytest.raises(InvalidFileError, match="n_layer"):
        load_checkpoint(tmp_path / "badcfg.pt")
    half = tmp_path / "half.pt"
    half.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InvalidFileError, match="not a readable"):
        load_checkpoint(half)


def test_grounding_features_match_the_instruction():
    from embodied_collab.planner.config_planner import PlannerConfig

    tok = PlanTokenizer()
    model = build_model(PlannerConfig(n_layer=1, n_head=2, n_embd=32), tok)
    text = ("instruction: Get the large white bottle that is on the counter in the living room. "
            "office explored: desk_1 []; counter_2 [small red bottle_1, large white bottle_4] "
            "living_room unexplored: counter_1")
    ids = torch.tensor([tok.encode(text)])
    acts = ["navigate counter_1", "navigate counter_2", "navigate desk_1", "pick bottle_1",
            "pick bottle_4", "done"]
    table = torch.tensor([tok.encode_action(a) for a in acts])
    hidden, trimmed, _ = model.encode(ids)
    _, _, weights, count = model.mentions(hidden, trimmed, table)
    g = model.grounding(trimmed, table, weights, count)[0]
    assert g[:, 0].tolist() == [1.0, 1.0, 0.0, 1.0, 1.0, 0.0]  # category named
    assert g[4, 1:3].tolist() == [1.0, 1.0] and g[3, 1:3].tolist() == [0.0, 0.0]  # colour, size
    assert g[0, 3].item() == 1.0 and g[1, 3].item() == 0.0  # counter_1 is in the living room


def test_structure_features_find_the_target_and_the_robot():
    """Words after "not" name the distractor; furniture listing the target and the robot's
    furniture (and the objects on it) are marked."""
    from embodied_collab.planner.config_planner import PlannerConfig

    tok = PlanTokenizer()
    model = build_model(PlannerConfig(n_layer=1, n_head=2, n_embd=32), tok)
    text = ("instruction: Bring the large green apple to the counter in the kitchen, not the "
            "small one. living_room explored: sofa_1 [small green apple_2]; "
            "table_1 [large blue ball_1, large green apple_1] kitchen unexplored: counter_1 "
            "robot: at table_1 in living_room, holding nothing history: navigate table_1 -> ok")
    ids = torch.tensor([tok.encode(text)])
    acts = ["navigate sofa_1", "navigate table_1", "pick apple_2", "pick apple_1",
            "pick ball_1", "navigate counter_1"]
    table = torch.tensor([tok.encode_action(a) for a in acts])
    hidden, trimmed, _ = model.encode(ids)
    _, _, weights, count = model.mentions(hidden, trimmed, table)
    g = model.grounding(trimmed, table, weights, count)[0]
    assert g[2, 2].item() == 0.0 and g[3, 2].item() == 1.0  # "small" follows "not"
    assert g[:2, 4].tolist() == [1.0, 1.0]  # both list an apple
    assert g[:2, 5].tolist() == [0.0, 1.0]  # only table_1 lists the large green one
    assert g[:, 6].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]  # the robot is at table_1
    assert g[:, 7].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 0.0]  # objects within reach


def test_source_and_destination_of_the_instruction_are_told_apart():
    from embodied_collab.planner.config_planner import PlannerConfig

    tok = PlanTokenizer()
    model = build_model(PlannerConfig(n_layer=1, n_head=2, n_embd=32), tok)
    text = ("instruction: Move the red apple from the shelf in the hallway onto the shelf in the "
            "bedroom. hallway explored: shelf_1 [large red apple_2] bedroom unexplored: shelf_2; "
            "bed_1 robot: at start in hallway, holding nothing")
    ids = torch.tensor([tok.encode(text)])
    acts = ["navigate shelf_1", "navigate shelf_2", "navigate bed_1"]
    table = torch.tensor([tok.encode_action(a) for a in acts])
    hidden, trimmed, _ = model.encode(ids)
    _, _, weights, count = model.mentions(hidden, trimmed, table)
    g = model.grounding(trimmed, table, weights, count)[0]
    assert g[:, 8].tolist() == [1.0, 0.0, 0.0]  # listed in the source room
    assert g[:, 9].tolist() == [0.0, 1.0, 1.0]  # listed in the destination room
    assert g[:, 10].tolist() == [1.0, 1.0, 0.0] and g[:, 11].tolist() == [1.0, 1.0, 0.0]
