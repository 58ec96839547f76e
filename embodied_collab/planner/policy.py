"""The planner SLM as an on-board policy: text observation in, action slot out, in milliseconds."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embodied_collab.errors import ModelNotAvailable
from embodied_collab.planner.config_planner import PlannerConfig
from embodied_collab.planner.model import PlannerLM, load_checkpoint
from embodied_collab.planner.obs import ActionVocabulary
from embodied_collab.planner.tokenizer import PlanTokenizer

logger = logging.getLogger(__name__)

#: File name of the committed checkpoint under ``embodied_collab/data/planner/``.
DEFAULT_CHECKPOINT = "planner_slm.pt"


def default_checkpoint_path() -> Path:
    """Path of the committed planner checkpoint (package data)."""
    return Path(str(resources.files("embodied_collab") / "data" / "planner" / DEFAULT_CHECKPOINT))


class SLMPolicy:
    """Chooses the next high-level action with the planner SLM.

    Args:
        model: a trained :class:`PlannerLM`.
        tokenizer: its tokenizer.
        cfg: its config (``max_tokens``, ``action_masking``).
        action_masking: override ``cfg.action_masking``.
        meta: checkpoint metadata (training record).
    """

    def __init__(self, model: PlannerLM, tokenizer: PlanTokenizer, cfg: PlannerConfig, *,
                 action_masking: bool | None = None, meta: dict[str, Any] | None = None) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.action_masking = cfg.action_masking if action_masking is None else action_masking
        self.meta = dict(meta or {})
        self._tables: dict[tuple, torch.Tensor] = {}

    @classmethod
    def load(cls, path: str | Path, *, action_masking: bool | None = None) -> SLMPolicy:
        """Load a checkpoint written by training.

        Raises:
            ModelNotAvailable: the file does not exist.
            InvalidFileError: the file is not a valid planner checkpoint.
        """
        model, tokenizer, cfg, meta = load_checkpoint(path)
        return cls(model, tokenizer, cfg, action_masking=action_masking, meta=meta)

    def _table(self, action_names: list[str | None]) -> torch.Tensor:
        key = tuple(action_names)
        table = self._tables.get(key)
        if table is None:
            if len(self._tables) > 64:
                self._tables.clear()
            table = torch.as_tensor(ActionVocabulary(self.tokenizer, list(action_names)).tokens)
            self._tables[key] = table
        return table

    def scores(self, text: str, action_names: list[str | None],
               action_mask: np.ndarray | None = None) -> np.ndarray:
        """Probabilities over the action slots for one observation."""
        ids = torch.tensor([self.tokenizer.encode(text, self.cfg.max_tokens)])
        mask = None
        if self.action_masking and action_mask is not None:
            mask = torch.as_tensor(np.asarray(action_mask, dtype=bool)[None])
        with torch.inference_mode():
            logits, _ = self.model(ids, self._table(action_names), mask)
            return torch.softmax(logits[0], -1).numpy()

    def act(self, info: dict[str, Any], action_names: list[str | None]) -> tuple[int, float]:
        """The most probable action slot and its probability.

        Args:
            info: the planning env's ``info`` (``text``, ``action_mask``).
            action_names: the env's slot texts this episode (``env.unwrapped.codec.names``).
        """
        p = self.scores(info["text"], action_names, info.get("action_mask"))
        a = int(p.argmax())
        return a, float(p[a])

    def act_env(self, env, info: dict[str, Any]) -> tuple[int, float]:
        """:meth:`act` for a planning env (reads its action slot texts)."""
        return self.act(info, env.unwrapped.codec.names)

    def act_text(self, info: dict[str, Any], action_names: list[str | None]) -> tuple[str, float]:
        """:meth:`act` returning the action's text (``"pick cup_1"``)."""
        a, conf = self.act(info, action_names)
        return str(action_names[a]), conf


def load_default(*, action_masking: bool | None = None) -> SLMPolicy:
    """The committed planner SLM.

    Raises:
        ModelNotAvailable: the checkpoint is missing (run ``embodied-collab train planner``).
    """
    path = default_checkpoint_path()
    if not path.is_file():
        raise ModelNotAvailable(
            f"the planner checkpoint {path} is missing: run `embodied-collab train planner "
            f"--out {path.parent}`"
        )
    return SLMPolicy.load(path, action_masking=action_masking)
