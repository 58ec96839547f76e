"""The two deciders behind the link layer's router, as :class:`PlanBackend` s.

- :class:`CloudDecider` asks the cloud LLM (the task decomposer: instruction + what the robot
  knows of the world -> validated skill plan) and expands the plan into the robot's high-level
  actions. It is the raw backend that :class:`~embodied_collab.link.ResilientCloud` wraps with
  the breaker, deadlines, retries and link monitoring.
- :class:`LocalDecider` asks the on-board planner SLM for the next action and its confidence.

Both read the robot from ``request.context["robot"]`` (a :class:`~.robot.SimRobot`-like object
with ``world``, ``planning_info()``, ``action_names``) and return
``PlanResult(plan={"actions": [...], "error": str | None})``.
"""

from __future__ import annotations

import logging
from typing import Any

from embodied_collab.errors import InvalidActionError, InvalidInputError, PlanValidationError
from embodied_collab.link.retry import Deadline
from embodied_collab.link.router import PlanRequest, PlanResult

logger = logging.getLogger(__name__)


class _DeadlineClient:
    """A chat client whose every call is bounded by the decision's deadline."""

    def __init__(self, client: Any, deadline: Deadline) -> None:
        self.client = client
        self.deadline = deadline
        self.calls = 0

    def chat(self, messages: list[dict[str, str]], **kwargs: Any) -> Any:
        self.deadline.check("cloud decision")
        kwargs["deadline_s"] = max(0.05, self.deadline.remaining())
        self.calls += 1
        return self.client.chat(messages, **kwargs)


class CloudDecider:
    """Plans with the cloud LLM from the current state (see the module docstring).

    Args:
        client: an ``embodied_collab.cloud.client.ChatClient`` (or anything with its ``chat``).
        cloud_config: the cloud component's ``CloudConfig`` (repair rounds, privacy, ...).
    """

    def __init__(self, client: Any, cloud_config: Any = None) -> None:
        from embodied_collab.cloud.config_cloud import CloudConfig

        self.client = client
        self.cloud_config = cloud_config or CloudConfig()
        self.chat_calls = 0

    def plan(self, request: PlanRequest, deadline: Deadline) -> PlanResult:
        """Decompose ``request.text`` in the robot's current world into actions.

        An invalid plan is not a link failure: it comes back with ``error`` set and no actions
        (the executive then asks the local planner for this step).

        Raises:
            LinkUnavailable: the LLM could not be reached in time (from the client).
        """
        from embodied_collab.cloud.decompose import Decomposer
        from embodied_collab.cloud.execute import plan_to_actions

        robot = request.context["robot"]
        client = _DeadlineClient(self.client, deadline)
        decomposer = Decomposer(client, self.cloud_config)
        try:
            res = decomposer.decompose(request.text, robot.world)
            actions = plan_to_actions(res.plan, robot.world)
            error = None
        except (PlanValidationError, InvalidActionError, InvalidInputError) as exc:
            res, actions, error = None, [], f"cloud plan rejected: {exc}"
            logger.info("%s", error, extra={"event": "cloud_plan_invalid"})
        finally:
            self.chat_calls += client.calls
        latency = res.latency_s if res is not None else 0.0
        return PlanResult(plan={"actions": actions, "error": error}, confidence=None,
                          latency_s=latency)


def guarded_choice(probs: Any, names: list[str | None], mask: Any, instruction: str,
                   world: Any) -> tuple[int, float]:
    """The most probable action slot whose action does not contradict the instruction's
    grounding (:func:`embodied_collab.cloud.validate.step_conflict`: the asked-for object, the
    named destination, "in" a closed container); the SLM's own first choice when every
    possible action does. Returns (slot, confidence): its probability among the possible
    actions the check left (the ruled-out ones' mass removed), so the router's confidence
    gate judges the choice the robot actually makes."""
    import numpy as np

    from embodied_collab.cloud.validate import step_conflict

    p = np.asarray(probs, dtype=float)
    ok = np.ones(len(p), bool) if mask is None else np.asarray(mask, bool)[: len(p)]
    ruled_out = 0.0
    for slot in np.argsort(-p, kind="stable"):
        if not ok[slot] or names[slot] is None:
            continue
        why = step_conflict(instruction, world, str(names[slot]))
        if why is None:
            left = float(p[ok].sum()) - ruled_out
            return int(slot), float(p[slot]) / left if left > 0 else float(p[slot])
        ruled_out += float(p[slot])
        logger.info("on-board step %s skipped: %s", names[slot], why,
                    extra={"event": "local_step_skipped"})
    slot = int(p.argmax())
    return slot, float(p[slot])


class LocalDecider:
    """The on-board planner SLM's next action (see the module docstring).

    Args:
        policy: an ``SLMPolicy`` (``act(info, action_names) -> (slot, confidence)``); None loads
            the committed one on first use.
    """

    def __init__(self, policy: Any = None) -> None:
        self._policy = policy

    @property
    def policy(self) -> Any:
        """The planner policy (loaded on first use)."""
        if self._policy is None:
            from embodied_collab.planner import load_default

            self._policy = load_default()
        return self._policy

    def _guarded(self, instruction: str, robot: Any, names: list[str | None]
                 ) -> tuple[int, float]:
        info = robot.planning_info()
        scores = getattr(self.policy, "scores", None)
        if scores is None:  # a policy that only names its choice
            return self.policy.act(info, names)
        mask = info.get("action_mask")
        return guarded_choice(scores(info["text"], names, mask), names, mask, instruction,
                              robot.world)

    def plan(self, request: PlanRequest, deadline: Deadline) -> PlanResult:
        """The SLM's next action for the robot's current state, with its confidence; a step
        that contradicts the instruction's grounding gives way to the SLM's next choice
        (:func:`guarded_choice`)."""
        robot = request.context["robot"]
        names = robot.action_names
        slot, conf = self._guarded(request.text, robot, names)
        action = names[slot]
        if action is None:  # cannot happen with action masking; say so instead of crashing
            return PlanResult(plan={"actions": [], "error": f"empty action slot {slot}"},
                              confidence=0.0)
        return PlanResult(plan={"actions": [str(action)], "error": None}, confidence=float(conf))
