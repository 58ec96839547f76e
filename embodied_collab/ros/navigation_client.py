"""The executive's robot over ROS 2: navigation goals to the control node, manipulation by the
simulator node's services.

:class:`RosNavigator` fills the ``driver`` and ``manipulator`` seams of
:class:`embodied_collab.executive.robot.SimRobot`. ``drive(path, cancel)`` sends the path's last
point as a goal on ``/control/goal``, follows the goal on ``/control/status`` until it succeeds,
fails, is blocked or rejected, and records the base's ``/odom`` poses on the way: the control node
drives the base over ``/cmd_vel`` (the simulator node's physics moves it), nothing is teleported.
Every wait is bounded, and a cancel (stop / cancel of the mission) is sent to the control node at
once. ``manipulate(verb, target, cancel)`` calls ``/manipulation/<verb>`` (bounded).

The navigator is attached to a node (:meth:`RosNavigator.bind`) that someone else spins (the
executive node, or the demo's); its methods are called from the executive's worker thread.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from typing import Any

from embodied_collab.ros import convert, interfaces, qos
from embodied_collab.ros.graph import SERVICES, TOPICS

logger = logging.getLogger(__name__)

Point = tuple[float, float]
_TERMINAL = ("succeeded", "failed", "blocked")


class RosNavigator:
    """Navigation by the control node and manipulation by the simulator's services, over ROS 2.

    Args:
        node: the rclpy node to talk through (or :meth:`bind` one later).
        goal_timeout_s: bound on one navigation goal (wall seconds, after the goal is accepted).
        connect_timeout_s: bound on finding the control node (its latched status and a
            subscriber of the goal topic) and on a goal's acceptance.
        service_timeout_s: bound on one manipulation service call.
        min_step_m: odometry poses closer than this to the last recorded one are not recorded.
        retries: a goal the control node reports ``blocked`` is sent again this many times
            while the base got closer to it since the last try (it replans from where it is).
    """

    def __init__(self, node: Any = None, *, goal_timeout_s: float = 150.0,
                 connect_timeout_s: float = 10.0, service_timeout_s: float = 10.0,
                 min_step_m: float = 0.02, retries: int = 2) -> None:
        for name, value in (("goal_timeout_s", goal_timeout_s),
                            ("connect_timeout_s", connect_timeout_s),
                            ("service_timeout_s", service_timeout_s),
                            ("min_step_m", min_step_m)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        self.goal_timeout_s = float(goal_timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.service_timeout_s = float(service_timeout_s)
        self.min_step_m = float(min_step_m)
        if not (isinstance(retries, int) and retries >= 0):
            raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
        self.retries = retries
        self.node: Any = None
        #: Outcome of the last :meth:`drive`: ``succeeded``, ``failed``, ``blocked``, or ``idle``
        #: when cancelled.
        self.last_status = "idle"
        #: Why the last drive ended as it did (the control node's message or the bound hit).
        self.last_message = ""
        self._cond = threading.Condition()
        self._status: dict[str, Any] | None = None
        self._pose: tuple[float, float, float] | None = None
        self._recording: list[Point] | None = None
        self._clients: dict[str, Any] = {}
        if node is not None:
            self.bind(node)

    # -- wiring ---------------------------------------------------------------------------
    def bind(self, node: Any) -> RosNavigator:
        """Create the goal publisher, status and odometry subscriptions and service clients on
        ``node`` (which must be spun by an executor for the navigator to hear anything)."""
        from nav_msgs.msg import Odometry
        from std_msgs.msg import String

        if self.node is not None:
            raise RuntimeError("this navigator is already bound to a node")
        self.node = node
        self._pub_goal = node.create_publisher(String, TOPICS["control_goal"], qos.command_qos())
        node.create_subscription(String, TOPICS["control_status"], self._on_status,
                                 qos.latched_qos())
        node.create_subscription(Odometry, TOPICS["odom"], self._on_odom, qos.state_qos())
        srv = interfaces.srv()
        if srv is not None:
            for verb, srv_type in (("pick", srv.Pick), ("place", srv.Place), ("open", srv.Open)):
                self._clients[verb] = node.create_client(srv_type, SERVICES[verb])
        return self

    def _on_status(self, msg: Any) -> None:
        try:
            doc = json.loads(msg.data)
        except ValueError:
            logger.warning("unreadable control status %r", msg.data)
            return
        with self._cond:
            self._status = doc
            self._cond.notify_all()

    def _on_odom(self, msg: Any) -> None:
        pose, _vel = convert.odometry_to_pose(msg)
        with self._cond:
            self._pose = pose
            rec = self._recording
            if rec is not None and math.dist(rec[-1], pose[:2]) >= self.min_step_m:
                rec.append((pose[0], pose[1]))

    @property
    def pose(self) -> tuple[float, float, float] | None:
        """The base's latest odometry pose (None before the first /odom)."""
        return self._pose

    def _wait(self, pred: Any, timeout_s: float, cancel: threading.Event | None) -> bool | None:
        """Wait until ``pred()`` (True), ``cancel`` (None) or the timeout (False)."""
        end = time.monotonic() + timeout_s
        with self._cond:
            while True:
                if pred():
                    return True
                if cancel is not None and cancel.is_set():
                    return None
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))

    def connected(self, timeout_s: float | None = None) -> bool:
        """Whether the control node is there (its latched status heard, the goal topic has a
        subscriber), waiting up to ``timeout_s`` (default ``connect_timeout_s``)."""
        if self.node is None:
            return False
        return bool(self._wait(
            lambda: self._status is not None and self._pub_goal.get_subscription_count() > 0,
            self.connect_timeout_s if timeout_s is None else timeout_s, None))

    # -- navigation -----------------------------------------------------------------------
    def drive(self, path: list[Point], cancel: threading.Event | None = None) -> list[Point]:
        """Drive to ``path[-1]`` through the control node; returns the odometry points driven.

        The control node plans its own path from where the base is; ``path`` gives the goal
        (and, as its first point, where the executive believes the robot starts). Check
        :attr:`last_status` and :attr:`last_message` for the outcome.

        Raises:
            ValueError: an empty path.
            RuntimeError: not bound to a node.
        """
        if not path:
            raise ValueError("cannot drive an empty path")
        if self.node is None:
            raise RuntimeError("RosNavigator is not bound to a node (call bind(node))")
        goal = (float(path[-1][0]), float(path[-1][1]))
        start = self._pose[:2] if self._pose is not None else (float(path[0][0]),
                                                               float(path[0][1]))
        driven: list[Point] = [(float(start[0]), float(start[1]))]
        if not self.connected():
            return self._end(driven, "failed", f"no control node answered on "
                             f"{TOPICS['control_goal']} within {self.connect_timeout_s:.0f} s")
        end = time.monotonic() + self.goal_timeout_s
        with self._cond:
            self._recording = driven
        for attempt in range(self.retries + 1):
            d0 = self._distance(goal)
            self._goal_once(goal, cancel, end)
            if self.last_status != "blocked" or attempt == self.retries:
                break
            if not self._distance(goal) < d0 - 0.1:  # no nearer than last time: give up
                break
            logger.info("goal %s blocked after progress; sending it again (%d/%d)", goal,
                        attempt + 1, self.retries)
        return self._end(driven, self.last_status, self.last_message)

    def _distance(self, goal: Point) -> float:
        pose = self._pose
        return math.inf if pose is None else math.dist(pose[:2], goal)

    def _goal_once(self, goal: Point, cancel: threading.Event | None, end: float) -> None:
        """One goal to the control node; sets :attr:`last_status` / :attr:`last_message`."""
        from std_msgs.msg import String

        text = f"{goal[0]:.3f} {goal[1]:.3f}"
        with self._cond:
            before = (self._status or {}).get("goal")
        t0 = time.monotonic()
        self._pub_goal.publish(String(data=text))

        def mine() -> bool:
            s = self._status or {}
            return s.get("goal") != before and s.get("target") == text

        got = self._wait(mine, self.connect_timeout_s, cancel)
        if got is None:
            return self._cancel()
        if not got:
            self._pub_goal.publish(String(data="cancel"))
            return self._set("failed", f"the control node did not take goal {text!r} "
                             f"within {self.connect_timeout_s:.0f} s")
        got = self._wait(lambda: not mine() or self._status.get("status") in _TERMINAL
                         or str(self._status.get("message", "")).startswith("rejected"),
                         max(0.0, end - time.monotonic()), cancel)
        if got is None:
            return self._cancel()
        status = dict(self._status or {})
        if not got:
            self._pub_goal.publish(String(data="cancel"))
            return self._set("failed", f"goal {text!r} not finished within "
                             f"{self.goal_timeout_s:.0f} s (cancelled)")
        if status.get("goal") == before or status.get("target") != text:
            return self._set("failed", "another goal replaced this one")
        if str(status.get("message", "")).startswith("rejected"):
            return self._set("failed", str(status["message"]))
        logger.info("goal %s: %s in %.1f s", text, status["status"], time.monotonic() - t0)
        state = str(status["status"])
        return self._set(state, str(status.get("message") or "") or (
            "" if state == "succeeded" else f"the control node reported {state} for {text!r}"))

    def _set(self, status: str, message: str) -> None:
        self.last_status, self.last_message = status, message

    def _cancel(self) -> None:
        from std_msgs.msg import String

        self._pub_goal.publish(String(data="cancel"))
        self._set("idle", "cancelled")

    def _end(self, driven: list[Point], status: str, message: str) -> list[Point]:
        with self._cond:
            self._recording = None
            if self._pose is not None and math.dist(driven[-1], self._pose[:2]) > 1e-6:
                driven.append((self._pose[0], self._pose[1]))
        self._set(status, message)
        if status not in ("succeeded", "idle"):
            logger.warning("navigation %s: %s", status, message or "(no reason given)")
        return list(driven)

    # -- manipulation ---------------------------------------------------------------------
    def manipulate(self, verb: str, target: str,
                   cancel: threading.Event | None = None) -> tuple[bool, str]:
        """Call the simulator's ``pick`` / ``place`` / ``open`` service (bounded).

        Returns:
            ``(ok, message)``; not ok with the reason when the service is missing, times out,
            the call is cancelled, or the simulator refuses.

        Raises:
            ValueError: an unknown verb.
        """
        if verb not in ("pick", "place", "open"):
            raise ValueError(f"manipulation is pick, place or open, got {verb!r}")
        client = self._clients.get(verb)
        if client is None:
            return False, (f"no {SERVICES[verb]} client (not bound, or "
                           "embodied_collab_interfaces is not built)")
        if not client.wait_for_service(timeout_sec=self.connect_timeout_s):
            return False, f"service {SERVICES[verb]} not available"
        srv = interfaces.srv()
        req_type = {"pick": srv.Pick, "place": srv.Place, "open": srv.Open}[verb].Request
        field = "object_id" if verb == "pick" else "furniture_id"
        fut = client.call_async(req_type(**{field: target}))
        done = threading.Event()
        fut.add_done_callback(lambda _f: done.set())
        end = time.monotonic() + self.service_timeout_s
        while not done.wait(0.05):
            if cancel is not None and cancel.is_set():
                fut.cancel()
                return False, "halted by stop/cancel"
            if time.monotonic() > end:
                fut.cancel()
                return False, (f"{SERVICES[verb]} gave no answer within "
                               f"{self.service_timeout_s:.0f} s")
        res = fut.result()
        return bool(res.success), str(res.message)
