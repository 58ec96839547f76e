"""The ROS executive node over real DDS (private domain): submit a mission by service, watch its
status and the link state; the executive behind it uses the FAKE cloud (down) and FAKE oracle
planner (this test covers the ROS interface, not the planners)."""

from __future__ import annotations

import threading
import time

import pytest

from embodied_collab.ros import interfaces

pytest.importorskip("rclpy")
pytestmark = [pytest.mark.ros,
              pytest.mark.skipif(not interfaces.load(), reason="ros_ws not built")]


def test_submit_watch_cancel_over_dds(tmp_path):
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    from embodied_collab.ros import procs
    from embodied_collab.ros.executive_node import ExecutiveNode

    from .fakes import local_executive

    domain = procs.unique_domain_id() + 7
    procs.use_private_domain(domain)
    ex, _ = local_executive(tmp_path, time_scale=20.0)
    ex.start()
    msg, srv = interfaces.msg(), interfaces.srv()
    ctx_a, ctx_b = Context(), Context()
    for c in (ctx_a, ctx_b):
        rclpy.init(context=c, domain_id=domain, signal_handler_options=SignalHandlerOptions.NO)
    node = probe = spin = None
    stop = threading.Event()
    try:
        node = ExecutiveNode("executive", context=ctx_a, executive=ex,
                             parameter_overrides=[])
        exe_a = MultiThreadedExecutor(context=ctx_a)
        exe_a.add_node(node)
        spin = threading.Thread(target=lambda: [exe_a.spin_once(timeout_sec=0.05)
                                                for _ in iter(lambda: stop.is_set(), True)],
                                daemon=True)
        spin.start()
        probe = rclpy.create_node("probe", context=ctx_b)
        exe_b = SingleThreadedExecutor(context=ctx_b)
        exe_b.add_node(probe)
        statuses, links = [], []
        probe.create_subscription(msg.MissionStatus, "/executive/mission_status",
                                  statuses.append, 50)
        probe.create_subscription(msg.LinkState, "/executive/link_state", links.append, 10)
        submit = probe.create_client(srv.SubmitMission, "/executive/submit")
        assert submit.wait_for_service(timeout_sec=10.0)

        def wait(pred, timeout, what):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                if pred():
                    return
                exe_b.spin_once(timeout_sec=0.02)
            pytest.fail(f"timed out waiting for {what}")

        fut = submit.call_async(srv.SubmitMission.Request(text="", mission_id=""))
        wait(fut.done, 10.0, "submit answer (empty)")
        assert not fut.result().accepted and "non-empty" in fut.result().message
        from embodied_collab.sim.generate import generate_task

        text = generate_task(0, "multi_step").instruction
        fut = submit.call_async(srv.SubmitMission.Request(text=text, mission_id="cmd-ros-1"))
        wait(fut.done, 10.0, "submit answer")
        assert fut.result().accepted and fut.result().mission_id == "cmd-ros-1"
        assert ex.journal.get("cmd-ros-1") is not None  # journaled before the answer
        wait(lambda: any(s.state == 2 for s in statuses), 60.0, "mission succeeded")
        done = [s for s in statuses if s.state == 2][0]
        assert done.mission_id == "cmd-ros-1" and done.planner == "local"
        wait(lambda: links, 10.0, "link state")
        assert links[-1].mode == "local"
        cancel = probe.create_client(srv.CancelMission, "/executive/cancel")
        assert cancel.wait_for_service(timeout_sec=10.0)
        fut = cancel.call_async(srv.CancelMission.Request(mission_id="cmd-ros-1"))
        wait(fut.done, 10.0, "cancel answer")
        assert not fut.result().success  # already finished: nothing to cancel, said so
    finally:
        stop.set()
        if spin is not None:
            spin.join(timeout=5.0)  # the spinning thread leaves before its context shuts down
        ex.stop()
        if node is not None:
            node.destroy_node()
        if probe is not None:
            probe.destroy_node()
        for c in (ctx_a, ctx_b):
            c.try_shutdown()
        ex.journal.close()
