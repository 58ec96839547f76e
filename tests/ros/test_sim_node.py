"""The simulator node in a child process, driven by a test node in this process, over DDS."""

from __future__ import annotations

import math
import time

import pytest

from embodied_collab.ros import convert, interfaces, qos
from embodied_collab.ros.graph import SERVICES

pytestmark = pytest.mark.ros

STARTUP_S = 60.0  # first start on a busy 2-core machine (imports + world generation)


def _collect(probe, topic_types):
    from nav_msgs.msg import Odometry

    got = {topic: [] for topic in topic_types}
    for topic, msg_type in topic_types.items():
        profile = qos.state_qos() if msg_type is Odometry else qos.sensor_qos()
        probe.node.create_subscription(
            msg_type, topic, lambda m, t=topic: got[t].append((time.monotonic(), m)), profile)
    return got


def _rate(samples):
    times = [t for t, _ in samples]
    return (len(times) - 1) / (times[-1] - times[0])


def test_sensor_topics_arrive_at_their_configured_rates(sim_process, probe):
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import CameraInfo, Image, LaserScan

    got = _collect(probe, {"/odom": Odometry, "/scan": LaserScan, "/camera/image_raw": Image,
                           "/camera/depth/image_raw": Image, "/camera/camera_info": CameraInfo})
    probe.wait_for(lambda: all(got.values()), STARTUP_S, "every sensor topic")
    for samples in got.values():
        samples.clear()
    probe.spin_for(3.0)
    # configured in conftest: odom 20 Hz, scan 10 Hz, camera 15 Hz
    for topic, expected in (("/odom", 20.0), ("/scan", 10.0), ("/camera/image_raw", 15.0),
                            ("/camera/depth/image_raw", 15.0), ("/camera/camera_info", 15.0)):
        assert _rate(got[topic]) == pytest.approx(expected, rel=0.25), topic
    image = got["/camera/image_raw"][-1][1]
    assert (image.encoding, image.width, image.height) == ("rgb8", 160, 120)
    rgb = convert.image_to_array(image)
    assert rgb.shape == (120, 160, 3) and rgb.std() > 0  # a rendered scene, not a blank
    depth = convert.image_to_array(got["/camera/depth/image_raw"][-1][1])
    assert depth.dtype.name == "float32" and depth.shape == (120, 160) and depth.max() > 0
    info = got["/camera/camera_info"][-1][1]
    assert info.k[0] > 0 and (info.width, info.height) == (160, 120)
    scan = got["/scan"][-1][1]
    ranges = convert.scan_to_array(scan)
    assert ranges.size > 8 and (ranges <= scan.range_max).all() and ranges.min() < scan.range_max
    odom = got["/odom"][-1][1]
    assert (odom.header.frame_id, odom.child_frame_id) == ("odom", "base_link")
    # wall-clock stamps (use_sim_time false): close to now
    assert abs(convert.stamp_ns(image.header.stamp) - time.time_ns()) < 5e9


def test_robot_moves_when_cmd_vel_is_published(sim_process, probe):
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry

    odoms = []
    probe.node.create_subscription(Odometry, "/odom", odoms.append, qos.state_qos())
    pub = probe.node.create_publisher(Twist, "/cmd_vel", qos.command_qos())
    probe.wait_for(lambda: odoms and pub.get_subscription_count(), STARTUP_S, "/odom")
    (_, _, theta0), _ = convert.odometry_to_pose(odoms[-1])

    end = time.monotonic() + 1.5
    while time.monotonic() < end:  # turn in place: never blocked by an obstacle
        pub.publish(convert.twist_msg(0.0, 1.0))
        probe.spin_for(0.05)
    (_, _, theta1), (_, w) = convert.odometry_to_pose(odoms[-1])
    turned = math.atan2(math.sin(theta1 - theta0), math.cos(theta1 - theta0))
    assert w > 0.5
    assert abs(turned) > 0.5, f"robot turned only {turned:.3f} rad"

    pub.publish(convert.twist_msg(0.0, 0.0))
    probe.wait_for(lambda: abs(convert.odometry_to_pose(odoms[-1])[1][1]) < 1e-6, 5.0,
                   "the robot to stop")


def test_parameters_are_validated_over_dds(sim_process, probe):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import GetParameters, SetParameters

    setter = probe.node.create_client(SetParameters, "/sim/set_parameters")
    getter = probe.node.create_client(GetParameters, "/sim/get_parameters")

    def set_double(name, value):
        p = Parameter(name=name, value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE,
                                                      double_value=value))
        return probe.call(setter, SetParameters.Request(parameters=[p]), STARTUP_S).results[0]

    bad = set_double("rate_factor", -1.0)
    assert not bad.successful
    assert "rate_factor must be in (0, 100.0], got -1.0" in bad.reason

    seed = Parameter(name="world_seed", value=ParameterValue(
        type=ParameterType.PARAMETER_INTEGER, integer_value=3))
    result = probe.call(setter, SetParameters.Request(parameters=[seed]), 10.0).results[0]
    assert not result.successful and "read-only" in result.reason

    assert set_double("scan_rate_hz", 5.0).successful
    values = probe.call(getter, GetParameters.Request(names=["scan_rate_hz", "rate_factor"]),
                        10.0).values
    assert [v.double_value for v in values] == [5.0, 1.0]
    assert set_double("scan_rate_hz", 10.0).successful


@pytest.mark.skipif(not interfaces.load(), reason="ros_ws not built (scripts/build_ros_ws.sh)")
def test_manipulation_services_answer_with_a_reason(sim_process, probe):
    srv = interfaces.srv()
    pick = probe.node.create_client(srv.Pick, SERVICES["pick"])
    response = probe.call(pick, srv.Pick.Request(object_id="no_such_object"), STARTUP_S)
    assert not response.success and "no_such_object" in response.message
    open_ = probe.node.create_client(srv.Open, SERVICES["open"])
    response = probe.call(open_, srv.Open.Request(furniture_id="no_such_furniture"), 10.0)
    assert not response.success and "no_such_furniture" in response.message
