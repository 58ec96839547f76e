"""The embodied_collab stack on the simulator (the simulator node stands in for the base).

    ros2 launch embodied_collab_bringup sim.launch.py
    ros2 launch embodied_collab_bringup sim.launch.py use_sim_time:=false namespace:=robot1

The nodes, parameter files and remappable topics come from embodied_collab.ros.graph, the same
declaration ``embodied-collab ros up --sim`` hosts in one process. ``ros2 launch --show-args``
lists every argument with its default and description.
"""

from pathlib import Path

from embodied_collab.ros.launch_gen import generate


def generate_launch_description():
    return generate("sim", params_dir=Path(__file__).resolve().parent / "params")
