"""The planner SLM: a small GPT-2-style decoder trained from scratch, with action and value heads.

The model reads the token ids of the serialised instruction + observed scene graph + action
history; the hidden state of the last token is the decision state. Each candidate action (a
verb + an entity id, tokenised to three ids) is scored from three things: the decision state,
an embedding of the action's own tokens, and the contextual hidden states at the places where
the text mentions that entity (a pointer into the scene graph; an entity the text never
mentions, such as an unobserved object, gets none). Scoring by content rather than by slot
number is what lets the policy generalise to the entity ids of unseen layouts. A value head on
the decision state serves PPO.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from embodied_collab.errors import InvalidFileError, ModelNotAvailable
from embodied_collab.planner.config_planner import PlannerConfig
from embodied_collab.planner.tokenizer import PlanTokenizer

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "embodied_collab.planner_checkpoint"
CHECKPOINT_VERSION = 1
#: Model-shape fields of :class:`PlannerConfig` stored in a checkpoint.
MODEL_FIELDS = ("n_layer", "n_head", "n_embd", "max_tokens", "dropout")


class PlannerLM(nn.Module):
    """Decoder-only transformer policy over candidate actions.

    Args:
        vocab_size: tokenizer size.
        n_layer, n_head, n_embd, max_tokens, dropout: see :class:`PlannerConfig`.
    """

    def __init__(self, *, vocab_size: int, n_layer: int, n_head: int, n_embd: int,
                 max_tokens: int, dropout: float = 0.0) -> None:
        super().__init__()
        from transformers import GPT2Config, GPT2Model

        gcfg = GPT2Config(
            vocab_size=vocab_size, n_positions=max_tokens, n_embd=n_embd, n_layer=n_layer,
            n_head=n_head, n_inner=2 * n_embd, resid_pdrop=dropout, embd_pdrop=dropout,
            attn_pdrop=dropout, bos_token_id=2, eos_token_id=2, pad_token_id=0,
        )
        self.gpt = GPT2Model(gcfg)
        self.n_embd = n_embd
        self.max_tokens = max_tokens
        self.none_id = 4  # tokenizer.NONE
        self.query = nn.Linear(n_embd, n_embd)
        self.act_proj = nn.Linear(3 * n_embd, n_embd)
        self.mention_proj = nn.Linear(n_embd, n_embd, bias=False)
        self.absent = nn.Parameter(torch.zeros(n_embd))
        self.score = nn.Sequential(nn.Tanh(), nn.Linear(n_embd, n_embd), nn.Tanh(),
                                   nn.Linear(n_embd, 1))
        self.value_head = nn.Sequential(nn.Linear(n_embd, n_embd), nn.Tanh(), nn.Linear(n_embd, 1))

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def encode(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Hidden states (B, T', d), trimmed ids (B, T') and the decision state (B, d) of
        right-padded token ids (B, T), pad id 0."""
        mask = (ids != 0).long()
        lengths = mask.sum(dim=1).clamp(min=1)
        width = int(lengths.max())
        ids, mask = ids[:, :width], mask[:, :width]
        hidden = self.gpt(input_ids=ids, attention_mask=mask).last_hidden_state
        return hidden, ids, hidden[torch.arange(ids.shape[0]), lengths - 1]

    def mentions(self, hidden: torch.Tensor, ids: torch.Tensor,
                 action_tokens: torch.Tensor) -> torch.Tensor:
        """Mean hidden state (B, A, d) where each action's entity is mentioned (0 if never).

        An entity ``cat #n`` is matched at its number token (which has seen the category); an
        entity without number (a room) at its category token.
        """
        b = ids.shape[0]
        if action_tokens.dim() == 2:
            action_tokens = action_tokens.unsqueeze(0).expand(b, -1, -1)
        cat = action_tokens[..., 1:2]  # (B, A, 1)
        num = action_tokens[..., 2:3]
        prev = torch.cat([torch.zeros_like(ids[:, :1]), ids[:, :-1]], dim=1)  # token before t
        cur, prev = ids.unsqueeze(1), prev.unsqueeze(1)  # (B, 1, T)
        has_num = num != self.none_id
        match = torch.where(has_num, (prev == cat) & (cur == num), cur == cat)
        match = match & (cat != self.none_id)
        weights = match.float()
        count = weights.sum(-1, keepdim=True)
        pooled = weights @ hidden / count.clamp(min=1.0)
        return pooled, (count > 0).float()

    def forward(self, ids: torch.Tensor, action_tokens: torch.Tensor,
                action_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Action logits (B, A) and values (B,).

        Args:
            ids: (B, T) token ids, right-padded with 0.
            action_tokens: (A, 3) shared or (B, A, 3) per-sample candidate actions.
            action_mask: optional (B, A) bool; False entries get a very low logit.
        """
        hidden, ids, s = self.encode(ids)
        pooled, present = self.mentions(hidden, ids, action_tokens)
        a = self.act_proj(self.gpt.wte(action_tokens).flatten(-2))  # (A|B, A, d)
        if a.dim() == 2:
            a = a.unsqueeze(0)
        m = self.mention_proj(pooled) + (1.0 - present) * self.absent
        logits = self.score(self.query(s).unsqueeze(1) + a + m).squeeze(-1)
        if action_mask is not None:
            logits = logits.masked_fill(~action_mask.bool(), -1e9)
        return logits, self.value_head(s).squeeze(-1)


def build_model(cfg: PlannerConfig, tokenizer: PlanTokenizer) -> PlannerLM:
    """A freshly initialised :class:`PlannerLM` sized by ``cfg``."""
    return PlannerLM(vocab_size=len(tokenizer), n_layer=cfg.n_layer, n_head=cfg.n_head,
                     n_embd=cfg.n_embd, max_tokens=cfg.max_tokens, dropout=cfg.dropout)


def save_checkpoint(path: str | Path, model: PlannerLM, tokenizer: PlanTokenizer,
                    cfg: PlannerConfig, meta: dict[str, Any] | None = None) -> Path:
    """Write model weights, tokenizer vocabulary and config to one ``.pt`` file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": asdict(cfg),
        "tokenizer": tokenizer.to_dict(),
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(doc, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | Path) -> tuple[PlannerLM, PlanTokenizer, PlannerConfig, dict]:
    """Load a checkpoint written by :func:`save_checkpoint` (model in eval mode).

    Raises:
        ModelNotAvailable: the file does not exist.
        InvalidFileError: the file is not a readable planner checkpoint.
    """
    from embodied_collab.config import config_from_dict

    path = Path(path)
    if not path.is_file():
        raise ModelNotAvailable(f"planner checkpoint not found: {path}")
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise InvalidFileError(f"not a readable planner checkpoint ({type(exc).__name__}: "
                               f"{str(exc)[:200]})", path=str(path)) from None
    if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT:
        raise InvalidFileError("not a planner checkpoint (format field missing)", path=str(path))
    if doc.get("version") != CHECKPOINT_VERSION:
        raise InvalidFileError(f"unsupported checkpoint version {doc.get('version')!r}",
                               path=str(path), json_path="$.version")
    cfg = config_from_dict(PlannerConfig, doc.get("config"), source=str(path))
    tokenizer = PlanTokenizer.from_dict(doc.get("tokenizer"), source=str(path))
    model = build_model(cfg, tokenizer)
    try:
        model.load_state_dict(doc["state_dict"])
    except (KeyError, RuntimeError, TypeError) as exc:
        raise InvalidFileError(f"weights do not match the model: {str(exc)[:300]}",
                               path=str(path), json_path="$.state_dict") from None
    model.eval()
    return model, tokenizer, cfg, dict(doc.get("meta") or {})
