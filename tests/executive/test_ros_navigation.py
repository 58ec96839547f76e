"""The mission's robot over ROS 2, on real DDS (private loopback domain): the simulator and
control nodes hosted from the graph declaration on the task's world, the executive's
navigation goals sent to the control node, which drives the simulated base over /cmd_vel, and
pick / place by the simulator node's services. The decisions come from the FAKE oracle planner
(the planners are tested elsewhere); what is under test is the ROS robot, and the executive node
of the graph (submit, watch, cancel over services and topics).
"""

from __future__ import annotations

import math
import threading
import time

import pytest

from embodied_collab.ros import interfaces
from tests.ros.conftest import Probe

pytest.importorskip("rclpy")
pytestmark = [pytest.mark.ros,
              pytest.mark.skipif(not interfaces.load(), reason="ros_ws not built")]

LIGHT_SIM = {"camera_rate_hz": 1.0, "camera_width": 32, "camera_height": 24}


@pytest.fixture(scope="module")
def domain():
    from embodied_collab.ros import procs

    d = procs.unique_domain_id() + 11
    procs.use_private_domain(d)
    return d


@pytest.fixture
def graph(tmp_path, domain):
    """sim + control on the fetch task's world (from a world file), and a navigator node in a
    context of its own; yields (host, navigator, task)."""
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    from embodied_collab.ros.host import GraphHost, spin_in_thread, stop_spinning
    from embodied_collab.ros.navigation_client import RosNavigator
    from embodied_collab.sim.generate import generate_task

    task = generate_task(0, "fetch")
    world_file = tmp_path / "world.json"
    task.world().save(world_file)
    host = GraphHost("sim", exclude=("executive", "vision", "speech"), overrides={
        "sim": {"world_path": str(world_file), **LIGHT_SIM},
        "control": {"world_path": str(world_file)}})
    ctx = Context()
    node = executor = thread = None
    host.start()
    try:
        rclpy.init(context=ctx, domain_id=domain, signal_handler_options=SignalHandlerOptions.NO)
        node = rclpy.create_node("mission_robot", context=ctx)
        nav = RosNavigator(node, goal_timeout_s=90.0, connect_timeout_s=20.0)
        executor = SingleThreadedExecutor(context=ctx)
        executor.add_node(node)
        thread, stopped = spin_in_thread(executor)
        assert nav.connected(30.0), "control node not found over DDS"
        yield host, nav, task
    finally:
        if thread is not None:
            stop_spinning(executor, thread, stopped)
        if node is not None:
            node.destroy_node()
        ctx.try_shutdown()
        host.shutdown()


def test_mission_navigation_is_driven_by_the_control_node_over_ros(tmp_path, graph):
    from embodied_collab.executive.mission import DONE

    from .fakes import local_executive

    host, nav, task = graph
    sim = host.node("sim").sim
    start = sim.pose
    teleports = []
    original = sim.set_pose
    sim.set_pose = lambda *a: teleports.append(a) or original(*a)  # watch for teleports
    ex, _ = local_executive(tmp_path, time_scale=10.0, navigation="ros", navigator=nav)
    from embodied_collab.executive.executive import task_payload

    m = ex.submit(task.instruction, payload=task_payload(task))
    ex.start()
    try:
        ex.wait(m.command_id, 240.0)
    finally:
        ex.stop()
        ex.journal.close()
    assert m.state == DONE, (m.state, m.reason, m.actions)
    assert teleports == []  # nothing put the base anywhere: it was driven
    robot = ex.robots[m.command_id]
    navs = [a for a in m.actions if a["action"].startswith("navigate")]
    assert navs and all(a["ok"] for a in navs)
    assert all(a["path_points"] > 5 for a in navs)  # odometry recorded along the way
    assert math.dist(sim.pose[:2], start[:2]) > 0.5
    # the base ended where the executive believes it is (within the goal tolerance)
    assert math.dist(sim.pose[:2], robot.pose[:2]) < 0.3
    # pick and place were carried out by the simulator node: its own world has the object
    # where the task wanted it
    assert task.is_success(sim.world), [o.to_dict() for o in sim.world.objects
                                         if o.id == task.goal.object]


