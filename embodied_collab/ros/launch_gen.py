"""Build ``ros2 launch`` descriptions from the graph declaration (imports ``launch_ros``).

``launch/sim.launch.py`` and ``launch/robot.launch.py`` call :func:`generate`; the node list,
parameter files, remappable topics and launch arguments all come from
:mod:`embodied_collab.ros.graph`, the same declaration :mod:`embodied_collab.ros.host` brings up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from embodied_collab.ros.graph import (
    PACKAGE,
    SERVICES,
    TOPICS,
    launch_arguments,
    nodes_for,
)


def generate(mode: str, *, params_dir: str | Path) -> Any:
    """The ``LaunchDescription`` of graph ``mode`` (``"sim"`` or ``"robot"``).

    Args:
        mode: which nodes to start (see :func:`embodied_collab.ros.graph.nodes_for`).
        params_dir: default of the ``params_dir`` launch argument (the launch file's own
            ``params/`` folder, in the source tree and in ``share/embodied_collab_bringup``).
    """
    from launch.actions import DeclareLaunchArgument
    from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
    from launch_ros.actions import Node
    from launch_ros.parameter_descriptions import ParameterValue

    from launch import LaunchDescription

    entities: list[Any] = []
    for arg in launch_arguments(mode):
        default = str(params_dir) if arg.name == "params_dir" else arg.default
        entities.append(DeclareLaunchArgument(arg.name, default_value=default,
                                              description=arg.description))
    names = {**TOPICS, **SERVICES}
    use_sim_time = ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool)
    for spec in nodes_for(mode):
        entities.append(Node(
            package=PACKAGE,
            executable=spec.executable,
            name=spec.name,
            namespace=LaunchConfiguration("namespace"),
            parameters=[
                PathJoinSubstitution([LaunchConfiguration("params_dir"), spec.params_file]),
                {"use_sim_time": use_sim_time},
            ],
            remappings=[(names[key], LaunchConfiguration(f"{key}_topic")) for key in spec.topics],
            arguments=["--ros-args", "--log-level", LaunchConfiguration("log_level")],
            output="screen",
            emulate_tty=True,
        ))
    return LaunchDescription(entities)
