"""Conversions to the project's own messages, and one of them across processes over DDS."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest

from embodied_collab.errors import InvalidInputError
from embodied_collab.ros import interfaces, procs, qos

pytestmark = pytest.mark.skipif(not interfaces.load(),
                                reason="ros_ws not built (scripts/build_ros_ws.sh)")


def test_plan_round_trip():
    from embodied_collab.ros.convert_interfaces import plan_msg, plan_steps

    steps = ["navigate kitchen_table_1", "pick cup_2", "done"]
    msg = plan_msg(steps, mission_id="m1", planner="local", stamp_ns=5)
    assert plan_steps(msg) == steps and msg.steps[2].target == ""
    with pytest.raises(InvalidInputError, match="plan step 1"):
        plan_msg(["navigate a", "pick a b"], mission_id="m", planner="cloud", stamp_ns=0)


def test_detections_round_trip():
    from embodied_collab.ros.convert_interfaces import detections_from_msg, detections_msg

    dets = [{"label": "cup", "score": 0.5, "bbox": (1.0, 2.0, 3.0, 4.0), "object_id": "cup_1",
             "position": (1.0, 2.0, 0.75)},
            {"label": "ball", "score": 0.25, "bbox": (0.0, 0.0, 1.0, 1.0), "object_id": None}]
    assert detections_from_msg(detections_msg(dets, stamp_ns=1, frame_id="map")) == dets
    with pytest.raises(InvalidInputError, match="bbox must have 4"):
        detections_msg([{"label": "cup", "score": 1.0, "bbox": (1, 2)}], stamp_ns=0, frame_id="")
    with pytest.raises(InvalidInputError, match="needs label, score and bbox"):
        detections_msg([{"label": "cup"}], stamp_ns=0, frame_id="")


def test_states():
    from embodied_collab.ros.convert_interfaces import (
        LINK_STATES,
        MISSION_STATES,
        link_state_msg,
        mission_status_msg,
        state_name,
    )

    m = interfaces.msg()
    link = link_state_msg("half_open", mode="local", stamp_ns=0, journal_pending=2)
    assert link.state == m.LinkState.PROBING and math.isnan(link.latency_ms)
    assert state_name(link.state, LINK_STATES) == "probing"
    status = mission_status_msg("failed", mission_id="m", stamp_ns=0, message="no path")
    assert status.state == m.MissionStatus.FAILED
    assert state_name(status.state, MISSION_STATES) == "failed"
    with pytest.raises(InvalidInputError, match="unknown link state"):
        link_state_msg("flaky", mode="cloud", stamp_ns=0)
    with pytest.raises(InvalidInputError, match="unknown mission state"):
        mission_status_msg("done", mission_id="m", stamp_ns=0)


@pytest.mark.ros
def test_plan_crosses_processes(probe):
    """A child process publishes a Plan; this process receives it intact."""
    from tests.ros.conftest import DOMAIN_ID

    received = []
    probe.node.create_subscription(interfaces.msg().Plan, "/plan", received.append,
                                   qos.latched_qos())
    code = textwrap.dedent("""
        import time, rclpy
        from embodied_collab.ros.convert_interfaces import plan_msg
        from embodied_collab.ros import qos, interfaces
        rclpy.init()
        node = rclpy.create_node("plan_pub")
        pub = node.create_publisher(interfaces.msg().Plan, "/plan", qos.latched_qos())
        pub.publish(plan_msg(["navigate table_1", "done"], mission_id="m7", planner="cloud",
                             stamp_ns=42))
        end = time.monotonic() + 20
        while time.monotonic() < end and not pub.get_subscription_count():
            rclpy.spin_once(node, timeout_sec=0.05)
        time.sleep(1.0)
        node.destroy_node(); rclpy.shutdown()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], env=procs.ros_env(DOMAIN_ID),
                            start_new_session=True)
    try:
        probe.wait_for(lambda: received, 30.0, "/plan from the child process")
    finally:
        procs.stop(proc)
    from embodied_collab.ros.convert_interfaces import plan_steps

    assert received[0].mission_id == "m7" and plan_steps(received[0]) == ["navigate table_1",
                                                                         "done"]
