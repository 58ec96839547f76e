"""The planner SLM as an on-board policy: text observation in, action slot out, in milliseconds."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embodied_collab.errors import ModelNotAvailable
from embodied_collab.planner import fastpath
from embodied_collab.planner.config_planner import PlannerConfig
from embodied_collab.planner.model import DecodeCache, PlannerLM, load_checkpoint
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
        keep_destination_closed: override ``cfg.keep_destination_closed``: never ``open`` the
            destination the instruction asks to put the object *on* (opening it would put the
            object inside; the teacher never does).
        skip_failed_action: override ``cfg.skip_failed_action``: never repeat the action that
            failed at the previous step (nothing changed, it would fail again).
        meta: checkpoint metadata (training record).
    """

    def __init__(self, model: PlannerLM, tokenizer: PlanTokenizer, cfg: PlannerConfig, *,
                 action_masking: bool | None = None, keep_destination_closed: bool | None = None,
                 skip_failed_action: bool | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.action_masking = cfg.action_masking if action_masking is None else action_masking
        self.keep_destination_closed = (cfg.keep_destination_closed
                                        if keep_destination_closed is None
                                        else keep_destination_closed)
        self.skip_failed_action = (cfg.skip_failed_action if skip_failed_action is None
                                   else skip_failed_action)
        self._open_id = tokenizer.index.get("open", -1)
        self.meta = dict(meta or {})
        self._tables: dict[tuple, tuple[torch.Tensor, np.ndarray]] = {}
        self._lines: dict[str, list[int]] = {}
        self._cache = DecodeCache()

    @classmethod
    def load(cls, path: str | Path, *, action_masking: bool | None = None,
             keep_destination_closed: bool | None = None,
             skip_failed_action: bool | None = None) -> SLMPolicy:
        """Load a checkpoint written by training.

        Raises:
            ModelNotAvailable: the file does not exist.
            InvalidFileError: the file is not a valid planner checkpoint.
        """
        model, tokenizer, cfg, meta = load_checkpoint(path)
        return cls(model, tokenizer, cfg, action_masking=action_masking,
                   keep_destination_closed=keep_destination_closed,
                   skip_failed_action=skip_failed_action, meta=meta)

    def _table(self, action_names: list[str | None]) -> tuple[torch.Tensor, np.ndarray]:
        key = tuple(action_names)
        table = self._tables.get(key)
        if table is None:
            if len(self._tables) > 64:
                self._tables.clear()
            tokens = np.asarray(ActionVocabulary(self.tokenizer, list(action_names)).tokens,
                                dtype=np.int64)
            table = (torch.from_numpy(tokens), tokens)
            self._tables[key] = table
        return table

    def encode(self, text: str) -> list[int]:
        """``tokenizer.encode(text, max_tokens)``, tokenising each line once: consecutive
        observations repeat most of their lines (no token spans a line break)."""
        lines = self._lines
        if len(lines) > 4096:
            lines.clear()
        ids = [self.tokenizer.bos_id]
        for line in text.split("\n"):
            part = lines.get(line)
            if part is None:
                part = lines[line] = self.tokenizer.encode(line)[1:]
            ids += part
        return self.tokenizer.cut(ids, self.cfg.max_tokens)

    def allowed(self, ids: np.ndarray, table: np.ndarray,
                action_mask: np.ndarray | None = None, text: str = "",
                action_names: list[str | None] | None = None) -> np.ndarray | None:
        """(A,) bool of the slots the policy may choose (None: all): the env's action mask
        with ``action_masking``, without the destination's ``open`` when it is to stay closed
        (``keep_destination_closed``) and without the action that has just failed
        (``skip_failed_action``; read from the history at the end of ``text``)."""
        allowed = None
        if self.action_masking and action_mask is not None:
            allowed = np.asarray(action_mask, dtype=bool).copy()
        if self.keep_destination_closed:
            shut = fastpath.closed_destination(self.model, ids, table, self._open_id)
            if shut.any():
                allowed = ~shut if allowed is None else allowed & ~shut
        if self.skip_failed_action and action_names is not None:
            failed = last_failed_action(text)
            if failed is not None and failed in action_names:
                if allowed is None:
                    allowed = np.ones(len(table), dtype=bool)
                allowed[action_names.index(failed)] = False
        return allowed

    def scores(self, text: str, action_names: list[str | None],
               action_mask: np.ndarray | None = None) -> np.ndarray:
        """Probabilities over the action slots for one observation (0 for the slots
        :meth:`allowed` excludes).

        In eval mode this is :meth:`PlannerLM.decide` (the decision path: numpy features,
        the previous observation's shared prefix reused); the same probabilities as
        :meth:`scores_reference` up to float rounding."""
        if self.model.training:
            return self.scores_reference(text, action_names, action_mask)
        table, table_np = self._table(action_names)
        ids = np.asarray(self.encode(text), dtype=np.int64)
        allowed = self.allowed(ids, table_np, action_mask, text, action_names)
        mask = None if allowed is None else torch.from_numpy(allowed)
        with torch.inference_mode():
            logits = self.model.decide(ids, table, mask, action_np=table_np, cache=self._cache)
            return torch.softmax(logits, -1).numpy()

    def scores_reference(self, text: str, action_names: list[str | None],
                         action_mask: np.ndarray | None = None) -> np.ndarray:
        """:meth:`scores` through the batched :meth:`PlannerLM.forward` (training's path)."""
        table, table_np = self._table(action_names)
        ids = self.tokenizer.encode(text, self.cfg.max_tokens)
        allowed = self.allowed(np.asarray(ids, dtype=np.int64), table_np, action_mask, text,
                               action_names)
        mask = None if allowed is None else torch.from_numpy(allowed)[None]
        with torch.inference_mode():
            logits, _ = self.model(torch.tensor([ids]), table, mask)
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


def last_failed_action(text: str) -> str | None:
    """The action of the last history entry of an observation text if it failed
    (``"... ; place bed_1 -> failed: bed_1 is out of reach; navigate there first"``)."""
    i = text.rfind("history: ")
    if i < 0:
        return None
    history = text[i + len("history: "):]
    j = history.rfind(" -> ")
    if j < 0 or not history.startswith("failed", j + 4):
        return None
    return history[:j].rsplit("; ", 1)[-1].strip()


def load_default(*, action_masking: bool | None = None,
                 keep_destination_closed: bool | None = None,
                 skip_failed_action: bool | None = None) -> SLMPolicy:
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
    return SLMPolicy.load(path, action_masking=action_masking,
                          keep_destination_closed=keep_destination_closed,
                          skip_failed_action=skip_failed_action)
