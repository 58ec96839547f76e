"""One command's life as a pure state machine (no I/O, no threads, explicit time):
accepted -> planning -> executing -> done | failed | cancelled, with a reason for every step.

``stop`` and ``cancel`` preempt: :meth:`Mission.preempt` marks the mission at once (the executive
halts the robot within one motion tick) and the next :meth:`Mission.finish_preempted` ends it as
``cancelled`` with the reason. The executive mirrors every transition into the durable journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from embodied_collab.errors import InvalidInputError

ACCEPTED, QUEUED, PLANNING, EXECUTING = "accepted", "queued", "planning", "executing"
DONE, FAILED, CANCELLED = "done", "failed", "cancelled"
TERMINAL = frozenset({DONE, FAILED, CANCELLED})
#: Legal moves (the journal's life cycle); failing or cancelling is legal from every live state.
MOVES: dict[str, frozenset[str]] = {
    ACCEPTED: frozenset({QUEUED, PLANNING, FAILED, CANCELLED}),
    QUEUED: frozenset({PLANNING, FAILED, CANCELLED}),
    PLANNING: frozenset({QUEUED, EXECUTING, FAILED, CANCELLED}),
    EXECUTING: frozenset({QUEUED, PLANNING, DONE, FAILED, CANCELLED}),
    DONE: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}
PREEMPT_KINDS = ("stop", "cancel")


@dataclass
class Decision:
    """One decision of a mission: which model chose which action, and why.

    Attributes:
        at: clock time the decision was made.
        served_by: ``cloud`` or ``local``.
        action: the high-level action chosen (``"pick cup_1"``).
        reason: the router's reason (or why a cloud plan was reused / rejected).
        latency_s: time to decide.
        cloud_call: whether this decision called the cloud (False: reused the cloud plan).
        link: link state when deciding.
    """

    at: float
    served_by: str
    action: str
    reason: str
    latency_s: float
    cloud_call: bool = False
    link: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"at": round(self.at, 4), "served_by": self.served_by, "action": self.action,
                "reason": self.reason, "latency_s": round(self.latency_s, 4),
                "cloud_call": self.cloud_call, "link": self.link}


@dataclass
class Mission:
    """The state of one command.

    Args:
        command_id: the id carried through every component.
        text: the command as heard or typed.
        created_at: clock time of acceptance.
        difficulty: the task difficulty estimate (for routing).
        payload: what is needed to resume it after a restart (journaled).
    """

    command_id: str
    text: str
    created_at: float
    difficulty: str = "fetch"
    payload: dict[str, Any] = field(default_factory=dict)
    state: str = ACCEPTED
    reason: str = "accepted"
    transitions: list[tuple[float, str, str, str]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    cloud_plan: list[str] = field(default_factory=list)
    preempted: str | None = None
    preempt_reason: str = ""
    ended_at: float | None = None

    @property
    def terminal(self) -> bool:
        """Whether the mission has ended."""
        return self.state in TERMINAL

    @property
    def step_index(self) -> int:
        """Index of the action being executed (-1 before the first)."""
        return len(self.actions) - 1

    def transition(self, state: str, reason: str, now: float) -> tuple[str, str]:
        """Move to ``state`` with ``reason``; returns ``(old, new)``.

        Raises:
            InvalidInputError: unknown state, empty reason or an illegal move.
        """
        if state not in MOVES:
            raise InvalidInputError(f"unknown mission state {state!r}; known {sorted(MOVES)}")
        if not reason or not reason.strip():
            raise InvalidInputError("a mission transition needs a reason")
        if state not in MOVES[self.state]:
            raise InvalidInputError(
                f"mission {self.command_id}: illegal transition {self.state} -> {state}"
            )
        old = self.state
        self.state, self.reason = state, reason
        self.transitions.append((now, old, state, reason))
        if state in TERMINAL:
            self.ended_at = now
            self.cloud_plan = []
        return old, state

    def preempt(self, kind: str, reason: str = "") -> bool:
        """Mark a ``stop`` / ``cancel`` request (takes effect at once; idempotent).

        Returns:
            False if the mission has already ended (nothing to preempt).

        Raises:
            InvalidInputError: ``kind`` is not stop or cancel.
        """
        if kind not in PREEMPT_KINDS:
            raise InvalidInputError(f"preempt kind must be one of {PREEMPT_KINDS}, got {kind!r}")
        if self.terminal:
            return False
        if self.preempted is None:
            self.preempted = kind
            self.preempt_reason = reason or f"{kind} requested"
        return True

    def finish_preempted(self, now: float) -> bool:
        """End a preempted mission as cancelled; True if it was preempted."""
        if self.preempted is None or self.terminal:
            return False
        self.transition(CANCELLED, f"{self.preempted}: {self.preempt_reason}", now)
        return True

    def add_decision(self, decision: Decision) -> None:
        """Record a decision (counts per model come from these)."""
        self.decisions.append(decision)

    def counts(self) -> dict[str, int]:
        """Decisions served by each model, and how many called the cloud."""
        out = {"cloud": 0, "local": 0, "cloud_calls": 0}
        for d in self.decisions:
            out[d.served_by] = out.get(d.served_by, 0) + 1
            out["cloud_calls"] += int(d.cloud_call)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON view (reports, ROS status)."""
        return {
            "command_id": self.command_id, "text": self.text, "state": self.state,
            "reason": self.reason, "difficulty": self.difficulty,
            "created_at": round(self.created_at, 4),
            "ended_at": None if self.ended_at is None else round(self.ended_at, 4),
            "transitions": [{"at": round(t, 4), "from": a, "to": b, "reason": r}
                            for t, a, b, r in self.transitions],
            "decisions": [d.to_dict() for d in self.decisions],
            "actions": list(self.actions), "counts": self.counts(),
        }
