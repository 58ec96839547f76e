"""The embodied_collab stack on a real robot base: the same graph without the simulator node.

    ros2 launch embodied_collab_bringup robot.launch.py cmd_vel_topic:=/base/cmd_vel \
        odom_topic:=/base/odom scan_topic:=/scan_front

The base driver provides /cmd_vel, /odom, /scan and the camera topics; every topic name is a
launch argument (``<key>_topic``) remapped on every node. The nodes, parameter files and topics
come from embodied_collab.ros.graph, the same declaration ``embodied-collab ros up --robot``
hosts in one process.
"""

from pathlib import Path

from embodied_collab.ros.launch_gen import generate


def generate_launch_description():
    return generate("robot", params_dir=Path(__file__).resolve().parent / "params")
