"""Turning the planning environment's text observation into the model's tensors.

The SB3 observation of the transformer policy is one flat float vector (SB3 accepts Box spaces,
not text): ``[token ids (max_tokens) | action tokens (n_actions * 3) | action mask (n_actions)]``.
Token ids are right-padded with 0.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from embodied_collab.planner.tokenizer import PlanTokenizer


class ActionVocabulary:
    """The token triples of the environment's action slots.

    Args:
        tokenizer: the planner tokenizer.
        action_strings: the text of each action slot (``"pick cup_1"``), or ``None`` for a slot
            that names nothing in the current episode.
    """

    def __init__(self, tokenizer: PlanTokenizer, action_strings: list[str | None]) -> None:
        self.strings = list(action_strings)
        self.tokens = np.array(
            [tokenizer.encode_action(s) if s else [tokenizer.none_id] * 3 for s in self.strings],
            dtype=np.int64,
        ).reshape(len(self.strings), 3)

    def __len__(self) -> int:
        return len(self.strings)


def slot_strings(env: gym.Env) -> list[str | None]:
    """The text of every action slot of a planning env in its current episode."""
    return list(env.unwrapped.codec.names)


def encode_text(tokenizer: PlanTokenizer, text: str, max_tokens: int) -> np.ndarray:
    """Right-padded token ids of ``text`` (length ``max_tokens``)."""
    ids = tokenizer.encode(text, max_tokens)
    out = np.zeros(max_tokens, dtype=np.int64)
    out[: len(ids)] = ids
    return out


def flat_observation(tokenizer: PlanTokenizer, max_tokens: int, text: str,
                     action_tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The flat vector described in the module docstring."""
    return np.concatenate([
        encode_text(tokenizer, text, max_tokens).astype(np.float32),
        action_tokens.reshape(-1).astype(np.float32),
        np.asarray(mask, dtype=np.float32).reshape(-1),
    ])


def split_observation(obs, max_tokens: int, n_actions: int):
    """Inverse of :func:`flat_observation` on a (B, D) tensor: ids, action tokens, mask."""
    ids = obs[:, :max_tokens].long()
    at = obs[:, max_tokens: max_tokens + 3 * n_actions].long().reshape(-1, n_actions, 3)
    mask = obs[:, max_tokens + 3 * n_actions:] > 0.5
    return ids, at, mask


class TokenObservation(gym.Wrapper):
    """Replaces the planning env's feature observation with the flat token vector.

    Args:
        env: a ``HouseholdPlan-v0`` env.
        tokenizer: the planner tokenizer.
        max_tokens: observation length.
    """

    def __init__(self, env: gym.Env, tokenizer: PlanTokenizer, max_tokens: int) -> None:
        super().__init__(env)
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.n_actions = int(env.action_space.n)
        dim = max_tokens + 4 * self.n_actions
        high = float(max(len(tokenizer), 2))
        self.observation_space = gym.spaces.Box(0.0, high, shape=(dim,), dtype=np.float32)
        self.actions: ActionVocabulary | None = None

    def _obs(self, info: dict[str, Any]) -> np.ndarray:
        self.actions = ActionVocabulary(self.tokenizer, slot_strings(self.env))
        mask = info.get("action_mask")
        if mask is None:
            mask = np.ones(self.n_actions, dtype=np.float32)
        return flat_observation(self.tokenizer, self.max_tokens, info["text"],
                                self.actions.tokens, mask)

    def reset(self, **kwargs):
        _, info = self.env.reset(**kwargs)
        return self._obs(info), info

    def step(self, action):
        _, reward, terminated, truncated, info = self.env.step(action)
        return self._obs(info), reward, terminated, truncated, info
