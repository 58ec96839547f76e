"""The one declaration of the ROS 2 node graph.

``launch/sim.launch.py`` and ``launch/robot.launch.py`` build their ``launch_ros`` ``Node``
actions from :data:`GRAPH`, and :mod:`embodied_collab.ros.host` brings up the same nodes with the
same parameter files and remappings in one process (or one process per node), so the launch
files and the embedded stack cannot drift. This module is plain Python (no ``rclpy``); the
ament package in ``ros_ws/`` reads it at build time to install one executable per node.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The ament package that installs the executables, launch files and parameter files.
PACKAGE = "embodied_collab_bringup"

#: The ament package holding the project's own message and service definitions.
INTERFACES_PACKAGE = "embodied_collab_interfaces"

#: Where launch files and parameter files live in the source tree (installed to share/PACKAGE).
LAUNCH_DIR = Path(__file__).resolve().parents[2] / "launch"
PARAMS_DIR = LAUNCH_DIR / "params"

#: Graph modes: the stack on the simulator, or the same stack on a real robot base.
MODES = ("sim", "robot")

#: Topic keys and their default names. Every topic a node uses is remappable by its key: the
#: launch argument ``<key>_topic`` (``ros2 launch ... cmd_vel_topic:=/base/cmd_vel``) and
#: ``embodied-collab ros up --remap cmd_vel=/base/cmd_vel`` both remap the default name.
TOPICS: dict[str, str] = {
    "cmd_vel": "/cmd_vel",
    "odom": "/odom",
    "scan": "/scan",
    "image": "/camera/image_raw",
    "depth": "/camera/depth/image_raw",
    "camera_info": "/camera/camera_info",
    # -- on-board vision (issue 8) --
    "detections": "/vision/detections",
    "detections_image": "/vision/detections/image",
    # -- on-board speech (issue 4) --
    "audio": "/audio",
    "transcript": "/speech/transcript",
    "intent": "/speech/intent",
    "say": "/speech/say",
    "speech_audio": "/speech/audio_out",
    "speech_ready": "/speech/ready",
    # -- fast control (issue 9): goals by name or pose in, goal status (JSON, latched) out --
    "control_goal": "/control/goal",
    "control_status": "/control/status",
    # -- mission executive (issue 7) --
    "mission_status": "/executive/mission_status",
    "link_state": "/executive/link_state",
}

#: Services the simulator offers in place of a real manipulator driver (remappable as topics).
SERVICES: dict[str, str] = {
    "pick": "/manipulation/pick",
    "place": "/manipulation/place",
    "open": "/manipulation/open",
    # -- mission executive (issue 7): submit / cancel missions --
    "mission_submit": "/executive/submit",
    "mission_cancel": "/executive/cancel",
}


@dataclass(frozen=True)
class LaunchArgument:
    """A launch argument shared by every launch file (always with a default and description)."""

    name: str
    default: str
    description: str


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph.

    Attributes:
        name: ROS node name; also the top-level key of its parameter file.
        executable: the executable installed in ``lib/<PACKAGE>/`` (``ros2 run PACKAGE exe``).
        entry: ``"module:Class"`` of the rclpy node class, for hosting it in-process.
        params_file: parameter file name in ``launch/params/`` (``ros__parameters`` form).
        config: ``"module:Class"`` of the config dataclass the parameters mirror.
        modes: graph modes the node runs in (``"sim"``, ``"robot"``).
        topics: keys of :data:`TOPICS` and :data:`SERVICES` the node uses (remapped by key).
        description: one line for ``--help`` and the docs.
    """

    name: str
    executable: str
    entry: str
    params_file: str
    config: str
    modes: frozenset[str]
    topics: tuple[str, ...] = ()
    description: str = ""

    def node_class(self) -> type:
        """Import and return the node class (imports rclpy)."""
        return _load(self.entry)

    def config_class(self) -> type:
        """Import and return the config dataclass (plain Python)."""
        return _load(self.config)

    def params_path(self, params_dir: str | Path | None = None) -> Path:
        """Path of this node's parameter file in ``params_dir`` (default: the source tree)."""
        return Path(params_dir or PARAMS_DIR) / self.params_file


