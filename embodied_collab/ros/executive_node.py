"""The mission executive on ROS 2: submit / cancel missions as services, watch them and the link.

Services ``/executive/submit`` (SubmitMission: journaled before it answers) and
``/executive/cancel`` (CancelMission); topics ``/executive/mission_status`` (MissionStatus, on
every transition and periodically) and ``/executive/link_state`` (LinkState). A thin adapter over
:class:`embodied_collab.executive.executive.Executive`: built from :class:`ExecutiveNodeConfig`
parameters, or attached to an executive built elsewhere (the demo, tests).

Built from parameters with ``navigation: ros`` (the default), the executive's robot is the
graph's: navigation goals go to the control node (``/control/goal``, followed on
``/control/status``), which drives the base over ``/cmd_vel``, and open / pick / place call the
manipulation services (:class:`~embodied_collab.ros.navigation_client.RosNavigator` on this
node). Missions run in the household of ``world_seed`` (the simulator node's ``world_seed``).
Topic and service names are the graph's keys (``mission_submit``, ``mission_cancel``,
``mission_status``, ``link_state``), remappable like every other.
"""

from __future__ import annotations

import time
from typing import Any

from rclpy.node import Node

from embodied_collab.executive.config_executive import ExecutiveConfig, ExecutiveNodeConfig
from embodied_collab.ros import convert_interfaces as ci
from embodied_collab.ros import interfaces, qos
from embodied_collab.ros.graph import SERVICES, TOPICS
from embodied_collab.ros.params import ParameterMirror

_STATE = {"accepted": "pending", "queued": "pending", "planning": "active",
          "executing": "active", "done": "succeeded", "failed": "failed",
          "cancelled": "cancelled"}


def build_executive(cfg: ExecutiveNodeConfig, navigator: Any = None) -> Any:
    """The core executive for ``cfg`` (plain Python; cloud through the link layer if set).

    ``navigator`` drives the robot when ``cfg.navigation`` is ``ros``. The journal path may
    start with ``~``; its directory is created.
    """
    from pathlib import Path

    from embodied_collab.executive.executive import Executive, make_router, sim_robot_factory
    from embodied_collab.link.journal import Journal

    journal_path = Path(cfg.journal_path).expanduser()
    journal_path.parent.mkdir(parents=True, exist_ok=True)
    ecfg = ExecutiveConfig(journal_path=str(journal_path), time_scale=cfg.time_scale,
                           navigation=cfg.navigation,
                           navigation_timeout_s=cfg.navigation_timeout_s)
    factory = sim_robot_factory(ecfg, navigator=navigator)
    url = cfg.cloud_base_url or "http://127.0.0.1:9/v1"  # discard port: no cloud, local only
    monitor, _cloud, router = make_router(url)
    return Executive(ecfg, router=router, journal=Journal(ecfg.journal_path), monitor=monitor,
                     robot_factory=factory)


class ExecutiveNode(Node):
    """ROS 2 adapter of the mission executive (see the module docstring)."""

    def __init__(self, name: str = "executive", *, executive: Any = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._params = ParameterMirror(self, ExecutiveNodeConfig, read_only=(
            "journal_path", "cloud_base_url", "world_seed", "difficulty", "time_scale",
            "navigation", "navigation_timeout_s"))
        cfg = self._params.config
        msg, srv = interfaces.msg(), interfaces.srv()
        if msg is None or srv is None:
            raise RuntimeError("embodied_collab_interfaces is not built (scripts/build_ros_ws.sh)")
        self._owned = executive is None
        #: The ROS robot of an executive this node builds (None when attached or ``path``).
        self.navigator = None
        if self._owned and cfg.navigation == "ros":
            from embodied_collab.ros.navigation_client import RosNavigator

            self.navigator = RosNavigator(self, goal_timeout_s=cfg.navigation_timeout_s)
        self.executive = executive or build_executive(cfg, self.navigator)
        self._pub_status = self.create_publisher(msg.MissionStatus, TOPICS["mission_status"],
                                                 qos.state_qos())
        self._pub_link = self.create_publisher(msg.LinkState, TOPICS["link_state"],
                                               qos.state_qos())
        self.create_service(srv.SubmitMission, SERVICES["mission_submit"], self._on_submit)
        self.create_service(srv.CancelMission, SERVICES["mission_cancel"], self._on_cancel)
        self.executive.add_listener(lambda m, ev: ev == "transition" and self._publish(m))
        self._timer = self.create_timer(1.0 / cfg.status_rate_hz, self._tick)
        if self._owned:
            self.executive.recover()
            self.executive.start()

    def _payload(self) -> dict[str, Any]:
        from embodied_collab.executive.executive import task_payload
        from embodied_collab.sim.generate import generate_task

        cfg = self._params.config
        return task_payload(generate_task(cfg.world_seed, cfg.difficulty))

    def _on_submit(self, request: Any, response: Any) -> Any:
        try:
            m = self.executive.handle_text(request.text, command_id=request.mission_id or None,
                                           payload=self._payload())
        except Exception as exc:  # bad input: answer with the reason, never crash the node
            response.accepted, response.mission_id, response.message = False, "", str(exc)
            return response
        if m is None:
            response.accepted, response.mission_id = True, ""
            response.message = "stop/cancel applied to the active mission"
        else:
            response.accepted, response.mission_id = True, m.command_id
            response.message = "accepted (journaled)"
        return response

    def _on_cancel(self, request: Any, response: Any) -> Any:
        ok = self.executive.cancel(request.mission_id or None, kind="cancel",
                                   reason="cancel service")
        response.success = bool(ok)
        response.message = "cancelled" if ok else f"no live mission {request.mission_id!r}"
        return response

    def _publish(self, m: Any) -> None:
        last = m.decisions[-1].served_by if m.decisions else ""
        self._pub_status.publish(ci.mission_status_msg(
            _STATE[m.state], mission_id=m.command_id, stamp_ns=time.time_ns(),
            step_index=m.step_index, step_count=len(m.actions), planner=last,
            message=m.reason))

    def _tick(self) -> None:
        ex = self.executive
        status = ex.monitor.status() if ex.monitor is not None else None
        state = status.state.value if status is not None else "down"
        mode = "cloud" if ex.router.cloud.available() else "local"
        latency = status.latency_s * 1000 if status and status.latency_s is not None else None
        self._pub_link.publish(ci.link_state_msg(
            state, mode=mode, stamp_ns=time.time_ns(), latency_ms=latency,
            consecutive_failures=status.consecutive_failures if status else 0,
            journal_pending=len(ex.journal.unfinished()),
            detail=(status.last_error or "") if status else ""))
        if ex.active is not None:
            self._publish(ex.active)

    def destroy_node(self) -> None:
        """Stop the executive this node built (an attached one belongs to its owner)."""
        if self._owned:
            self.executive.stop()
            if self.executive.monitor is not None:
                self.executive.monitor.stop()
            self.executive.journal.close()
        super().destroy_node()
