"""Distillation of a teacher into the planner SLM: offline and online (DAgger-style).

Offline: the teacher acts and every state it visits is labelled with its action. Online, as in
SmallPlan: the student acts (mixed with the teacher with a decaying probability ``beta``), the
teacher labels every state the student visits, and the student is retrained on the aggregated
dataset. The value head is fitted to the discounted return of the executed episodes, so that a
following PPO phase starts with a sensible critic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from embodied_collab.planner.config_planner import PlannerConfig
from embodied_collab.planner.model import PlannerLM
from embodied_collab.planner.obs import ActionVocabulary, slot_strings
from embodied_collab.planner.teachers import Teacher
from embodied_collab.planner.tokenizer import PlanTokenizer

logger = logging.getLogger(__name__)


@dataclass
class Dataset:
    """Labelled states: token ids, the episode's action table, the action mask, label, return."""

    ids: list[np.ndarray] = field(default_factory=list)
    table: list[int] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    tables: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class EpisodeStats:
    success: bool
    steps: int
    ret: float
    invalid: int


def _student_action(model: PlannerLM, tokenizer: PlanTokenizer, text: str, table: np.ndarray,
                    mask: np.ndarray | None, max_tokens: int) -> int:
    ids = torch.tensor([tokenizer.encode(text, max_tokens)])
    with torch.no_grad():
        logits, _ = model(ids, torch.as_tensor(table),
                          None if mask is None else torch.as_tensor(mask[None]).bool())
    return int(logits.argmax(-1))


def rollout(env: gym.Env, tokenizer: PlanTokenizer, cfg: PlannerConfig, teacher: Teacher,
            data: Dataset, *, model: PlannerLM | None, beta: float, rng: np.random.Generator,
            reset_options: dict[str, Any] | None = None) -> EpisodeStats:
    """Run one episode and append the teacher-labelled states to ``data``.

    Args:
        model: the student; ``None`` (or a draw below ``beta``) executes the teacher's action.
        beta: probability of executing the teacher's action at each step.
    """
    _, info = env.reset(options=reset_options)
    table = ActionVocabulary(tokenizer, slot_strings(env)).tokens
    data.tables.append(table)
    t_index = len(data.tables) - 1
    start = len(data.labels)
    rewards: list[float] = []
    steps = invalid = 0
    success = False
    while True:
        text = info["text"]
        mask = np.asarray(info["action_mask"], dtype=bool)
        label = teacher.act(env, info)
        if isinstance(label, (int, np.integer)):
            data.ids.append(np.asarray(tokenizer.encode(text, cfg.max_tokens), dtype=np.int32))
            data.table.append(t_index)
            data.masks.append(mask)
            data.labels.append(int(label))
        if label is None and model is None:
            raise RuntimeError("the teacher has no action for a state it reached itself")
        if label is not None and (model is None or rng.random() < beta):
            action = label
        else:
            action = _student_action(model, tokenizer, text, table,
                                     mask if cfg.action_masking else None, cfg.max_tokens)
        _, reward, terminated, truncated, info = env.step(action)
        steps += 1
        invalid += int(bool(info.get("invalid", False)))
        rewards.append(float(reward))
        if terminated or truncated:
            success = bool(info.get("is_success", False))
            break
    # discounted returns-to-go of the executed episode, for the states that got a label
    g, rtg = 0.0, []
    for r in reversed(rewards):
        g = r + cfg.ppo_gamma * g
        rtg.append(g)
    rtg.reverse()
    n_labelled = len(data.labels) - start
    data.returns.extend(rtg[:n_labelled] if n_labelled == len(rtg) else rtg[-n_labelled:])
    return EpisodeStats(success, steps, float(sum(rewards)), invalid)


def _batch(data: Dataset, idx: np.ndarray):
    width = max(len(data.ids[i]) for i in idx)
    ids = np.zeros((len(idx), width), dtype=np.int64)
    for k, i in enumerate(idx):
        ids[k, : len(data.ids[i])] = data.ids[i]
    tables = np.stack([data.tables[data.table[i]] for i in idx])
    masks = np.stack([data.masks[i] for i in idx])
    labels = np.array([data.labels[i] for i in idx])
    returns = np.array([data.returns[i] for i in idx], dtype=np.float32)
    return (torch.as_tensor(ids), torch.as_tensor(tables), torch.as_tensor(masks),
            torch.as_tensor(labels), torch.as_tensor(returns))