GRAPH: tuple[NodeSpec, ...] = (
    NodeSpec(
        name="sim",
        executable="sim_node",
        entry="embodied_collab.ros.sim_node:SimNode",
        params_file="sim.yaml",
        config="embodied_collab.ros.config_sim_node:SimNodeConfig",
        modes=frozenset({"sim"}),
        topics=("cmd_vel", "odom", "scan", "image", "depth", "camera_info", "pick", "place",
                "open"),
        description="simulated robot base: odometry, lidar, RGB-D camera, manipulation services",
    ),
    # -- fast control (issue 9) --
    NodeSpec(
        name="control",
        executable="control_node",
        entry="embodied_collab.ros.control_node:ControlNode",
        params_file="control.yaml",
        config="embodied_collab.ros.config_control_node:ControlNodeConfig",
        modes=frozenset({"sim", "robot"}),
        topics=("cmd_vel", "odom", "scan", "control_goal", "control_status"),
        description="fast control: global path, local controller, safety governor -> /cmd_vel",
    ),
    # -- on-board vision (issue 8) --
    NodeSpec(
        name="vision",
        executable="vision_node",
        entry="embodied_collab.ros.vision_node:VisionNode",
        params_file="vision.yaml",
        config="embodied_collab.vision.config_vision:VisionConfig",
        modes=frozenset({"sim", "robot"}),
        topics=("image", "depth", "camera_info", "odom", "detections", "detections_image"),
        description="object detector: camera in, located detections and annotated image out",
    ),
    # -- on-board speech (issue 4) --
    NodeSpec(
        name="speech",
        executable="speech_node",
        entry="embodied_collab.ros.speech_node:SpeechNode",
        params_file="speech.yaml",
        config="embodied_collab.speech.config_speech:SpeechNodeConfig",
        modes=frozenset({"sim", "robot"}),
        topics=("audio", "transcript", "intent", "say", "speech_audio", "speech_ready"),
        description="speech: audio in, transcripts and grounded intents out; text to speak in",
    ),
    # -- mission executive (issue 7) --
    NodeSpec(
        name="executive",
        executable="executive_node",
        entry="embodied_collab.ros.executive_node:ExecutiveNode",
        params_file="executive.yaml",
        config="embodied_collab.executive.config_executive:ExecutiveNodeConfig",
        modes=frozenset({"sim", "robot"}),
        topics=("mission_submit", "mission_cancel", "mission_status", "link_state",
                "control_goal", "control_status", "odom", "pick", "place", "open"),
        description="mission executive: submit / cancel / watch missions; navigation goals to "
                    "the control node, manipulation by the manipulation services",
    ),
)



def launch_arguments(mode: str) -> tuple[LaunchArgument, ...]:
    """The launch arguments of the ``mode`` launch file, each with a default and a description.

    Raises:
        ValueError: if ``mode`` is unknown.
    """
    nodes_for(mode)
    sim_time = LaunchArgument(
        "use_sim_time",
        "true" if mode == "sim" else "false",
        "use the /clock topic as time source (the simulator publishes it; on a robot keep "
        "false unless a bag or an external simulator provides /clock)",
    )
    return (sim_time, *_COMMON_ARGUMENTS)


_COMMON_ARGUMENTS: tuple[LaunchArgument, ...] = (
    LaunchArgument("namespace", "", "namespace for every node of the stack"),
    LaunchArgument("params_dir", "", "directory of per-node parameter YAML files "
                   "('' = the params/ folder next to this launch file)"),
    LaunchArgument("log_level", "info", "log level of every node (debug, info, warn, error)"),
    *(LaunchArgument(f"{key}_topic", name, f"topic name for {key} (remaps {name})")
      for key, name in {**TOPICS, **SERVICES}.items()),
)


