"""Teachers that label planning states with an action: the privileged oracle and the cloud LLM.

A teacher is called with the planning env (its unwrapped state is the privileged view the
oracle reads) and the step's ``info`` (``info["text"]`` is what the LLM reads, like the
student). It returns an action slot index of the env.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import gymnasium as gym

from embodied_collab.errors import LinkUnavailable
from embodied_collab.sim.planning_episode import MAX_ROOMS

logger = logging.getLogger(__name__)


class Teacher(Protocol):
    """Labels the state an env is in with an action slot."""

    name: str

    def act(self, env: gym.Env, info: dict[str, Any]) -> int | str: ...


class OracleTeacher:
    """The privileged planner: reads the ground-truth world and the task of the env.

    The oracle plans from an empty gripper or one holding the target. In states only a student
    reaches (holding the wrong object) the label is to put that object down: ``place`` where
    the robot stands if it can, else ``navigate`` to a surface in the same room. States with no
    sensible label (e.g. the destination was opened although the goal is "on" it) get
    ``None``: the caller executes the student's action and learns nothing there.

    With ``explore`` (the default) the teacher does not use what the student cannot know:
    while the target object is unobserved and the instruction does not say where it is (search
    and attribute tasks), the label is the nearest search step, as the student could take it:
    ``open`` the closed container the robot stands at, else ``navigate`` to the nearest closed
    container or unexplored room (never the destination). Labels that need hidden knowledge
    (walking straight to the container a hidden object is in) cannot be learnt from the text
    and teach the student to guess.
    """

    name = "oracle"

    def __init__(self, *, explore: bool = True) -> None:
        self._policy = None
        self.explore = explore

    def act(self, env: gym.Env, info: dict[str, Any]) -> int | None:
        from embodied_collab.errors import InvalidInputError
        from embodied_collab.sim.oracle import OraclePolicy

        base = env.unwrapped
        if self._policy is None:
            self._policy = OraclePolicy()
        if self.explore:
            step = search_step(base)
            if step is not None:
                return step
        try:
            return int(self._policy(base))
        except InvalidInputError:
            return self._recover(base)

    @staticmethod
    def _recover(base) -> int | None:
        ep = base.episode
        world = ep.world
        goal = ep.task.goal
        held = world.robot.holding
        if held is None or (goal is not None and held == goal.object):
            return None
        at = ep._place_id(ep.place)
        codec = base.codec
        if at in codec.furn_slot:
            f = world.furniture_by_id(at)
            if f.surface or (f.container and f.open):
                return int(codec.encode(f"place {at}"))
        room = ep.scene.robot_room()
        for f in world.furniture:
            if f.room == room and f.surface and not f.container and f.id != at:
                return int(codec.encode(f"navigate {f.id}"))
        return None


SYSTEM_PROMPT = (
    "You control a household robot with high-level actions. Each turn you get the instruction, "
    "the scene graph the robot has observed so far, and the recent actions. Objects inside "
    "closed containers are unseen until the container is opened; unexplored rooms may hold "
    "objects. Actions: 'navigate <room or furniture id>', 'open <container id>', "
    "'pick <object id>' (robot must be at the object's furniture), 'place <furniture id>' "
    "(robot must be at it, holding the object), 'done' (when the instruction is fulfilled). "
    'Answer with JSON {"action": "<one action>"} only.'
)


def llm_messages(text: str, candidates: list[str]) -> list[dict[str, str]]:
    """The chat messages the LLM teacher sends for one state."""
    user = f"{text}\n\nPossible actions: {', '.join(candidates)}\nNext action?"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def parse_action(content: str) -> str | None:
    """The action string of an LLM reply (JSON ``{"action": ...}`` or bare text), or None."""
    content = content.strip()
    try:
        doc = json.loads(content[content.find("{"): content.rfind("}") + 1])
        if isinstance(doc, dict) and isinstance(doc.get("action"), str):
            return doc["action"].strip()
    except (ValueError, TypeError):
        pass
    line = content.splitlines()[0].strip().strip('"') if content else ""
    return line or None


class LLMTeacher:
    """The cloud LLM as a teacher, over any OpenAI-compatible chat-completions endpoint.

    Args:
        base_url: API root, e.g. ``http://127.0.0.1:8080/v1``.
        deadline_s: deadline of one call.
        cloud_config: overrides for :class:`embodied_collab.cloud.config_cloud.CloudConfig`.

    An unparseable reply, or an action naming nothing of the world, is returned as text: the
    env executes and penalises it as in SmallPlan, and distillation does not learn from it.
    """

    name = "llm"

    def __init__(self, base_url: str, *, deadline_s: float = 30.0,
                 cloud_config: dict[str, Any] | None = None) -> None:
        from embodied_collab.cloud.client import ChatClient
        from embodied_collab.cloud.config_cloud import CloudConfig

        overrides = dict(cloud_config or {})
        overrides.setdefault("max_tokens", 32)
        overrides.setdefault("deadline_s", deadline_s)
        self.cfg = CloudConfig(base_url=base_url, **overrides)
        self.client = ChatClient(self.cfg)
        self.calls = 0
        self.failures = 0
        self.latencies_s: list[float] = []

    def choose(self, text: str, candidates: list[str]) -> str | None:
        """The action string the LLM picks for ``text`` among ``candidates`` (None on failure)."""
        schema = {
            "type": "object",
            "properties": {"action": {"type": "string", "enum": candidates}},
            "required": ["action"],
            "additionalProperties": False,
        }
        self.calls += 1
        try:
            reply = self.client.chat(llm_messages(text, candidates), json_schema=schema)
        except LinkUnavailable as exc:
            self.failures += 1
            logger.warning("LLM teacher call failed: %s", exc)
            return None
        self.latencies_s.append(reply.latency_s)
        return parse_action(reply.content)

    def act(self, env: gym.Env, info: dict[str, Any]) -> int | str:
        """The action slot the LLM picks, or its reply text when that names no slot."""
        from embodied_collab.planner.obs import slot_strings

        slots = slot_strings(env)
        mask = info.get("action_mask")
        candidates = [s for i, s in enumerate(slots) if s and (mask is None or mask[i])]
        choice = self.choose(info["text"], candidates or [s for s in slots if s])
        return encode_or_invalid(env, choice)


def search_step(base) -> int | None:
    """The next search action of a planning env whose target is unobserved and not located by
    the instruction, using only what the robot has observed; ``None`` when no search is
    needed (or the robot holds something)."""
    from embodied_collab.sim.catalog import display_name

    ep = base.episode
    goal = ep.task.goal
    world = ep.world
    if goal is None or world.robot.holding is not None or goal.object in ep.scene.observed:
        return None
    obj = world.object_by_id(goal.object)
    if obj.support is not None:
        src = world.furniture_by_id(obj.support)
        phrase = f"{src.name} in the {display_name(world.room(src.room).type)}"
        if phrase.lower() in ep.task.instruction.lower() and src.id != goal.target:
            return None  # the instruction says where it is: the oracle's way is observable
    codec = base.codec
    fp = ep.furniture_place
    # the destination is never searched: the target does not start there, and opening it
    # would spoil placing "on" it
    dest = codec.furn_slot.get(goal.target, -1) if goal.target else -1
    if fp >= 0 and fp != dest and ep.places.container[fp] and not ep.open[fp]:
        return int(codec.encode(f"open {codec.furniture[fp]}"))
    row = ep.places.dist_rows[ep.place]
    best, best_d = None, float("inf")
    for i, fid in enumerate(codec.furniture):
        if i != dest and ep.places.container[i] and not ep.open[i]:
            d = row[1 + MAX_ROOMS + i]
            if d < best_d:
                best, best_d = f"navigate {fid}", d
    for i, rid in enumerate(codec.rooms):
        if not ep.explored[i]:
            d = row[1 + i]
            if d < best_d:
                best, best_d = f"navigate {rid}", d
    return None if best is None else int(codec.encode(best))


def encode_or_invalid(env: gym.Env, action: str | None) -> int | str:
    """The slot of ``action`` in ``env``, or the text itself (which the env rejects)."""
    try:
        return int(env.unwrapped.codec.encode(action or ""))
    except Exception:  # unparseable or naming nothing: the env penalises it as invalid
        return action or ""
