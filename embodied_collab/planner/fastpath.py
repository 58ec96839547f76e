"""The planner's single-observation decision path: entity mentions and grounding features of one
token sequence in a few numpy operations.

:meth:`PlannerLM.mentions` and :meth:`PlannerLM.grounding` compute the same features for a
padded batch with ~150 small torch operations, which at one sequence cost more than the
transformer itself (decision latency on one core). Here the features of one unpadded sequence
are first computed per token position (a (T, k) table of 0/1 values) and then pooled over each
entity's mentions with one matrix product; "the largest value over the mentions" of a 0/1
feature is "the pooled sum is positive". :meth:`PlannerLM.decide` uses them;
``tests/planner/test_fastpath.py`` checks that it gives the logits of :meth:`PlannerLM.forward`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from embodied_collab.planner.model import PlannerLM


def _shift(ids: np.ndarray, k: int) -> np.ndarray:
    """``ids`` moved ``k`` places right (``k`` > 0: the token ``k`` before) or left (``k`` < 0),
    zero-filled."""
    out = np.zeros_like(ids)
    if k > 0:
        out[k:] = ids[:-k] if k < len(ids) else ids[:0]
    else:
        out[:k] = ids[-k:] if -k < len(ids) else ids[:0]
    return out


def _first(flags: np.ndarray, default: int) -> int:
    """Index of the first True of ``flags``, ``default`` if none."""
    i = int(flags.argmax())
    return i if flags[i] else default


def _cummax_pos(flags: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """At every position, the last position at or before it where ``flags`` holds (else 0)."""
    return np.maximum.accumulate(np.where(flags, pos, 0))


def _token_set(ids: np.ndarray, span: np.ndarray, vocab: int, content: np.ndarray) -> np.ndarray:
    """(V,) bool: content tokens that occur in ``ids`` where ``span`` holds."""
    out = np.zeros(vocab, dtype=bool)
    out[ids[span]] = True
    return out & content


def mention_weights(ids: np.ndarray, action_tokens: np.ndarray, none_id: int) -> np.ndarray:
    """(A, T) 0/1 float32: where each action's entity is mentioned (as in
    :meth:`PlannerLM.mentions`: at its number token after its category; a room at its name)."""
    cat = action_tokens[:, 1:2]
    num = action_tokens[:, 2:3]
    prev = _shift(ids, 1)[None, :]
    cur = ids[None, :]
    match = np.where(num != none_id, (prev == cat) & (cur == num), cur == cat)
    match &= cat != none_id
    return match.astype(np.float32)


def _instruction(model: PlannerLM, ids: np.ndarray, pos: np.ndarray) -> tuple:
    """The instruction's parse: index of the first room-line boundary word, the instruction's
    positions (words after "not" excluded), its destination span, and the content words it
    names (all, in the source span "from ... to|and|onto|into", in the rest)."""
    boundary, content = model._special_np[0], model._special_np[1]
    vocab = len(content)
    not_id, from_id = model.marks[0], model.marks[5]
    first = _first(boundary[ids], len(ids))
    instr = (pos < first - 1) & (np.cumsum(ids == not_id) == 0)
    after_from = np.cumsum(ids == from_id) > 0
    ended = model._ends_np[ids] & after_from
    src = instr & after_from & (np.cumsum(ended) == 0) & (ids != from_id)
    dst = instr & ~src
    return (first, instr, dst, _token_set(ids, instr, vocab, content),
            _token_set(ids, src, vocab, content), _token_set(ids, dst, vocab, content))


def _graph_span(model: PlannerLM, ids: np.ndarray, pos: np.ndarray, first: int) -> tuple:
    """Position of "doors" and the scene graph's positions (room lines)."""
    doors_pos = _first(ids == model.marks2[2], len(ids))
    return doors_pos, (pos >= first - 1) & (pos < doors_pos)


def _destination(model: PlannerLM, ids: np.ndarray, cat_ids: np.ndarray, graph_weights, *,
                 dst, named_dst, room_ids, nxt) -> np.ndarray:
    """(A, 2) float32, features [20, 21]: the action's entity is the destination (furniture
    or room; its scene-graph room and its category are named in the destination span) and
    the instruction asks to put the object in it ("in|into the <furniture>") / on it."""
    rooms, furn = model._special_np[2], model._special_np[3]
    is_in = (ids == model.marks2[4]) | (ids == model.marks[9])
    put_in = float((dst & is_in & (nxt == model.the_id) & furn[_shift(ids, -2)]).any())
    dest_room = (graph_weights @ named_dst[room_ids].astype(np.float32)) > 0
    dest = (dest_room & named_dst[cat_ids] & (furn | rooms)[cat_ids]).astype(np.float32)
    return np.stack([dest * put_in, dest * (1.0 - put_in)], -1)


def closed_destination(model: PlannerLM, ids: np.ndarray, action_tokens: np.ndarray,
                       open_id: int) -> np.ndarray:
    """(A,) bool: the ``open`` actions of the destination when the instruction asks to put
    the object *on* it (feature [21]); opening it would put the object inside instead. The
    teacher never takes them."""
    rows = np.nonzero(action_tokens[:, 0] == open_id)[0]
    out = np.zeros(len(action_tokens), dtype=bool)
    if rows.size == 0:
        return out
    rooms = model._special_np[2]
    pos = np.arange(len(ids))
    first, _, dst, _, _, named_dst = _instruction(model, ids, pos)
    _, in_graph = _graph_span(model, ids, pos, first)
    sub = action_tokens[rows]
    weights = mention_weights(ids, sub, model.none_id) * in_graph
    room_ids = ids[_cummax_pos(rooms[ids], pos)]
    flags = _destination(model, ids, sub[:, 1], weights, dst=dst, named_dst=named_dst,
                         room_ids=room_ids, nxt=_shift(ids, -1))
    out[rows] = flags[:, 1] > 0
    return out