def nodes_for(mode: str) -> tuple[NodeSpec, ...]:
    """The nodes that run in ``mode`` (``"sim"`` or ``"robot"``), in declaration order.

    Raises:
        ValueError: if ``mode`` is unknown.
    """
    if mode not in MODES:
        raise ValueError(f"unknown graph mode {mode!r}; known: {list(MODES)}")
    return tuple(spec for spec in GRAPH if mode in spec.modes)


def node_spec(name: str) -> NodeSpec:
    """The node named ``name`` (its ROS name or its executable name).

    Raises:
        ValueError: if no node has that name.
    """
    for spec in GRAPH:
        if name in (spec.name, spec.executable):
            return spec
    known = [s.name for s in GRAPH]
    raise ValueError(f"unknown node {name!r}; known: {known}")


def remappings(spec: NodeSpec, topics: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """``(default, actual)`` remapping pairs of ``spec`` given overrides ``{key: name}``.

    Raises:
        ValueError: if an override names an unknown topic key.
    """
    topics = dict(topics or {})
    names = {**TOPICS, **SERVICES}
    unknown = sorted(set(topics) - set(names))
    if unknown:
        raise ValueError(f"unknown topic key(s) {unknown}; known: {sorted(names)}")
    return [(names[k], topics[k]) for k in spec.topics if k in topics and topics[k] != names[k]]


def ros_args(
    spec: NodeSpec,
    *,
    params_dir: str | Path | None = None,
    topics: dict[str, str] | None = None,
    use_sim_time: bool | None = None,
    namespace: str = "",
    log_level: str | None = None,
) -> list[str]:
    """The ``--ros-args`` command line that gives ``spec`` the same setup a launch file gives.

    Used for in-process hosting (``Node(cli_args=...)``) and for one process per node.
    """
    args = ["--ros-args", "-r", f"__node:={spec.name}"]
    if namespace:
        args += ["-r", f"__ns:={namespace if namespace.startswith('/') else '/' + namespace}"]
    path = spec.params_path(params_dir)
    if path.is_file():
        args += ["--params-file", str(path)]
    if use_sim_time is not None:
        args += ["-p", f"use_sim_time:={'true' if use_sim_time else 'false'}"]
    for src, dst in remappings(spec, topics):
        args += ["-r", f"{src}:={dst}"]
    if log_level:
        args += ["--log-level", f"{spec.name}:={log_level}"]
    return args


def params_key(spec: NodeSpec) -> str:
    """Top-level key of ``spec``'s parameter file: the node in any namespace."""
    return f"/**/{spec.name}"


def read_params(spec: NodeSpec, params_dir: str | Path | None = None) -> dict[str, Any]:
    """The ``ros__parameters`` of ``spec`` in its parameter file ({} if there is none).

    Raises:
        InvalidFileError: if the file is not valid YAML or not in ``ros__parameters`` form.
    """
    import yaml

    from embodied_collab.errors import InvalidFileError

    path = spec.params_path(params_dir)
    if not path.is_file():
        return {}
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InvalidFileError(f"not valid YAML: {exc}", path=str(path)) from exc
    for key in (params_key(spec), spec.name, "/" + spec.name):
        if key in doc:
            section = doc[key]
            if not isinstance(section, dict) or not isinstance(
                section.get("ros__parameters"), dict
            ):
                raise InvalidFileError("expected {ros__parameters: {...}}", path=str(path),
                                       json_path=f"$.{key}")
            return dict(section["ros__parameters"])
    raise InvalidFileError(f"no section for node {spec.name!r} (expected key "
                           f"{params_key(spec)!r})", path=str(path))


def _load(ref: str) -> type:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def _main() -> None:  # used by ros_ws/src/embodied_collab_bringup/CMakeLists.txt
    import sys

    if sys.argv[1:] == ["--executables"]:
        sys.stdout.write(";".join(spec.executable for spec in GRAPH))
    elif sys.argv[1:] == ["--launch-dir"]:
        sys.stdout.write(str(LAUNCH_DIR))
    else:
        raise SystemExit("usage: python -m embodied_collab.ros.graph --executables|--launch-dir")


if __name__ == "__main__":
    _main()
