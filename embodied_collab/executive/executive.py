"""The mission executive: accepts commands into the durable journal, routes every decision
through the link layer's router (cloud LLM while the link is up, on-board planner SLM otherwise),
carries the actions out on the robot, reports progress, and after a restart resumes or explicitly
fails every unfinished command.

One decision per step: at each step the router picks cloud or local from the link state. A cloud
decision asks the LLM for a plan from the current state and takes its first action; while the
link stays up and the plan's next action stays valid, the following steps continue that plan
without a new call (``reuse_cloud_plan``). A local decision asks the SLM for the next action, so
a mission falls back within one decision of the link going down and returns to the cloud at the
first decision after the link is back (the cloud then re-plans from the state the local steps
reached: the running local plan is refined). Decisions taken offline go to the journal's outbox
and are synced up when the link returns. Every log record carries the command id.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from embodied_collab.errors import InvalidInputError
from embodied_collab.executive.config_executive import ExecutiveConfig
from embodied_collab.executive.mission import (
    ACCEPTED,
    CANCELLED,
    DONE,
    EXECUTING,
    FAILED,
    PLANNING,
    QUEUED,
    Decision,
    Mission,
)
from embodied_collab.link.journal import CommandRecord, Journal
from embodied_collab.link.retry import Deadline
from embodied_collab.link.router import PlanRequest, Router
from embodied_collab.link.trace import command_context, new_command_id

logger = logging.getLogger(__name__)

Listener = Callable[[Mission, str], None]
RobotFactory = Callable[[Mission], Any]
_EXEC_PREFIX = "executing "


class Executive:
    """Runs missions one at a time (see the module docstring).

    Args:
        config: executive settings.
        router: the link layer's router (cloud = ResilientCloud over a CloudDecider, local =
            LocalDecider).
        journal: the durable command journal.
        robot_factory: ``mission -> robot`` (a :class:`~.robot.SimRobot` for the mission's task).
        monitor: the link monitor (for the timeline, outbox sync and link-state reports).
        outbox_sink: receives outbox batches when the link is back (``send(records)``); None
            keeps them pending.
    """

    def __init__(self, config: ExecutiveConfig, *, router: Router, journal: Journal,
                 robot_factory: RobotFactory, monitor: Any = None,
                 outbox_sink: Callable[[list], None] | None = None) -> None:
        self.config = config
        self.router = router
        self.journal = journal
        self.robot_factory = robot_factory
        self.monitor = monitor
        self.outbox_sink = outbox_sink
        self.missions: dict[str, Mission] = {}
        self.robots: dict[str, Any] = {}
        self.timeline: list[tuple[float, str]] = []
        self.synced = 0
        self._t0 = time.monotonic()
        self._lock = threading.RLock()
        self._pending: collections.deque[Mission] = collections.deque()
        self._wake = threading.Condition(self._lock)
        self._cancel: dict[str, threading.Event] = {}
        self._listeners: list[Listener] = []
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        self.active: Mission | None = None
        if monitor is not None:
            self.timeline.append((self.now(), monitor.state.value))
            monitor.add_listener(self._on_link)

    # -- time, listeners ----------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the executive started (the clock of missions and the timeline)."""
        return time.monotonic() - self._t0

    def add_listener(self, listener: Listener) -> None:
        """``listener(mission, event)`` on every transition and decision (from worker threads)."""
        self._listeners.append(listener)

    def _notify(self, mission: Mission, event: str) -> None:
        for fn in list(self._listeners):
            try:
                fn(mission, event)
            except Exception:
                logger.exception("mission listener failed")

    def link_state(self) -> str:
        """``up`` / ``degraded`` / ``down`` (``unknown`` without a monitor)."""
        return self.monitor.state.value if self.monitor is not None else "unknown"

    # -- commands -----------------------------------------------------------------------------
    def submit(self, text: str, *, command_id: str | None = None,
               payload: dict[str, Any] | None = None) -> Mission:
        """Accept a command: durable in the journal when this returns, then queued to run.

        A ``stop`` / ``cancel`` utterance is not a mission: it preempts the active one (see
        :meth:`handle_text`).

        Raises:
            InvalidInputError: empty text or a payload that is not JSON.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError(f"command text must be a non-empty string, got {text!r}")
        payload = dict(payload or {})
        cid = command_id or new_command_id()
        with command_context(cid):
            rec = self.journal.accept(text, command_id=cid, payload=payload)
            mission = Mission(cid, rec.text, self.now(),
                              difficulty=str(payload.get("difficulty") or "fetch"),
                              payload=rec.payload)
            logger.info("accepted %r", text, extra={"event": "accepted"})
        self._enqueue(mission)
        return mission

    def handle_text(self, text: str, **kwargs: Any) -> Mission | None:
        """A command as heard: ``stop`` / ``cancel`` preempt at once; anything else is queued."""
        from embodied_collab.speech.grounding import quick_command

        kind = quick_command(text)
        if kind is not None:
            self.cancel(None, kind=kind, reason=f"heard {text!r}")
            return None
        return self.submit(text, **kwargs)

    def cancel(self, command_id: str | None = None, *, kind: str = "cancel",
               reason: str = "") -> bool:
        """Preempt a mission (None: the active one; ``cancel`` also clears the waiting ones).

        The robot halts within one motion tick; the mission ends ``cancelled`` with the reason.

        Returns:
            Whether anything was preempted.
        """
        with self._lock:
            if command_id is None:
                targets = [self.active] if self.active is not None else []
                if kind == "cancel":
                    targets += list(self._pending)
            else:
                m = self.missions.get(command_id)
                targets = [m] if m is not None else []
            hit = False
            for m in targets:
                if m is None or not m.preempt(kind, reason):
                    continue
                hit = True
                self._cancel.setdefault(m.command_id, threading.Event()).set()
                if m is not self.active and m in self._pending:
                    self._pending.remove(m)
                    self._finish_preempted(m)
                elif m is self.active and m.state in (ACCEPTED, PLANNING, QUEUED):
                    # nothing moves while it decides: it ends now, the decision in flight is
                    # discarded when it returns (a driving robot halts first, within a tick)
                    self._finish_preempted(m)
            return hit

    def _enqueue(self, mission: Mission) -> None:
        with self._lock:
            self.missions[mission.command_id] = mission
            self._cancel.setdefault(mission.command_id, threading.Event())
            self._pending.append(mission)
            self._wake.notify_all()

    # -- worker -------------------------------------------------------------------------------
    def start(self) -> None:
        """Run queued missions in a background thread, in order."""
        if self._worker is not None:
            return
        self._stop.clear()
        self._worker = threading.Thread(target=self._work, name="executive", daemon=True)
        self._worker.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Cancel the active mission and stop the worker (bounded wait)."""
        self._stop.set()
        if self.active is not None:
            self.cancel(self.active.command_id, kind="stop", reason="executive shutting down")
        with self._lock:
            self._wake.notify_all()
        if self._worker is not None:
            self._worker.join(timeout_s)
            self._worker = None

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if not self._pending:
                    self._wake.wait(0.2)
                    continue
                mission = self._pending.popleft()
            self.run_mission(mission)

    def wait(self, command_id: str, timeout_s: float) -> Mission:
        """Wait (bounded) until a mission ends; returns it (maybe still running on timeout)."""
        end = time.monotonic() + timeout_s
        m = self.missions[command_id]
        while not m.terminal and time.monotonic() < end:
            time.sleep(0.02)
        return m

    def run_next(self) -> Mission | None:
        """Run the oldest queued mission in this thread (for scripts, tests and the demo)."""
        with self._lock:
            if not self._pending:
                return None
            mission = self._pending.popleft()
        self.run_mission(mission)
        return mission

    # -- one mission --------------------------------------------------------------------------
    def run_mission(self, m: Mission) -> Mission:
        """Carry ``m`` out to a terminal state (blocking)."""
        cancel = self._cancel.setdefault(m.command_id, threading.Event())
        with self._lock:
            self.active = m
        try:
            with command_context(m.command_id):
                self._run(m, cancel)
        except Exception as exc:  # anything unexpected ends the mission, with the cause
            logger.exception("mission crashed")
            if not m.terminal:
                self._move(m, FAILED, f"executive error: {type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self.active = None
        return m

    def _run(self, m: Mission, cancel: threading.Event) -> None:
        if self._finish_preempted(m):
            return
        robot = self.robot_factory(m)
        self.robots[m.command_id] = robot
        replayed = self._replay(m, robot)
        if m.state == EXECUTING:
            self._move(m, PLANNING, f"resumed after restart: replayed {replayed} action(s)")
        elif m.state in (ACCEPTED, QUEUED):
            self._move(m, PLANNING, "planning started" if not replayed else
                       f"resumed after restart: replayed {replayed} action(s)")
        elif m.state == PLANNING and replayed:
            # stopped between two decisions: the mission stays in planning, the journal (which
            # allows planning -> planning) records the resume
            self.journal.transition(m.command_id, PLANNING,
                                    f"resumed after restart: replayed {replayed} action(s)")
        while True:
            if self._finish_preempted(m):
                return
            if len(m.actions) >= self.config.max_steps:
                self._move(m, FAILED, f"step budget of {self.config.max_steps} actions exhausted")
                return
            decision, why = self._decide(m, robot)
            if self._finish_preempted(m):  # cancelled while deciding: the decision is dropped
                return
            if decision is None:
                if not self._wait_for_link(m, why, cancel):
                    return
                continue
            m.add_decision(decision)
            self._record_decision(m, decision)
            if self._finish_preempted(m):
                return
            self._move(m, EXECUTING, f"{_EXEC_PREFIX}{decision.action} "
                       f"({decision.served_by}: {decision.reason})")
            out = robot.execute(decision.action, cancel)
            m.actions.append({"at": round(self.now(), 4), "served_by": decision.served_by,
                              **out.to_dict()})
            logger.info("%s -> %s: %s", decision.action, "ok" if out.ok else "failed",
                        out.message, extra={"event": "executed", "action": decision.action,
                                            "ok": out.ok, "duration_s": out.duration_s})
            self._notify(m, "executed")
            if out.cancelled or self._finish_preempted(m):
                self._finish_preempted(m)
                return
            if out.finished:
                if out.success:
                    self._move(m, DONE, "task complete")
                else:
                    self._move(m, FAILED, out.message or "done, but the task is not complete")
                return
            self._move(m, PLANNING, f"after {decision.action}: "
                       f"{'ok' if out.ok else 'failed'} ({out.message})")

    def _decide(self, m: Mission, robot: Any) -> tuple[Decision | None, str]:
        """One decision: continue the cloud plan, or ask the router (cloud or local)."""
        t0 = time.monotonic()
        link = self.link_state()
        req = PlanRequest(m.command_id, m.text, difficulty=_difficulty(m.difficulty),
                          context={"robot": robot})
        m.cloud_plan = _skip_arrived(robot, m.cloud_plan)
        if self.config.reuse_cloud_plan and m.cloud_plan:
            first = self.router.route(req)
            if first.target == "cloud" and robot.valid(m.cloud_plan[0]):
                action = m.cloud_plan.pop(0)
                return Decision(self.now(), "cloud", action, "continuing the cloud plan",
                                time.monotonic() - t0, False, link), ""
            m.cloud_plan = []
        r = self.router.handle(req, Deadline(self.config.decision_timeout_s))
        tried_cloud = any(s.target == "cloud" for s in r.steps)
        if r.result is None:
            return None, r.decision.reason
        actions = list(r.result.plan.get("actions") or [])
        if r.served_by == "cloud":
            actions = _skip_arrived(robot, actions)
            if actions and robot.valid(actions[0]):
                m.cloud_plan = actions[1:]
                return Decision(self.now(), "cloud", actions[0], r.decision.reason,
                                time.monotonic() - t0, True, link), ""
            why = r.result.plan.get("error") or (
                f"cloud action {actions[0] if actions else None!r} is not possible now")
            local = self.router.local.plan(req, Deadline(self.config.decision_timeout_s))
            actions = list(local.plan.get("actions") or [])
            if not actions:
                return None, f"{why}; the local planner has no action either"
            return Decision(self.now(), "local", actions[0],
                            f"{why}; the on-board planner decides this step",
                            time.monotonic() - t0, True, link), ""
        m.cloud_plan = []
        if not actions:
            return None, r.result.plan.get("error") or "the local planner has no action"
        return Decision(self.now(), "local", actions[0], r.decision.reason,
                        time.monotonic() - t0, tried_cloud, link), ""

    def _record_decision(self, m: Mission, d: Decision) -> None:
        logger.info("decision %s by %s: %s", d.action, d.served_by, d.reason,
                    extra={"event": "mission_decision", "served_by": d.served_by,
                           "action": d.action, "latency_s": round(d.latency_s, 4),
                           "cloud_call": d.cloud_call, "link": d.link})
        if d.served_by == "local" and d.link != "up":
            # logged offline: synced up when the link returns
            self.journal.outbox_add("offline_decision", {**d.to_dict(), "text": m.text},
                                    command_id=m.command_id)
        self._notify(m, "decision")

    def _wait_for_link(self, m: Mission, why: str, cancel: threading.Event) -> bool:
        """Queue the mission until the cloud is reachable (bounded); False if it ended."""
        self._move(m, QUEUED, f"waiting for the link: {why}")
        end = time.monotonic() + self.config.queue_wait_s
        while time.monotonic() < end:
            if cancel.wait(0.05):
                self._finish_preempted(m)
                return False
            if self.router.cloud.available():
                self._move(m, PLANNING, "link is back; planning resumes")
                return True
        self._move(m, FAILED, f"link did not return within {self.config.queue_wait_s:.0f} s "
                   f"({why})")
        return False

    def _move(self, m: Mission, state: str, reason: str) -> None:
        with self._lock:
            if m.terminal:
                return
            m.transition(state, reason, self.now())
            self.journal.transition(m.command_id, state, reason)
        self._notify(m, "transition")

    def _finish_preempted(self, m: Mission) -> bool:
        """End a preempted mission as cancelled (if not ended yet); True if it was preempted."""
        with self._lock:
            if m.preempted is None:
                return False
            if not m.terminal:
                self._move(m, CANCELLED, f"{m.preempted}: {m.preempt_reason}")
            return True

    # -- link events --------------------------------------------------------------------------
    def _on_link(self, old: Any, status: Any) -> None:
        state = status.state.value
        self.timeline.append((self.now(), state))
        logger.info("link %s -> %s", getattr(old, "value", old), state,
                    extra={"event": "link", "state": state})
        if state == "up" and getattr(old, "value", old) == "down":
            threading.Thread(target=self.sync_outbox, name="outbox-sync", daemon=True).start()

    def sync_outbox(self) -> int:
        """Send what was logged offline (bounded: what is pending now); returns how many."""
        if self.outbox_sink is None:
            return 0
        n = self.journal.sync_outbox(self.outbox_sink, batch=self.router.config.sync_batch)
        self.synced += n
        if n:
            logger.info("synced %d offline record(s)", n, extra={"event": "outbox_sync"})
        return n

    # -- restart ------------------------------------------------------------------------------
    def recover(self) -> tuple[list[Mission], list[CommandRecord]]:
        """After a restart: resume (re-queue) or explicitly fail every unfinished command.

        A command is resumed when ``resume_on_restart`` is set and its payload says how to
        rebuild its robot state (its executed actions are replayed from the journal).

        Returns:
            (resumed missions, failed records).
        """
        def resume(rec: CommandRecord) -> bool:
            return self.config.resume_on_restart and bool(rec.payload.get("task"))

        resumed, failed = self.journal.recover(resume)
        out = []
        for rec in resumed:
            m = Mission(rec.id, rec.text, self.now(),
                        difficulty=str(rec.payload.get("difficulty") or "fetch"),
                        payload=rec.payload, state=rec.state.value, reason=rec.reason)
            with command_context(rec.id):
                logger.info("resuming after restart (was %s)", rec.state.value,
                            extra={"event": "resume"})
            self._enqueue(m)
            out.append(m)
        return out, failed

    def _replay(self, m: Mission, robot: Any) -> int:
        """Re-apply the actions the journal says completed (after a restart)."""
        done = completed_actions(self.journal, m.command_id)
        for action in done:
            robot.replay(action)
        return len(done)

    def close(self) -> None:
        """Stop the worker (the journal and the link are closed by their owner)."""
        self.stop()


def completed_actions(journal: Journal, command_id: str) -> list[str]:
    """Actions of a command that the journal shows finished successfully, in order."""
    out = []
    pending: str | None = None
    for t in journal.history(command_id):
        if t.to_state.value == EXECUTING and t.reason.startswith(_EXEC_PREFIX):
            pending = t.reason[len(_EXEC_PREFIX):].split(" (", 1)[0]
        elif pending is not None and t.reason.startswith(f"after {pending}: ok"):
            out.append(pending)
            pending = None
        elif pending is not None and t.to_state.value == PLANNING:
            pending = None
    return out


def _skip_arrived(robot: Any, actions: list[str]) -> list[str]:
    """``actions`` without leading ``navigate`` steps to where the robot already is.

    A cloud plan made from a scene description often starts by driving to the furniture the
    robot stands at; that step is done, not impossible. Robots without ``here`` are left as is.
    """
    here = getattr(robot, "here", None)
    if here is None:
        return list(actions)
    i = 0
    while i < len(actions) - 1 and here(actions[i]):
        i += 1
    return list(actions[i:])


def _difficulty(value: str) -> str:
    from embodied_collab.sim.catalog import DIFFICULTIES

    return value if value in DIFFICULTIES else "fetch"


def task_payload(task: Any) -> dict[str, Any]:
    """What the journal keeps of a task so a restart can rebuild the robot's world."""
    return {"task": task.to_dict(), "difficulty": task.difficulty or "fetch"}


def task_from_payload(doc: dict[str, Any]) -> Any:
    """The task a :func:`task_payload` describes."""
    from embodied_collab.sim.tasks import Task

    return Task(id=doc["id"], instruction=doc["instruction"], success=doc["success"],
                difficulty=doc.get("difficulty"), world_seed=doc.get("world_seed"),
                world_doc=doc.get("world"), world_file=doc.get("world_file"))


def sim_robot_factory(config: ExecutiveConfig, pose_sink: Any = None, *,
                      navigator: Any = None) -> RobotFactory:
    """``mission -> SimRobot`` for missions whose payload holds a task (see :func:`task_payload`).

    With ``config.navigation == "ros"``, ``navigator`` (a
    :class:`~embodied_collab.ros.navigation_client.RosNavigator` bound to a spun node) drives
    and manipulates: the control node moves the ROS simulator's base, whose world must be the
    task's; ``pose_sink`` is then not used (nothing is teleported).

    Raises:
        InvalidInputError: ``navigation == "ros"`` without a navigator; (when called) the
            mission's payload has no task.
    """
    from embodied_collab.executive.robot import CameraObserver, SimRobot

    if config.navigation == "ros" and navigator is None:
        raise InvalidInputError("navigation 'ros' needs a ROS navigator (RosNavigator bound to "
                                "a node of the graph); use navigation 'control' or 'path' "
                                "without ROS")
    ros = config.navigation == "ros"

    def make(m: Mission) -> SimRobot:
        doc = m.payload.get("task")
        if not doc:
            raise InvalidInputError(
                f"mission {m.command_id} has no task to run in the simulator")
        observer = CameraObserver() if config.perception == "camera" else None
        robot = SimRobot(task_from_payload(doc), config, command=m.text,
                         pose_sink=None if ros else pose_sink, observer=observer,
                         driver=navigator if ros else None,
                         manipulator=navigator if ros else None)
        if config.navigation == "control":
            from embodied_collab.control.driver import attach_driver

            attach_driver(robot)
        return robot

    return make


def make_router(base_url: str, *, link_config: Any = None, cloud_config: Any = None,
                local_policy: Any = None, trust_local_all: bool = True) -> tuple[Any, Any, Router]:
    """The link stack for the executive: monitor (started), ResilientCloud over a CloudDecider,
    and the router with a LocalDecider.

    The executive keeps its own durable queue (journaled as ``queued``), so the router refuses
    instead of queueing in memory.

    Returns:
        (monitor, cloud, router); call ``monitor.stop()`` when done.
    """
    from embodied_collab.cloud.client import ChatClient
    from embodied_collab.cloud.config_cloud import CloudConfig
    from embodied_collab.executive.decisions import CloudDecider, LocalDecider
    from embodied_collab.link import LinkConfig, LinkMonitor, ResilientCloud
    from embodied_collab.link.backends import http_probe
    from embodied_collab.sim.catalog import DIFFICULTIES

    link_config = link_config or LinkConfig()
    changes: dict[str, Any] = {"offline_action": "refuse"}
    if trust_local_all:
        changes["local_difficulties"] = tuple(DIFFICULTIES)
    link_config = dataclasses.replace(link_config, **changes)
    cloud_config = cloud_config or CloudConfig()
    # The llama.cpp server answers /v1/models only between generations (its handler waits for
    # the model's lock), so probing that while a plan is generated reports a healthy link as
    # down. /docs is served without the lock: it measures the link and the server process.
    monitor = LinkMonitor(link_config, http_probe(base_url, "/docs", from_root=True,
                                                  json_object=False))
    decider = CloudDecider(ChatClient(cloud_config, base_url), cloud_config)
    cloud = ResilientCloud(decider, link_config, monitor)
    router = Router(link_config, cloud, LocalDecider(local_policy))
    monitor.start()
    return monitor, cloud, router