def test_navigation_cancel_stops_the_base_and_bad_goals_fail_with_a_reason(graph):
    host, nav, task = graph
    sim = host.node("sim").sim
    world = task.world()
    far = max(world.furniture, key=lambda f: math.dist(f.approach[:2], sim.pose[:2]))
    cancel = threading.Event()
    timer = threading.Timer(3.0, cancel.set)
    timer.start()
    t0 = time.monotonic()
    x0, y0, th0 = sim.pose
    try:
        driven = nav.drive([sim.pose[:2], far.approach[:2]], cancel)
    finally:
        timer.cancel()
    assert nav.last_status == "idle" and nav.last_message == "cancelled"
    assert time.monotonic() - t0 < 6.0
    x1, y1, th1 = sim.pose  # it was under way (turning or driving) when cancelled
    assert math.dist((x0, y0), (x1, y1)) > 0.05 or abs(th1 - th0) > 0.1
    assert driven[0] == pytest.approx((x0, y0), abs=0.05)
    trace = []
    for _ in range(30):
        time.sleep(0.1)
        trace.append((round(time.monotonic() - t0, 2), host.node("control").loop.status.value,
                      tuple(round(x, 3) for x in sim.velocity)))
    v, w = sim.velocity
    assert abs(v) < 0.05 and abs(w) < 0.1, trace
    # a goal outside the house: the control node says why, the navigator passes it on
    nav.drive([sim.pose[:2], (500.0, 500.0)])
    assert nav.last_status == "failed" and nav.last_message
    ok, message = nav.manipulate("pick", "no_such_object")
    assert not ok and "no_such_object" in message
    with pytest.raises(ValueError, match="pick, place or open"):
        nav.manipulate("throw", "x")


def test_navigation_ros_needs_a_navigator(tmp_path):
    from embodied_collab.errors import InvalidInputError
    from embodied_collab.executive.config_executive import ExecutiveConfig
    from embodied_collab.executive.executive import sim_robot_factory
    from embodied_collab.ros.navigation_client import RosNavigator

    with pytest.raises(InvalidInputError, match="needs a ROS navigator"):
        sim_robot_factory(ExecutiveConfig(journal_path=str(tmp_path / "j"), navigation="ros"))
    with pytest.raises(ValueError, match="goal_timeout_s"):
        RosNavigator(goal_timeout_s=0)
    with pytest.raises(RuntimeError, match="not bound"):
        RosNavigator().drive([(0.0, 0.0), (1.0, 1.0)])
    from embodied_collab.ros.host import GraphHost

    with pytest.raises(ValueError, match="cannot exclude node.*planner9000"):
        GraphHost("sim", exclude=("planner9000",))
    assert "executive" not in {s.name for s in GraphHost("sim", exclude=("executive",)).specs}


def test_executive_node_of_the_graph_accepts_and_cancels_over_dds(tmp_path, domain):
    """The executive node as the graph declares it (built from its parameters, navigation over
    ROS): a mission submitted by service is journaled and runs; the cancel service ends it."""
    from embodied_collab.ros.host import GraphHost

    host = GraphHost("sim", exclude=("vision", "speech"), overrides={
        "sim": LIGHT_SIM,
        "executive": {"journal_path": str(tmp_path / "journal.sqlite"), "difficulty": "fetch"}})
    host.start()
    probe = None
    msg, srv = interfaces.msg(), interfaces.srv()
    try:
        probe = Probe("mission_client", domain_id=domain)
        statuses = []
        probe.node.create_subscription(msg.MissionStatus, "/executive/mission_status",
                                       statuses.append, 50)
        submit = probe.node.create_client(srv.SubmitMission, "/executive/submit")
        cancel = probe.node.create_client(srv.CancelMission, "/executive/cancel")
        res = probe.call(submit, srv.SubmitMission.Request(text="   ", mission_id=""), 30.0)
        assert not res.accepted and "non-empty" in res.message
        from embodied_collab.sim.generate import generate_task

        text = generate_task(0, "fetch").instruction
        res = probe.call(submit, srv.SubmitMission.Request(text=text, mission_id="ros-m1"), 30.0)
        assert res.accepted and res.mission_id == "ros-m1", res.message
        ex = host.node("executive").executive
        assert ex.journal.get("ros-m1") is not None
        probe.wait_for(lambda: any(s.mission_id == "ros-m1" and s.state == 1 for s in statuses),
                       60.0, "the mission active on /executive/mission_status")
        res = probe.call(cancel, srv.CancelMission.Request(mission_id="ros-m1"), 30.0)
        assert res.success, res.message
        m = ex.missions["ros-m1"]
        probe.wait_for(lambda: any(s.mission_id == "ros-m1" and s.state == 4
                                   for s in statuses), 30.0,
                       lambda: f"the mission cancelled (it is {m.state}: {m.reason})")
        assert ex.missions["ros-m1"].state == "cancelled"
        assert "cancel service" in ex.missions["ros-m1"].reason
    finally:
        if probe is not None:
            probe.close()
        host.shutdown()
