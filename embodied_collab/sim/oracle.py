"""The privileged oracle planner: reads the ground truth and solves tasks with few, short moves.

It is the teacher the planner SLM is distilled from and the upper bound of every benchmark.
For a rearrangement goal ("object on/in furniture", or "holding object") the plan is: navigate
to the object's furniture, open it if the object is in a closed container, pick, navigate to the
destination, open it if the object goes inside and it is closed, place, done. Goals that only
move the robot or open something (``robot_in``, ``robot_at``, ``open``) get the obvious plans.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from embodied_collab.errors import InvalidInputError
from embodied_collab.sim.tasks import Predicate, Task, goal_of
from embodied_collab.sim.world import World

logger = logging.getLogger(__name__)


def _plan_for(world: World, pred: Predicate, at: str | None) -> list[str]:
    goal = goal_of(pred)
    (key, arg), = pred.items()
    if goal is None:
        if key == "robot_in":
            cur = world.room_at(world.robot.x, world.robot.y)
            return ([] if cur is not None and cur.id == arg else [f"navigate {arg}"]) + ["done"]
        if key == "robot_at":
            return ([] if at == arg else [f"navigate {arg}"]) + ["done"]
        if key == "open":
            steps = [] if at == arg else [f"navigate {arg}"]
            return steps + ([] if world.furniture_by_id(arg).open else [f"open {arg}"]) + ["done"]
        raise InvalidInputError(f"the oracle cannot plan for predicate {pred!r}")
    plan: list[str] = []
    obj = world.object_by_id(goal.object)
    if world.robot.holding != obj.id:
        if world.robot.holding is not None:
            raise InvalidInputError(
                f"the robot holds {world.robot.holding!r}; the oracle only plans from an empty "
                "gripper or one holding the target")
        if obj.relation == "floor":
            room = world.room_at(*obj.position)
            if room is None:
                raise InvalidInputError(f"{obj.id!r} lies outside every room")
            if at != room.id:
                plan.append(f"navigate {room.id}")
                at = room.id
        else:
            src = world.furniture_by_id(obj.support)
            if at != src.id:
                plan.append(f"navigate {src.id}")
                at = src.id
            if obj.relation == "in" and not src.open:
                plan.append(f"open {src.id}")
        plan.append(f"pick {obj.id}")
    if goal.relation == "holding":
        return plan + ["done"]
    if obj.relation == goal.relation and obj.support == goal.target:
        return ["done"]
    dest = world.furniture_by_id(goal.target)
    if at != dest.id:
        plan.append(f"navigate {dest.id}")
    if goal.relation == "in":
        if not dest.container:
            raise InvalidInputError(f"{dest.id!r} is not a container; nothing goes in it")
        if not dest.open:
            plan.append(f"open {dest.id}")
    elif dest.container and dest.open:
        raise InvalidInputError(f"{dest.id!r} is open, so 'place' puts things in it, not on it")
    elif not dest.surface:
        raise InvalidInputError(f"{dest.id!r} has no surface to put things on")
    return plan + [f"place {dest.id}", "done"]


def oracle_plan(world: World, task: Task | Predicate, *, at: str | None = None) -> list[str]:
    """The privileged action sequence solving ``task`` from ``world``'s current state.

    Args:
        world: the ground-truth world (not mutated).
        task: a task, or its success predicate.
        at: the robot's current place (room or furniture id); ``None`` for its start pose.

    Returns:
        Action texts in the planning environment's vocabulary, ending with ``"done"``.

    Raises:
        InvalidInputError: the predicate is not one the oracle can plan for.
    """
    pred = task.success if isinstance(task, Task) else task
    if "all" in pred:
        subs = [p for p in pred["all"] if goal_of(p) is not None]
        if len(subs) != 1:
            raise InvalidInputError(f"the oracle cannot plan for predicate {pred!r}")
        pred = subs[0]
    return _plan_for(world, pred, at)


def oracle_path_length(world: World, task: Task, plan: list[str] | None = None) -> float:
    """Metres the robot drives following the oracle's plan from the start (for SPL).

    Raises:
        InvalidInputError: as :func:`oracle_plan`.
    """
    from embodied_collab.sim.planning_env import prepared_world

    _, places = prepared_world(task)
    plan = plan if plan is not None else oracle_plan(world, task)
    total, at = 0.0, None
    for action in plan:
        verb, _, arg = action.partition(" ")
        if verb == "navigate":
            total += places.distance(at, arg)
            at = arg
    return total


class OraclePolicy:
    """Acts in a :class:`~embodied_collab.sim.planning_env.HouseholdPlanEnv` from its ground
    truth: each call replans from the env's current state and returns the next action index.

    Example:
        >>> env = HouseholdPlanEnv(); obs, info = env.reset(seed=0)
        >>> policy = OraclePolicy()
        >>> obs, reward, terminated, truncated, info = env.step(policy(env))
    """

    def next_action(self, env: Any) -> str:
        """The next action text for the env's current state."""
        ep = env.unwrapped.episode
        at = ep._place_id(ep.place)
        return oracle_plan(ep.world, ep.task, at=at)[0]

    def __call__(self, env: Any) -> int:
        """The next action index for the env's current state."""
        return int(env.unwrapped.codec.encode(self.next_action(env)))


def run_oracle_episode(env: Any, *, seed: int | None = None,
                       options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Reset ``env`` and let the oracle act until the episode ends.

    Returns:
        ``{"task_id", "instruction", "difficulty", "actions", "success", "path_length",
        "return", "steps"}``.
    """
    policy = OraclePolicy()
    obs, info = env.reset(seed=seed, options=options)
    ep = env.unwrapped.episode
    actions, ret = [], 0.0
    terminated = truncated = False
    while not (terminated or truncated):
        action = policy(env)
        actions.append(ep.codec.names[action])
        obs, reward, terminated, truncated, info = env.step(action)
        ret += reward
    return {
        "task_id": ep.task.id,
        "instruction": ep.task.instruction,
        "difficulty": ep.task.difficulty,
        "actions": actions,
        "success": bool(info["is_success"]),
        "path_length": float(np.round(ep.path_length, 3)),
        "return": float(ret),
        "steps": ep.steps,
    }
