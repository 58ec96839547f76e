"""Per-request routing between the cloud LLM and the on-board planner SLM.

The choice depends on the link (monitor state and circuit breaker, through
:meth:`ResilientCloud.available`), the task's difficulty and needed skills, and the local planner's
own confidence, under one of three policies:

- ``quality-first``: the cloud whenever it is reachable; the local planner otherwise.
- ``latency-first``: the local planner whenever the task is within its skills and its plan is at
  least ``local_confidence_threshold`` confident; the cloud otherwise.
- ``cost-first``: like latency-first with the lower ``cost_confidence_threshold``: the cloud only
  when the local planner cannot do it or is unsure.

Capability gating: when the cloud is unreachable and a task is beyond local skills (or the local
plan is below ``offline_min_confidence``), the task is queued (``offline_action="queue"``) or
refused, always with a reason -- never dropped. Queued tasks are replayed by
:meth:`Router.retry_queued` when the link returns.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from embodied_collab.errors import LinkUnavailable
from embodied_collab.link.clock import Clock, RealClock
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.retry import Deadline
from embodied_collab.link.trace import command_context
from embodied_collab.sim.catalog import DIFFICULTIES

logger = logging.getLogger(__name__)


class Policy(str, enum.Enum):
    """Router policies."""

    LATENCY_FIRST = "latency-first"
    QUALITY_FIRST = "quality-first"
    COST_FIRST = "cost-first"


@dataclass(frozen=True)
class PlanRequest:
    """One planning request.

    Attributes:
        command_id: the id carried through every component (see :mod:`.trace`).
        text: the user's command or the subgoal to plan.
        difficulty: one of ``catalog.DIFFICULTIES`` (the executive's estimate).
        skills: skills the task needs (from ``catalog.SKILLS``); empty = only basic ones.
        context: backend-specific input (world summary, robot state, ...).
    """

    command_id: str
    text: str
    difficulty: str = "fetch"
    skills: tuple[str, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.command_id:
            raise ValueError("PlanRequest.command_id must be non-empty")
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"unknown difficulty {self.difficulty!r}; known {DIFFICULTIES}")


@dataclass
class PlanResult:
    """What a backend proposes.

    Attributes:
        plan: the backend's output (a list of skill calls, a next action, ...).
        confidence: the backend's own confidence in [0, 1] (None: not reported, e.g. cloud).
        backend: filled by the router: ``cloud`` or ``local``.
        latency_s: how long the backend took.
    """

    plan: Any
    confidence: float | None = None
    backend: str = ""
    latency_s: float = 0.0


@runtime_checkable
class PlanBackend(Protocol):
    """Anything that plans: the cloud client adapter or the on-board planner SLM."""

    def plan(self, request: PlanRequest, deadline: Deadline) -> PlanResult:
        """Propose a plan before ``deadline``; raise LinkUnavailable if unreachable."""
        ...


class CloudGate(PlanBackend, Protocol):
    """A cloud backend that also knows whether it is worth trying (ResilientCloud)."""

    def available(self) -> bool:
        """Whether a call may be attempted now (link not down, circuit not open)."""
        ...


@dataclass(frozen=True)
class RouteDecision:
    """The router's choice for one request.

    Attributes:
        target: ``cloud``, ``local``, ``queue`` or ``refuse``.
        reason: why, in words.
        policy: the policy in force.
        cloud_available: whether the cloud was reachable when deciding.
        decided_at: clock time of the decision.
    """

    target: str
    reason: str
    policy: str
    cloud_available: bool
    decided_at: float


@dataclass
class RoutedResult:
    """Outcome of :meth:`Router.handle`.

    Attributes:
        request: the request.
        decision: the final decision (what actually happened).
        result: the plan, unless queued or refused.
        steps: every decision taken on the way (e.g. cloud -> failed -> local).
        started_at: clock time handle() began.
    """

    request: PlanRequest
    decision: RouteDecision
    result: PlanResult | None
    steps: list[RouteDecision]
    started_at: float

    @property
    def served_by(self) -> str | None:
        """``cloud`` / ``local`` when a plan was produced, else None."""
        return self.result.backend if self.result is not None else None


class Router:
    """Routes each :class:`PlanRequest` to the cloud or the local planner (see module doc).

    Args:
        config: policy, thresholds and local capabilities.
        cloud: the cloud backend with ``available()`` (a :class:`ResilientCloud`).
        local: the on-board planner.
        clock: the time source.
    """

    def __init__(
        self,
        config: LinkConfig,
        cloud: CloudGate,
        local: PlanBackend,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.cloud = cloud
        self.local = local
        self.clock = clock or RealClock()
        self.policy = Policy(config.policy)
        self._queue: deque[tuple[PlanRequest, str]] = deque()
        self._lock = threading.Lock()

    # -- pure decisions ------------------------------------------------------------------------
    def local_capable(self, request: PlanRequest) -> tuple[bool, str]:
        """Whether the on-board planner may handle ``request``, and why not if not."""
        cfg = self.config
        if request.difficulty not in cfg.local_difficulties:
            return False, (
                f"difficulty {request.difficulty!r} is beyond the on-board planner "
                f"(local: {list(cfg.local_difficulties)})"
            )
        missing = sorted(set(request.skills) - set(cfg.local_skills))
        if missing:
            return False, f"skills {missing} need the cloud"
        return True, "within local skills"

    def _decide(self, target: str, reason: str, cloud_ok: bool) -> RouteDecision:
        return RouteDecision(target, reason, self.policy.value, cloud_ok, self.clock.now())

    def route(self, request: PlanRequest) -> RouteDecision:
        """The first choice for ``request`` under the policy (no backend is called)."""
        cloud_ok = self.cloud.available()
        capable, why = self.local_capable(request)
        if self.policy == Policy.QUALITY_FIRST:
            if cloud_ok:
                return self._decide("cloud", "quality-first: cloud reachable", cloud_ok)
            if capable:
                return self._decide("local", "cloud unreachable; task within local skills", False)
            return self._gate_decision(f"cloud unreachable and {why}")
        if capable:
            return self._decide("local", f"{self.policy.value}: {why}", cloud_ok)
        if cloud_ok:
            return self._decide("cloud", f"{self.policy.value}: {why}", cloud_ok)
        return self._gate_decision(f"cloud unreachable and {why}")

    def _gate_decision(self, reason: str) -> RouteDecision:
        if self.config.offline_action == "queue" and len(self._queue) < self.config.max_queued:
            return self._decide("queue", reason + "; queued until the link returns", False)
        if self.config.offline_action == "queue":
            reason += f"; queue full ({self.config.max_queued})"
        return self._decide("refuse", reason, False)

    def _threshold(self) -> float:
        if self.policy == Policy.COST_FIRST:
            return self.config.cost_confidence_threshold
        return self.config.local_confidence_threshold

    # -- execution -----------------------------------------------------------------------------
    def handle(self, request: PlanRequest, deadline: Deadline | None = None) -> RoutedResult:
        """Decide, call the chosen backend, and fall back as needed.

        The cloud call failing (unreachable, circuit open, deadline) falls back to the local
        planner if the task is within local skills; otherwise the task is queued or refused.
        A local plan less confident than the policy wants is escalated to the cloud when it is
        reachable; offline, it is used if at least ``offline_min_confidence``.

        Args:
            request: what to plan.
            deadline: bounds the whole call (default ``call_timeout_s``).

        Returns:
            The result with the final decision and every step taken.
        """
        deadline = deadline or Deadline(self.config.call_timeout_s, self.clock)
        started = self.clock.now()
        steps: list[RouteDecision] = []
        with command_context(request.command_id):
            first = self.route(request)
            steps.append(first)
            logger.info(
                "route %s: %s", first.target, first.reason,
                extra={"event": "route", "target": first.target, "policy": first.policy},
            )
            if first.target == "cloud":
                return self._via_cloud(request, deadline, steps, started)
            if first.target == "local":
                return self._via_local(request, deadline, steps, started)
            return self._finish(request, first, None, steps, started)

    def _via_cloud(
        self, request: PlanRequest, deadline: Deadline, steps: list, started: float
    ) -> RoutedResult:
        try:
            result = self.cloud.plan(request, deadline)
        except LinkUnavailable as exc:
            capable, why = self.local_capable(request)
            if capable:
                d = self._decide("local", f"cloud failed ({exc}); falling back", False)
                steps.append(d)
                logger.info("fallback to local: %s", exc, extra={"event": "fallback"})
                return self._via_local(request, deadline, steps, started, cloud_tried=True)
            gate = self._gate_decision(f"cloud failed ({exc}) and {why}")
            return self._finish(request, gate, None, steps, started)
        result.backend = "cloud"
        return self._finish(request, steps[-1], result, steps, started)

    def _via_local(
        self,
        request: PlanRequest,
        deadline: Deadline,
        steps: list,
        started: float,
        cloud_tried: bool = False,
    ) -> RoutedResult:
        t0 = self.clock.now()
        try:
            result = self.local.plan(request, deadline)
            result.backend = "local"
            result.latency_s = result.latency_s or self.clock.now() - t0
            conf = 1.0 if result.confidence is None else float(result.confidence)
        except Exception as exc:  # a failing local planner is a reason, not a crash
            logger.warning("local planner failed: %s", exc, extra={"event": "local_error"})
            result, conf = None, 0.0
            err = f"local planner failed ({type(exc).__name__}: {exc})"
        else:
            err = f"local confidence {conf:.2f}"
        cloud_ok = not cloud_tried and self.cloud.available()
        wanted = self._threshold() if self.policy != Policy.QUALITY_FIRST else 0.0
        if result is not None and conf >= wanted and (cloud_ok or conf >= self._offline_min()):
            return self._finish(request, steps[-1], result, steps, started)
        if cloud_ok:
            d = self._decide("cloud", f"{err} below {wanted:.2f}; escalating to cloud", True)
            steps.append(d)
            return self._via_cloud_no_fallback(request, deadline, steps, started, result)
        if result is not None and conf >= self._offline_min():
            d = self._decide("local", f"cloud unreachable; using local plan ({err})", False)
            return self._finish(request, d, result, steps, started)
        gate = self._gate_decision(f"cloud unreachable and {err} below {self._offline_min():.2f}")
        return self._finish(request, gate, None, steps, started)

    def _offline_min(self) -> float:
        return self.config.offline_min_confidence

    def _via_cloud_no_fallback(
        self, request: PlanRequest, deadline: Deadline, steps: list, started: float, local_result
    ) -> RoutedResult:
        try:
            result = self.cloud.plan(request, deadline)
        except LinkUnavailable as exc:
            conf = 0.0 if local_result is None else (local_result.confidence or 0.0)
            if local_result is not None and conf >= self._offline_min():
                d = self._decide("local", f"escalation failed ({exc}); using local plan", False)
                return self._finish(request, d, local_result, steps, started)
            gate = self._gate_decision(f"escalation to cloud failed ({exc}); local too unsure")
            return self._finish(request, gate, None, steps, started)
        result.backend = "cloud"
        return self._finish(request, steps[-1], result, steps, started)

    def _finish(
        self,
        request: PlanRequest,
        decision: RouteDecision,
        result: PlanResult | None,
        steps: list,
        started: float,
    ) -> RoutedResult:
        if not steps or steps[-1] is not decision:
            steps.append(decision)
        if decision.target == "queue":
            with self._lock:
                self._queue.append((request, decision.reason))
        logger.info(
            "decided %s: %s", decision.target, decision.reason,
            extra={
                "event": "decision",
                "target": decision.target,
                "served_by": result.backend if result else None,
            },
        )
        return RoutedResult(request, decision, result, steps, started)

    # -- the offline queue ---------------------------------------------------------------------
    def queued(self) -> list[tuple[PlanRequest, str]]:
        """Queued requests with the reason each was queued, oldest first."""
        with self._lock:
            return list(self._queue)

    def retry_queued(
        self,
        deadline_s: float | None = None,
        on_result: Callable[[RoutedResult], None] | None = None,
    ) -> list[RoutedResult]:
        """Re-route every queued request (call when the link returns).

        A request that is queued again stays in the queue (in its order); nothing is dropped.

        Args:
            deadline_s: per-request deadline (default ``call_timeout_s``).
            on_result: called with each result as it comes.

        Returns:
            The results, in queue order.
        """
        with self._lock:
            pending = list(self._queue)
            self._queue.clear()
        out = []
        for request, _reason in pending:
            deadline = Deadline(deadline_s or self.config.call_timeout_s, self.clock)
            r = self.handle(request, deadline)
            out.append(r)
            if on_result is not None:
                on_result(r)
        return out