def grounding_features(model: PlannerLM, ids: np.ndarray, action_tokens: np.ndarray,
                       weights: np.ndarray, n_ground: int | None = None) -> np.ndarray:
    """(A, ``n_ground``) float32 (by default ``model.n_ground``): :meth:`PlannerLM.grounding`
    (with :meth:`PlannerLM._search_features` and the destination features for the larger
    sets) of one unpadded sequence ``ids`` (T,)."""
    sm = model._special_np
    boundary, content, rooms, furn, objs, nums, sizes = sm
    vocab = sm.shape[1]
    _, robot_id, at_id, open_id, close_id, _, *_ = model.marks
    t = len(ids)
    pos = np.arange(t)
    count = np.maximum(weights.sum(1, keepdims=True), 1.0)
    p1, p2, p3 = _shift(ids, 1), _shift(ids, 2), _shift(ids, 3)
    nxt = _shift(ids, -1)

    first, instr, dst, named, named_src, named_dst = _instruction(model, ids, pos)
    cat_ids = action_tokens[:, 1]
    room_pos = _cummax_pos(rooms[ids], pos)
    room_ids = ids[room_pos]
    is_fnum = furn[p1] & nums[ids]
    depth = np.cumsum(ids == open_id) - np.cumsum(ids == close_id)
    is_onum = objs[p1] & nums[ids] & (depth > 0)
    owner = _cummax_pos(is_fnum, pos)
    cat_ok = named[p1] & is_onum
    full_ok = cat_ok & named[p2] & named[p3]
    contains = np.zeros((2, t), dtype=bool)  # set-only writes: repeated indices are fine
    contains[0, owner[cat_ok]] = True
    contains[1, owner[full_ok]] = True
    is_robot = (ids == robot_id) & (_shift(ids, -2) == at_id)
    found = bool(is_robot.any())
    rp = _first(is_robot, 0)
    at_cat = ids[min(rp + 3, t - 1)]
    at_num = ids[min(rp + 4, t - 1)]
    at_here = is_fnum & found & (p1 == at_cat) & (ids == at_num)
    owner_here = at_here[owner] & is_onum

    # per-position features pooled as means: [0:3] colour/size words and room named, [3:5] its
    # room named in the source / destination span
    mean_cols = [named[p2], named[p3], named[room_ids], named_src[room_ids],
                 named_dst[room_ids]]
    # pooled as "any mention": [0:2] furniture listing a (fully) matching object, robot at it,
    # robot at this object's furniture
    any_cols = [contains[0], contains[1], at_here, owner_here]
    per_action = [named[cat_ids], named_src[cat_ids], named_dst[cat_ids]]

    n_ground = model.n_ground if n_ground is None else n_ground
    search = n_ground > 12
    relation = n_ground > 20
    if search:
        closed_id, explored_id, _, dash_id, in_id, holding_id, nothing_id = model.marks2
        doors_pos, in_graph = _graph_span(model, ids, pos, first)
        after_robot = (pos > rp) & found
        cand = after_robot & (p1 == in_id) & rooms[ids]
        robot_room = ids[_first(cand, 0)] if cand.any() else 0
        same_room = (room_ids == robot_room) & (robot_room > 0)
        dash = (ids == dash_id) & (pos > doors_pos) & rooms[p1] & rooms[nxt]
        adj = np.zeros(vocab, dtype=bool)
        adj[nxt[dash & (p1 == robot_room)]] = True
        adj[p1[dash & (nxt == robot_room)]] = True
        adj[0] = False
        has_size = bool((instr & sizes[ids]).any())
        match = objs[p1] & nums[ids] & named[p1] & named[p2] & (named[p3] | (not has_size))
        listed = match & (depth > 0) & in_graph
        owner_f = np.zeros(t, dtype=bool)
        owner_f[owner[listed]] = True
        place_cols = [nxt == closed_id, ids[np.minimum(room_pos + 1, t - 1)] == explored_id,
                      same_room, adj[room_ids]]
        holds_any = bool((after_robot & (ids == holding_id) & (nxt != nothing_id)).any())
        holds_match = bool((after_robot & match).any())
        seen = bool(listed.any())

    cols = mean_cols + any_cols + ([owner_f | listed] + place_cols if search else [])
    table = np.stack(cols, -1).astype(np.float32)  # (T, k)
    pooled = weights @ table  # (A, k): mention counts
    means = pooled[:, :5] / count
    anys = (pooled[:, 5:9] > 0).astype(np.float32)
    a = len(action_tokens)
    out = [per_action[0][:, None], means[:, :3], anys, means[:, 3:5], per_action[1][:, None],
           per_action[2][:, None]]
    if search:
        gw = weights * in_graph
        graph_pooled = gw @ table[:, 9:]  # (A, 5): own_or_self, closed, explored, room, door
        place = graph_pooled[:, 1:] / np.maximum(gw.sum(1, keepdims=True), 1.0)
        flags = np.array([seen, holds_match, holds_any], dtype=np.float32)
        out += [place, np.full((a, 1), flags[0], np.float32),
                (graph_pooled[:, :1] > 0), np.broadcast_to(flags[1:], (a, 2))]
    if relation:  # the destination, to be put in it / on it
        out += list(_destination(model, ids, cat_ids, gw, dst=dst, named_dst=named_dst,
                                 room_ids=room_ids, nxt=nxt).T[:, :, None])
    return np.concatenate([np.asarray(o, dtype=np.float32) for o in out], -1)
