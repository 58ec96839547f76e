"""PlannerConfig validation and the closed-vocabulary tokenizer."""

from __future__ import annotations

import pytest

from embodied_collab.errors import InvalidFileError
from embodied_collab.planner.config_planner import PlannerConfig
from embodied_collab.planner.tokenizer import PlanTokenizer


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("n_layer", 0, "n_layer"),
        ("n_head", -1, "n_head"),
        ("n_embd", 0, "n_embd"),
        ("max_tokens", 0, "max_tokens"),
        ("sft_epochs", 0, "sft_epochs"),
        ("offline_epochs", 0, "offline_epochs"),
        ("sft_batch_size", 0, "sft_batch_size"),
        ("ppo_n_steps", 0, "ppo_n_steps"),
        ("ppo_batch_size", 0, "ppo_batch_size"),
        ("ppo_epochs", 0, "ppo_epochs"),
        ("num_threads", 0, "num_threads"),
        ("offline_episodes", -1, "offline_episodes"),
        ("dagger_rounds", -1, "dagger_rounds"),
        ("dagger_episodes", -1, "dagger_episodes"),
        ("ppo_steps", -1, "ppo_steps"),
        ("mlp_ppo_steps", -1, "mlp_ppo_steps"),
        ("eval_episodes", -1, "eval_episodes"),
        ("train_seed", -1, "train_seed"),
        ("dropout", 1.0, "dropout"),
        ("teacher", "gpt", "teacher"),
        ("strategy", "rl-rl", "strategy"),
        ("dagger_beta", 1.5, "dagger_beta"),
        ("sft_lr", 0.0, "sft_lr"),
        ("ppo_lr", -1.0, "ppo_lr"),
        ("ppo_clip", 0.0, "ppo_clip"),
        ("ppo_ent_coef", -0.1, "ppo_ent_coef"),
        ("ppo_gamma", 0.0, "ppo_gamma"),
        ("difficulty", "impossible", "difficulty"),
        ("llm_base_url", "not a url", "llm_base_url"),
        ("search_teacher", "maybe", "search_teacher"),
        ("search_features", 1, "search_features"),
        ("action_masking", "yes", "action_masking"),
    ],
)
def test_config_rejects_bad_values(field, value, match):
    with pytest.raises(ValueError, match=match):
        PlannerConfig(**{field: value})


def test_config_cross_field_checks():
    with pytest.raises(ValueError, match="n_embd"):
        PlannerConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="max_tokens must be >= 32"):
        PlannerConfig(max_tokens=16)
    with pytest.raises(ValueError, match="ppo_batch_size"):
        PlannerConfig(ppo_batch_size=128, ppo_n_steps=64)


def test_ids_split_into_category_and_number():
    tok = PlanTokenizer()
    words = tok.words("Put the small red cup_12 in fridge_1 of the living_room.")
    assert words == ["put", "the", "small", "red", "cup", "#12", "in", "fridge", "#1", "of",
                     "the", "living_room", "."]
    assert "<unk>" not in words
    a, b = tok.encode_action("pick cup_1"), tok.encode_action("pick cup_2")
    assert a[:2] == b[:2] and a[2] != b[2]
    assert tok.encode_action("done")[1:] == [tok.none_id, tok.none_id]


def test_truncation_keeps_instruction_head_and_recent_tail():
    tok = PlanTokenizer()
    text = "instruction: find the red cup . " + "kitchen explored : table_1 [] ; " * 80
    ids = tok.encode(text, max_tokens=64)
    assert len(ids) == 64
    assert tok.sep_id in ids
    assert tok.decode(ids[1:5]).startswith("instruction : find the")


def test_env_text_has_no_unknown_words_after_extension():
    import gymnasium as gym

    import embodied_collab.sim  # noqa: F401
    from embodied_collab.planner.train import build_tokenizer

    env = gym.make("embodied_collab/HouseholdPlan-v0").unwrapped
    tok = build_tokenizer(env, episodes=5)
    _, info = env.reset(seed=3)
    assert tok.unknown_words([info["text"]]) == set()


def test_tokenizer_roundtrip_and_bad_documents(tmp_path):
    tok = PlanTokenizer().extended(["zebra"])
    path = tmp_path / "tok.json"
    tok.save(path)
    import json

    again = PlanTokenizer.from_dict(json.loads(path.read_text()))
    assert again.vocab == tok.vocab
    with pytest.raises(InvalidFileError, match="not a planner tokenizer"):
        PlanTokenizer.from_dict({"vocab": ["a"]})
    with pytest.raises(InvalidFileError, match="vocab must be a list"):
        PlanTokenizer.from_dict({"format": "embodied_collab.plan_tokenizer", "vocab": [1, 2]})
