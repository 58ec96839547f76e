"""The planner SLM: a small GPT-2-style decoder trained from scratch, with action and value heads.

The model reads the token ids of the serialised instruction + observed scene graph + action
history; the hidden state of the last token is the decision state. Each candidate action (a
verb + an entity id, tokenised to three ids) is scored from four things: the decision state,
an embedding of the action's own tokens, the contextual hidden states at the places where
the text mentions that entity (a pointer into the scene graph; an entity the text never
mentions, such as an unobserved object, gets none), and instruction-grounding features read
from the token ids (:meth:`PlannerLM.grounding`). Scoring by content rather than by slot
number is what lets the policy generalise to the entity ids of unseen layouts. A value head on
the decision state serves PPO.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
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
#: Token-id sets of the tokenizer (:meth:`PlanTokenizer.special_sets`) the grounding reads.
SPECIAL_ROWS = ("boundary", "content", "rooms", "furniture", "objects", "numbers", "sizes")
#: Instruction-grounding features per candidate action (see :meth:`PlannerLM.grounding`).
N_GROUND = 22
#: The first generation's feature count (checkpoints store theirs as ``ground.weight``'s width).
N_GROUND_V1 = 12
#: The second generation's (search features, no placing relation).
N_GROUND_V2 = 20


class DecodeCache:
    """What :meth:`PlannerLM.decide` keeps of the previous observation of an episode: its token
    ids, per-layer attention keys and values, and final hidden states. Valid for one model's
    current weights (it notices in-place changes); :meth:`clear` it between episodes or not."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.ids: torch.Tensor | None = None
        self.kv: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.hidden: torch.Tensor | None = None
        self.version: tuple[int, ...] | None = None
        self.actions: dict[bytes, torch.Tensor] = {}  # projected action rows per slot table

    def shared_prefix(self, ids: torch.Tensor, version: tuple[int, ...]) -> int:
        """How many leading tokens ``ids`` (T,) shares with the cached sequence."""
        if version != self.version:
            self.clear()
            return 0
        if self.ids is None:
            return 0
        n = min(len(self.ids), len(ids))
        same = self.ids[:n] == ids[:n]
        return n if bool(same.all()) else int(same.to(torch.uint8).argmin())

    def store(self, ids: torch.Tensor, kv: list[tuple[torch.Tensor, torch.Tensor]],
              hidden: torch.Tensor, version: tuple[int, ...]) -> None:
        self.ids, self.kv, self.hidden, self.version = ids, kv, hidden, version
        if len(self.actions) > 64:
            self.actions.clear()