def train_epochs(model: PlannerLM, data: Dataset, cfg: PlannerConfig, *, epochs: int,
                 optimizer: torch.optim.Optimizer, rng: np.random.Generator,
                 on_batch: Callable[[float, float], None] | None = None) -> list[float]:
    """Cross-entropy (+0.5 x value MSE) epochs over ``data``; returns the mean loss per epoch."""
    model.train()
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(data))
        total, n = 0.0, 0
        for s in range(0, len(order), cfg.sft_batch_size):
            ids, tables, masks, labels, returns = _batch(data, order[s: s + cfg.sft_batch_size])
            logits, values = model(ids, tables, masks if cfg.action_masking else None)
            ce = F.cross_entropy(logits, labels)
            loss = ce + 0.5 * F.mse_loss(values, returns)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += float(ce.detach()) * len(labels)
            n += len(labels)
            if on_batch is not None:
                on_batch(float(ce.detach()), float(loss.detach()))
        losses.append(total / max(n, 1))
    model.eval()
    return losses


def distill(model: PlannerLM, tokenizer: PlanTokenizer, env: gym.Env, teacher: Teacher,
            cfg: PlannerConfig, *, rng: np.random.Generator, data: Dataset | None = None,
            offline_episodes: int | None = None, rounds: int | None = None,
            round_episodes: int | None = None,
            log: Callable[[str, float, int], None] | None = None,
            progress: bool = False) -> tuple[Dataset, list[dict[str, float]]]:
    """Offline then online distillation of ``teacher`` into ``model`` (trained in place).

    Returns:
        The aggregated dataset and one record per phase (episodes, teacher/student success,
        dataset size, final loss).
    """
    from tqdm.auto import tqdm

    data = data if data is not None else Dataset()
    offline = cfg.offline_episodes if offline_episodes is None else offline_episodes
    rounds = cfg.dagger_rounds if rounds is None else rounds
    per_round = cfg.dagger_episodes if round_episodes is None else round_episodes
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.sft_lr, weight_decay=0.01)
    history: list[dict[str, float]] = []
    step_counter = [0]

    def on_batch(ce: float, loss: float) -> None:
        step_counter[0] += 1
        if log is not None:
            log("sft/cross_entropy", ce, step_counter[0])

    phases = ([("offline", offline, 1.0)] if offline > 0 else []) + [
        (f"online_{r + 1}", per_round, cfg.dagger_beta * (1 - r / max(rounds, 1)))
        for r in range(rounds)
    ]
    for name, episodes, beta in phases:
        stats = []
        bar = tqdm(range(episodes), desc=f"distill {name}", disable=not progress, leave=False)
        for _ in bar:
            stats.append(rollout(env, tokenizer, cfg, teacher, data,
                                 model=None if name == "offline" else model, beta=beta, rng=rng))
        if not len(data):
            raise RuntimeError("the teacher labelled no state (is the LLM endpoint answering?)")
        epochs = cfg.offline_epochs if name == "offline" else cfg.sft_epochs
        losses = train_epochs(model, data, cfg, epochs=epochs, optimizer=optimizer,
                              rng=rng, on_batch=on_batch)
        rec = {
            "phase": name, "episodes": episodes, "beta": beta,
            "rollout_success": float(np.mean([s.success for s in stats])) if stats else 0.0,
            "rollout_return": float(np.mean([s.ret for s in stats])) if stats else 0.0,
            "dataset": len(data), "loss": losses[-1] if losses else float("nan"),
            "losses": losses,
        }
        history.append(rec)
        logger.info("distill %s: %s", name, {k: v for k, v in rec.items() if k != "losses"})
        if log is not None:
            log("sft/rollout_success", rec["rollout_success"], len(history))
            log("sft/loss", rec["loss"], len(history))
    return data, history
