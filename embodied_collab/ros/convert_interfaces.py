"""Conversions between plain-Python values and ``embodied_collab_interfaces`` messages.

Plans travel as the planning skill strings the core uses (``"navigate kitchen_table_1"``),
detections as dicts, link and mission states as their names. Needs the interfaces package
(``scripts/build_ros_ws.sh``); every function raises ``DependencyNotInstalled`` without it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

from embodied_collab.errors import DependencyNotInstalled, InvalidInputError
from embodied_collab.ros import interfaces

#: LinkState.state by name; the circuit-breaker names map onto the link states.
LINK_STATES = {"up": 0, "degraded": 1, "down": 2, "probing": 3,
               "closed": 0, "open": 2, "half_open": 3}
#: MissionStatus.state by name.
MISSION_STATES = {"pending": 0, "active": 1, "succeeded": 2, "failed": 3, "cancelled": 4}


def _msg() -> ModuleType:
    module = interfaces.msg()
    if module is None:
        raise DependencyNotInstalled("embodied_collab_interfaces (run scripts/build_ros_ws.sh)",
                                     "ros")
    return module


def plan_msg(steps: Sequence[str], *, mission_id: str, planner: str, stamp_ns: int) -> Any:
    """``Plan`` from skill strings such as ``["navigate table_1", "pick cup_2", "done"]``.

    Raises:
        InvalidInputError: if a step is empty or has more than one target.
    """
    m = _msg()
    out = []
    for i, step in enumerate(steps):
        parts = str(step).split()
        if not parts or len(parts) > 2:
            raise InvalidInputError(f"plan step {i} must be '<action> [<target>]', got {step!r}")
        out.append(m.PlanStep(action=parts[0], target=parts[1] if len(parts) == 2 else ""))
    return m.Plan(stamp_ns=int(stamp_ns), mission_id=mission_id, planner=planner, steps=out)


def plan_steps(msg: Any) -> list[str]:
    """The skill strings of a ``Plan`` (inverse of :func:`plan_msg`)."""
    return [f"{s.action} {s.target}".strip() for s in msg.steps]


def detections_msg(detections: Iterable[Mapping[str, Any]], *, stamp_ns: int,
                   frame_id: str) -> Any:
    """``Detections`` from dicts with ``label``, ``score``, ``bbox`` (x0, y0, x1, y1) and
    optionally ``object_id`` and ``position`` (x, y, z in ``frame_id``).

    Raises:
        InvalidInputError: if a detection lacks a field or has a malformed box.
    """
    m = _msg()
    out = []
    for i, d in enumerate(detections):
        try:
            bbox = [float(v) for v in d["bbox"]]
            label, score = str(d["label"]), float(d["score"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"detection {i} needs label, score and bbox: {exc}") from exc
        if len(bbox) != 4:
            raise InvalidInputError(f"detection {i} bbox must have 4 values, got {bbox}")
        position = d.get("position")
        det = m.Detection(label=label, object_id=str(d.get("object_id") or ""), score=score,
                          bbox=bbox, has_position=position is not None)
        if position is not None:
            det.position = [float(v) for v in position]
        out.append(det)
    return m.Detections(stamp_ns=int(stamp_ns), frame_id=frame_id, detections=out)


def detections_from_msg(msg: Any) -> list[dict[str, Any]]:
    """Dicts of a ``Detections`` message (inverse of :func:`detections_msg`)."""
    out = []
    for d in msg.detections:
        item = {"label": d.label, "score": float(d.score), "bbox": tuple(float(v) for v in d.bbox),
                "object_id": d.object_id or None}
        if d.has_position:
            item["position"] = tuple(float(v) for v in d.position)
        out.append(item)
    return out


def link_state_msg(state: str, *, mode: str, stamp_ns: int, latency_ms: float | None = None,
                   consecutive_failures: int = 0, journal_pending: int = 0,
                   detail: str = "") -> Any:
    """``LinkState`` from a state name (``up``/``degraded``/``down``/``probing`` or the breaker's
    ``closed``/``open``/``half_open``).

    Raises:
        InvalidInputError: for an unknown state name.
    """
    if state not in LINK_STATES:
        raise InvalidInputError(f"unknown link state {state!r}; known: {sorted(LINK_STATES)}")
    return _msg().LinkState(
        stamp_ns=int(stamp_ns), state=LINK_STATES[state], mode=mode,
        latency_ms=math.nan if latency_ms is None else float(latency_ms),
        consecutive_failures=int(consecutive_failures), journal_pending=int(journal_pending),
        detail=detail)


def mission_status_msg(state: str, *, mission_id: str, stamp_ns: int, step_index: int = -1,
                       step_count: int = 0, planner: str = "", message: str = "") -> Any:
    """``MissionStatus`` from a state name (see :data:`MISSION_STATES`).

    Raises:
        InvalidInputError: for an unknown state name.
    """
    if state not in MISSION_STATES:
        raise InvalidInputError(f"unknown mission state {state!r}; known: {list(MISSION_STATES)}")
    return _msg().MissionStatus(stamp_ns=int(stamp_ns), mission_id=mission_id,
                                state=MISSION_STATES[state], step_index=int(step_index),
                                step_count=int(step_count), planner=planner, message=message)


def state_name(value: int, table: Mapping[str, int]) -> str:
    """The first name of ``value`` in ``table`` (``LINK_STATES`` or ``MISSION_STATES``)."""
    for name, number in table.items():
        if number == value:
            return name
    raise InvalidInputError(f"unknown state value {value!r}")