class PlannerLM(nn.Module):
    """Decoder-only transformer policy over candidate actions.

    Args:
        vocab_size: tokenizer size.
        n_layer, n_head, n_embd, max_tokens, dropout: see :class:`PlannerConfig`.
    """

    def __init__(self, *, vocab_size: int, n_layer: int, n_head: int, n_embd: int,
                 max_tokens: int, dropout: float = 0.0,
                 special: dict[str, list[int]] | None = None, n_ground: int = N_GROUND) -> None:
        super().__init__()
        if n_ground not in (N_GROUND_V1, N_GROUND_V2, N_GROUND):
            raise ValueError(f"n_ground must be {N_GROUND_V1}, {N_GROUND_V2} or {N_GROUND}, "
                             f"got {n_ground}")
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
        special = special or {}
        self.special = {k: list(v) for k, v in special.items()}
        vec = torch.zeros(len(SPECIAL_ROWS), vocab_size, dtype=torch.bool)
        for row, key in enumerate(SPECIAL_ROWS):
            vec[row, [i for i in special.get(key, []) if i < vocab_size]] = True
        self.register_buffer("special_mask", vec, persistent=False)
        self._special_np = vec.numpy().copy()  # the same sets for the decision path (fastpath)
        marks = list(special.get("marks", []))
        self.marks = marks if len(marks) == 10 else [-1] * 10  # see PlanTokenizer.special_sets
        self._ends_np = np.zeros(vocab_size, dtype=bool)  # the marks that end a source span
        self._ends_np[[i for i in self.marks[6:] if 0 <= i < vocab_size]] = True
        marks2 = list(special.get("marks2", []))
        self.marks2 = marks2 if len(marks2) == 7 else [-1] * 7
        the = list(special.get("the", []))
        self.the_id = the[0] if len(the) == 1 else -1
        self.n_ground = n_ground
        self.ground = nn.Linear(n_ground, n_embd)
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
        if ids.shape[0] == 1 and not self.training and not torch.is_grad_enabled():
            hidden = self._decode_one(ids)  # one unpadded sequence at decision time
        else:
            hidden = self.gpt(input_ids=ids, attention_mask=mask).last_hidden_state
        return hidden, ids, hidden[torch.arange(ids.shape[0]), lengths - 1]

    def _decode_one(self, ids: torch.Tensor, cache: DecodeCache | None = None) -> torch.Tensor:
        """The GPT-2 stack's last hidden states for a single sequence without padding, computed
        directly from its weights: the same arithmetic as ``self.gpt`` (pre-LN blocks, causal
        attention, tanh-GELU) without the general model's mask building and module dispatch,
        which cost more than the maths at this size (decision latency on one core).

        With a ``cache`` (one per episode, :class:`DecodeCache`), the positions the sequence
        shares with the previous one (the instruction and the unchanged part of the scene
        graph) are not recomputed: causal attention makes their keys, values and hidden states
        independent of what follows; only the new tail is."""
        import torch.nn.functional as F  # noqa: N812

        wte, wpe, heads, layers, ln_f = self._stack()
        t = ids.shape[1]
        start = 0
        version = None
        if cache is not None:
            version = self._weights_version()
            start = cache.shared_prefix(ids[0], version)
            if start == t:
                return cache.hidden[:t].unsqueeze(0)
        s = t - start
        x = F.embedding(ids[0, start:], wte) + wpe[start:t]  # (S, d)
        d = x.shape[-1]
        hd = d // heads
        scale = hd ** -0.5
        causal = torch.full((s, t), float("-inf")).triu(start + 1)
        kv: list[tuple[torch.Tensor, torch.Tensor]] = []
        for i, (ln1, w_qkv, b_qkv, w_o, b_o, ln2, w_fc, b_fc, w_pr, b_pr) in enumerate(layers):
            h = F.layer_norm(x, (d,), *ln1)
            qkv = torch.addmm(b_qkv, h, w_qkv)  # (S, 3d)
            q, k, v = (z.view(s, heads, hd).transpose(0, 1) for z in qkv.split(d, -1))
            if start:
                pk, pv = cache.kv[i]
                k = torch.cat([pk[:, :start], k], 1)
                v = torch.cat([pv[:, :start], v], 1)
            kv.append((k, v))
            # causal softmax attention written out: at T ~ 100 and 4 heads this is ~3x faster
            # on one CPU thread than F.scaled_dot_product_attention (which gives the same values)
            scores = torch.baddbmm(causal, q, k.transpose(1, 2), alpha=scale)
            y = torch.softmax(scores, -1) @ v
            y = y.transpose(0, 1).reshape(s, d)
            x = x + torch.addmm(b_o, y, w_o)
            h = F.layer_norm(x, (d,), *ln2)
            h = F.gelu(torch.addmm(b_fc, h, w_fc), approximate="tanh")
            x = x + torch.addmm(b_pr, h, w_pr)
        out = F.layer_norm(x, (d,), *ln_f)
        if cache is not None:
            hidden = torch.cat([cache.hidden[:start], out]) if start else out
            cache.store(ids[0], kv, hidden, version)
            return hidden.unsqueeze(0)
        return out.unsqueeze(0)

    def _stack(self) -> tuple:
        """The GPT-2 weights :meth:`_decode_one` reads, gathered once (module attribute lookups
        cost more than the arithmetic here). They are the parameters themselves, which
        optimiser steps and ``load_state_dict`` update in place."""
        stack = self.__dict__.get("_stack_cache")
        if stack is None:
            g = self.gpt

            def ln(m: nn.LayerNorm) -> tuple:
                return m.weight, m.bias, m.eps

            layers = [(ln(b.ln_1), b.attn.c_attn.weight, b.attn.c_attn.bias, b.attn.c_proj.weight,
                       b.attn.c_proj.bias, ln(b.ln_2), b.mlp.c_fc.weight, b.mlp.c_fc.bias,
                       b.mlp.c_proj.weight, b.mlp.c_proj.bias) for b in g.h]
            stack = (g.wte.weight, g.wpe.weight, g.config.n_head, layers, ln(g.ln_f))
            self.__dict__["_stack_cache"] = stack
            self.__dict__["_param_list"] = list(self.parameters())
        return stack

    def _weights_version(self) -> tuple[int, ...]:
        """Changes whenever a parameter is modified in place (an optimiser step, loading)."""
        self._stack()
        return tuple(p._version for p in self.__dict__["_param_list"])

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
        return pooled, (count > 0).float(), weights, count

    def grounding(self, ids: torch.Tensor, action_tokens: torch.Tensor, weights: torch.Tensor,
                  count: torch.Tensor) -> torch.Tensor:
        """(B, A, :data:`N_GROUND`) instruction-match features of each action's entity, from
        token ids only, in this order: [0] its category is named in the instruction; [1, 2] the
        two words before its mention (colour, size) are named there; [3] the room line it is
        listed in is named there; [4, 5] it is furniture listing an object whose category
        (and both words before it) are named; [6] the robot is at this furniture; [7] the
        robot is at the furniture listing this object; [8, 9] its room is named in the
        instruction's source span ("from ... to|and|onto|into") / elsewhere in it (the
        destination); [10, 11] likewise its category. Words after "not" count as unnamed.
        [12-19]: :meth:`_search_features`. [20, 21] it is the destination (its room and
        category are named in the destination span) and the instruction asks to put the object
        in it ("in/into the <furniture>") / on it (otherwise). Older checkpoints use the first
        12 or 20 features."""
        b, t = ids.shape
        boundary, content, rooms, furn, objs, nums = self.special_mask[:6]
        not_id, robot_id, at_id, open_id, close_id, from_id, *ends = self.marks
        into_id = ends[-1]
        pos = torch.arange(t, device=ids.device).expand(b, t)
        is_b = boundary[ids]
        first = torch.where(is_b.any(1), is_b.float().argmax(1), torch.full_like(ids[:, 0], t))
        instr = pos < (first - 1).unsqueeze(1)  # the instruction: before "<room> explored"
        # "..., not the small one": words after "not" name the distractor, not the target
        instr &= (ids == not_id).long().cumsum(1) == 0
        named = torch.zeros(b, self.special_mask.shape[1], dtype=torch.bool, device=ids.device)
        named.scatter_(1, torch.where(instr, ids, torch.zeros_like(ids)), instr)
        named &= content
        # "from the <source> to/and/onto/into ... <destination>": split the instruction's words
        after_from = (ids == from_id).long().cumsum(1) > 0
        ended = (torch.isin(ids, torch.tensor(ends, device=ids.device)) & after_from)
        src = instr & after_from & (ended.long().cumsum(1) == 0) & (ids != from_id)
        dst = instr & ~src

        def named_in(span: torch.Tensor) -> torch.Tensor:
            out = torch.zeros_like(named)
            out.scatter_(1, torch.where(span, ids, torch.zeros_like(ids)), span)
            return out & content

        named_src, named_dst = named_in(src), named_in(dst)
        if action_tokens.dim() == 2:
            action_tokens = action_tokens.unsqueeze(0).expand(b, -1, -1)
        f_cat = named.gather(1, action_tokens[..., 1]).float()  # (B, A)

        def shifted(k: int) -> torch.Tensor:
            return torch.cat([torch.zeros_like(ids[:, :k]), ids[:, :-k]], dim=1)

        room_pos = torch.where(rooms[ids], pos, torch.zeros_like(pos)).cummax(1).values
        per_pos = torch.stack([named.gather(1, shifted(2)), named.gather(1, shifted(3)),
                               named.gather(1, ids.gather(1, room_pos))], -1).float()
        room_ids = ids.gather(1, room_pos)
        per_span = torch.stack([named_src.gather(1, room_ids), named_dst.gather(1, room_ids)],
                               -1).float()
        pooled = weights @ torch.cat([per_pos, per_span], -1) / count.clamp(min=1.0)  # (B,A,5)
        cat_ids = action_tokens[..., 1]
        f_span = torch.stack([named_src.gather(1, cat_ids), named_dst.gather(1, cat_ids)],
                             -1).float()  # (B, A, 2): category named as source / destination
        # scene-graph structure: which furniture lists a matching object, where the robot is
        p1, p2, p3 = shifted(1), shifted(2), shifted(3)
        is_fnum = furn[p1] & nums[ids]  # the number token of a furniture id
        depth = (ids == open_id).long().cumsum(1) - (ids == close_id).long().cumsum(1)
        is_onum = objs[p1] & nums[ids] & (depth > 0)  # an object listed inside [...]
        owner = torch.where(is_fnum, pos, torch.zeros_like(pos)).cummax(1).values
        cat_ok = named.gather(1, p1) & is_onum
        full_ok = cat_ok & named.gather(1, p2) & named.gather(1, p3)
        obj_score = torch.stack([cat_ok, full_ok], -1).float()  # (B, T, 2)
        contains = torch.zeros_like(obj_score).scatter_reduce(
            1, owner.unsqueeze(-1).expand(-1, -1, 2), obj_score, reduce="amax")
        ahead = torch.cat([ids[:, 2:], torch.zeros_like(ids[:, :2])], 1)
        is_robot = (ids == robot_id) & (ahead == at_id)  # "robot : at <furniture id>"
        found = is_robot.any(1, keepdim=True)
        rp = is_robot.float().argmax(1, keepdim=True)
        at_cat = ids.gather(1, (rp + 3).clamp(max=t - 1))
        at_num = ids.gather(1, (rp + 4).clamp(max=t - 1))
        at_here = is_fnum & found & (p1 == at_cat) & (ids == at_num)
        owner_here = at_here.gather(1, owner) & is_onum
        struct = torch.cat([contains, at_here.unsqueeze(-1).float(),
                            owner_here.unsqueeze(-1).float()], -1)  # (B, T, 4)
        struct_max = (weights.unsqueeze(-1) * struct.unsqueeze(1)).amax(-2)  # (B, A, 4)
        out = torch.cat([f_cat.unsqueeze(-1), pooled[..., :3], struct_max, pooled[..., 3:],
                         f_span], -1)
        if self.n_ground == N_GROUND_V1:
            return out
        out = torch.cat([out, self._search_features(
            ids, weights, pos=pos, first=first, named=named, instr=instr, room_pos=room_pos,
            shifted=shifted, is_robot=is_robot, rp=rp, depth=depth)], -1)
        if self.n_ground == N_GROUND_V2:
            return out
        # [20, 21] the destination (a furniture or room whose room and category are named in
        # the destination span) when
        # the instruction asks to put the object "in"/"into" it / on it ("on", "onto", "to")
        nxt = torch.cat([ids[:, 1:], torch.zeros_like(ids[:, :1])], 1)
        is_in = (ids == self.marks2[4]) | (ids == into_id)
        put_in = (dst & is_in & (nxt == self.the_id) & furn[ahead]).any(1).float()  # (B,)
        # its room in the scene graph (not where the robot line or history mention it) is
        # named in the destination span, and so is its category; furniture and rooms only
        is_doors = ids == self.marks2[2]
        doors_pos = torch.where(is_doors.any(1), is_doors.float().argmax(1),
                                torch.full_like(ids[:, 0], t))
        in_graph = (pos >= (first - 1).unsqueeze(1)) & (pos < doors_pos.unsqueeze(1))
        graph_room = named_dst.gather(1, room_ids) & in_graph  # (B, T)
        dest_room = (weights @ graph_room.float().unsqueeze(-1)).squeeze(-1) > 0
        place_cat = (furn | rooms)[action_tokens[..., 1]]
        dest = (dest_room & place_cat).float() * out[..., 11]  # (B, A)
        put_in = put_in.view(b, 1)
        return torch.cat([out, (dest * put_in).unsqueeze(-1),
                          (dest * (1.0 - put_in)).unsqueeze(-1)], -1)

    def _search_features(self, ids, weights, *, pos, first, named, instr, room_pos, shifted,
                         is_robot, rp, depth) -> torch.Tensor:
        """(B, A, 8) features for search and attribute tasks (the mention's own state comes
        after it in the text, which a causal model cannot see from the mention): [12] the
        container is closed; [13] its room is explored; [14] its room is the robot's room;
        [15] its room shares a door with the robot's room; [16] an observed object matches the
        instruction's description (category, colour, and size if one is named) (the same for
        every action); [17] this object matches it, or this furniture lists one that does;
        [18] the robot holds a matching object; [19] the robot holds something."""
        b, t = ids.shape
        rooms, objs, nums, sizes = (self.special_mask[i] for i in (2, 4, 5, 6))
        closed_id, explored_id, doors_id, dash_id, in_id, holding_id, nothing_id = self.marks2
        p1, p2, p3 = shifted(1), shifted(2), shifted(3)
        is_doors = ids == doors_id
        doors_pos = torch.where(is_doors.any(1), is_doors.float().argmax(1),
                                torch.full_like(ids[:, 0], t))
        in_graph = (pos >= (first - 1).unsqueeze(1)) & (pos < doors_pos.unsqueeze(1))
        # the scene graph's own mention of each entity (rooms: their line's first word)
        gw = weights * in_graph.unsqueeze(1).float()
        gcount = gw.sum(-1, keepdim=True).clamp(min=1.0)
        room_ids = ids.gather(1, room_pos)
        nxt = torch.cat([ids[:, 1:], torch.zeros_like(ids[:, :1])], 1)
        is_closed = nxt == closed_id
        explored = ids.gather(1, (room_pos + 1).clamp(max=t - 1)) == explored_id
        # the robot's room: the room word after "robot : at ... in"
        after_robot = (pos > rp) & is_robot.any(1, keepdim=True)
        cand = after_robot & (p1 == in_id) & rooms[ids]
        robot_room = torch.where(cand.any(1), ids.gather(1, cand.float().argmax(1, keepdim=True))
                                 .squeeze(1), torch.zeros_like(ids[:, 0]))
        same_room = (room_ids == robot_room.unsqueeze(1)) & (robot_room.unsqueeze(1) > 0)
        # doors "a-b": the rooms next to the robot's
        dash = (ids == dash_id) & (pos > doors_pos.unsqueeze(1)) & rooms[p1] & rooms[nxt]
        rr = robot_room.unsqueeze(1)
        adj = torch.zeros(b, self.special_mask.shape[1], dtype=torch.bool, device=ids.device)
        left, right = dash & (p1 == rr), dash & (nxt == rr)
        zero = torch.zeros_like(ids)
        adj.scatter_(1, torch.where(left, nxt, zero), left)  # only column 0 gets False
        adj.scatter_(1, torch.where(right, p1, zero), right)
        adj[:, 0] = False
        next_room = adj.gather(1, room_ids)
        per_pos = torch.stack([is_closed, explored, same_room, next_room], -1).float()
        place = (gw @ per_pos) / gcount  # (B, A, 4)
        # objects matching the description: category, colour, size (if the instruction has one)
        has_size = (instr & sizes[ids]).any(1, keepdim=True)
        is_obj = objs[p1] & nums[ids]
        match = is_obj & named.gather(1, p1) & named.gather(1, p2) & (
            named.gather(1, p3) | ~has_size)
        listed = match & (depth > 0) & in_graph
        seen = listed.any(1).float()  # (B,)
        owner_f = torch.zeros(b, t, dtype=torch.float, device=ids.device)
        # furniture listing a match: the last furniture id before a listed match
        fnum = self.special_mask[3][p1] & nums[ids]
        owner = torch.where(fnum, pos, torch.zeros_like(pos)).cummax(1).values
        owner_f.scatter_reduce_(1, owner, listed.float(), reduce="amax")
        own_or_self = torch.maximum(owner_f, listed.float())
        f_match = (gw * own_or_self.unsqueeze(1)).amax(-1)  # (B, A)
        hold_pos = after_robot & (ids == holding_id)
        holds_any = (hold_pos & (nxt != nothing_id)).any(1).float()
        holds_match = (after_robot & match).any(1).float()
        a = weights.shape[1]

        def every(v: torch.Tensor) -> torch.Tensor:
            return v.view(b, 1, 1).expand(b, a, 1)

        return torch.cat([place, every(seen), f_match.unsqueeze(-1), every(holds_match),
                          every(holds_any)], -1)

    def decide(self, ids: list[int] | np.ndarray, action_tokens: torch.Tensor,
               action_mask: torch.Tensor | None = None,
               action_np: np.ndarray | None = None,
               cache: DecodeCache | None = None) -> torch.Tensor:
        """Action logits (A,) of one unpadded observation at decision time (inference only):
        the logits of :meth:`forward` for a batch of one, with the mention and grounding
        features computed by :mod:`embodied_collab.planner.fastpath` (a few numpy operations
        instead of ~150 small tensor operations) and no value head.

        Args:
            ids: the observation's token ids (no padding).
            action_tokens: (A, 3) candidate actions; ``action_np``: the same as a numpy array
                (pass it to skip the conversion when the table is reused).
            action_mask: optional (A,) bool; False entries get a very low logit.
            cache: the episode's :class:`DecodeCache` (the shared prefix of consecutive
                observations is not recomputed).
        """
        from embodied_collab.planner import fastpath

        ids_np = np.asarray(ids, dtype=np.int64)
        at_np = action_tokens.numpy() if action_np is None else action_np
        weights = fastpath.mention_weights(ids_np, at_np, self.none_id)
        feats = fastpath.grounding_features(self, ids_np, at_np, weights)
        hidden = self._decode_one(torch.from_numpy(ids_np)[None], cache)[0]  # (T, d)
        w = torch.from_numpy(weights)
        count = w.sum(-1, keepdim=True)
        pooled = w @ hidden / count.clamp(min=1.0)
        present = (count > 0).float()
        g = self.ground(torch.from_numpy(feats))
        a = None if cache is None else cache.actions.get(at_np.tobytes())
        if a is None:  # the action rows depend on the slot table and the weights only
            a = self.act_proj(self.gpt.wte(action_tokens).flatten(-2))
            if cache is not None:
                cache.actions[at_np.tobytes()] = a
        m = self.mention_proj(pooled) + (1.0 - present) * self.absent
        logits = self.score(self.query(hidden[-1]) + a + m + g).squeeze(-1)
        if action_mask is not None:
            logits = logits.masked_fill(~action_mask.bool(), -1e9)
        return logits

    def forward(self, ids: torch.Tensor, action_tokens: torch.Tensor,
                action_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Action logits (B, A) and values (B,).

        Args:
            ids: (B, T) token ids, right-padded with 0.
            action_tokens: (A, 3) shared or (B, A, 3) per-sample candidate actions.
            action_mask: optional (B, A) bool; False entries get a very low logit.
        """
        hidden, ids, s = self.encode(ids)
        pooled, present, weights, count = self.mentions(hidden, ids, action_tokens)
        g = self.ground(self.grounding(ids, action_tokens, weights, count))
        a = self.act_proj(self.gpt.wte(action_tokens).flatten(-2))  # (A|B, A, d)
        if a.dim() == 2:
            a = a.unsqueeze(0)
        m = self.mention_proj(pooled) + (1.0 - present) * self.absent
        logits = self.score(self.query(s).unsqueeze(1) + a + m + g).squeeze(-1)
        if action_mask is not None:
            logits = logits.masked_fill(~action_mask.bool(), -1e9)
        return logits, self.value_head(s).squeeze(-1)


def build_model(cfg: PlannerConfig, tokenizer: PlanTokenizer,
                n_ground: int | None = None) -> PlannerLM:
    """A freshly initialised :class:`PlannerLM` sized by ``cfg`` (``n_ground``: grounding
    features, by default from ``cfg.search_features``; :data:`N_GROUND_V1` is the first
    feature set)."""
    if n_ground is None:
        n_ground = N_GROUND if getattr(cfg, "search_features", True) else N_GROUND_V1
    return PlannerLM(vocab_size=len(tokenizer), n_layer=cfg.n_layer, n_head=cfg.n_head,
                     n_embd=cfg.n_embd, max_tokens=cfg.max_tokens, dropout=cfg.dropout,
                     special=tokenizer.special_sets(), n_ground=n_ground)


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
    try:
        n_ground = int(doc["state_dict"]["ground.weight"].shape[1])
        model = build_model(cfg, tokenizer, n_ground=n_ground)
        model.load_state_dict(doc["state_dict"])
    except (KeyError, RuntimeError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise InvalidFileError(f"weights do not match the model: {str(exc)[:300]}",
                               path=str(path), json_path="$.state_dict") from None
    model.eval()
    return model, tokenizer, cfg, dict(doc.get("meta") or {})
