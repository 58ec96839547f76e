"""``embodied-collab ros ...`` and ``embodied-collab bench ros``."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from embodied_collab.errors import InvalidInputError

logger = logging.getLogger(__name__)


def register(sub: Any, groups: dict[str, Any]) -> None:
    """Add the ``ros`` command group and ``bench ros`` (see embodied_collab.cli.main)."""
    ros = sub.add_parser("ros", help="run the ROS 2 node graph (simulator, stack)")
    ros_sub = ros.add_subparsers(dest="ros_command", metavar="ACTION", required=True)

    run = ros_sub.add_parser("run", help="run one node of the graph in this process",
                             description="Run one node; arguments after NODE are ROS arguments "
                             "(--ros-args -p name:=value -r from:=to --params-file f).")
    run.add_argument("--executor", choices=("events", "multi"), default=None,
                     help="rclpy executor (default: $EMBODIED_COLLAB_ROS_EXECUTOR, else events)")
    run.add_argument("node", help="node name from the graph (e.g. sim)")
    run.add_argument("ros_args", nargs=argparse.REMAINDER, help="ROS arguments")
    run.set_defaults(func=_cmd_run)

    up = ros_sub.add_parser("up", help="host the whole graph in one process on one executor")
    mode = up.add_mutually_exclusive_group()
    mode.add_argument("--sim", dest="mode", action="store_const", const="sim",
                      help="the stack on the simulator (default)")
    mode.add_argument("--robot", dest="mode", action="store_const", const="robot",
                      help="the stack without the simulator, for a real base")
    up.set_defaults(mode="sim", func=_cmd_up)
    up.add_argument("--params-dir", default=None, help="directory of per-node parameter YAMLs")
    up.add_argument("--use-sim-time", choices=("true", "false"), default=None,
                    help="set use_sim_time on every node (default: sim true, robot false)")
    up.add_argument("--namespace", default="", help="namespace of every node")
    up.add_argument("--remap", action="append", default=[], metavar="KEY=TOPIC",
                    help="rename a topic by key, e.g. cmd_vel=/base/cmd_vel (repeatable)")
    up.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                    help="override a parameter, e.g. sim.rate_factor=2.0 (repeatable)")
    up.add_argument("--executor", choices=("events", "multi"), default=None,
                    help="rclpy executor (default: $EMBODIED_COLLAB_ROS_EXECUTOR, else events)")
    up.add_argument("--duration", type=float, default=None,
                    help="stop after this many seconds (default: run until Ctrl-C)")

    graph = ros_sub.add_parser("graph", help="print the declared node graph")
    graph.add_argument("--json", action="store_true", help="print JSON")
    graph.set_defaults(func=_cmd_graph)

    bench = groups["bench"].add_parser("ros", help="sensor rates and /cmd_vel->/odom latency "
                                       "across processes over DDS")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.add_argument("--duration", type=float, default=5.0, help="sensor window, seconds")
    bench.add_argument("--width", type=int, default=320, help="camera width")
    bench.add_argument("--height", type=int, default=240, help="camera height")
    bench.add_argument("--camera-hz", type=float, default=30.0, help="camera rate")
    bench.add_argument("--scan-hz", type=float, default=10.0, help="lidar rate")
    bench.add_argument("--cmd-samples", type=int, default=200, help="/cmd_vel round trips")
    bench.add_argument("--baseline", action="store_true",
                       help="also time the command loop against a bare echo node")
    bench.add_argument("--executor", choices=("events", "multi"), default=None,
                       help="rclpy executor of the simulator node and of the measuring nodes "
                       "(default: $EMBODIED_COLLAB_ROS_EXECUTOR, else events)")
    bench.set_defaults(func=_cmd_bench)


def _cmd_run(args: argparse.Namespace) -> int:
    from embodied_collab.ros.host import run_node

    try:
        return run_node(args.node, args.ros_args, executor=args.executor)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc


def _parse_value(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def _cmd_up(args: argparse.Namespace) -> int:
    from embodied_collab.ros.host import GraphHost

    topics = {}
    for item in args.remap:
        key, sep, name = item.partition("=")
        if not sep or not name:
            raise InvalidInputError(f"--remap expects KEY=TOPIC, got {item!r}")
        topics[key] = name
    overrides: dict[str, dict[str, Any]] = {}
    for item in args.set:
        lhs, sep, value = item.partition("=")
        node, dot, param = lhs.partition(".")
        if not sep or not dot:
            raise InvalidInputError(f"--set expects NODE.PARAM=VALUE, got {item!r}")
        overrides.setdefault(node, {})[param] = _parse_value(value)
    sim_time = {"true": True, "false": False, None: args.mode == "sim"}[args.use_sim_time]
    try:
        host = GraphHost(args.mode, params_dir=args.params_dir, topics=topics,
                         use_sim_time=sim_time, namespace=args.namespace, overrides=overrides,
                         executor=args.executor)
        host.start()
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc
    try:
        host.wait(args.duration)
    finally:
        host.shutdown()
    return 0


def _cmd_graph(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.ros import graph

    nodes = [{"name": s.name, "executable": s.executable, "entry": s.entry,
              "params_file": s.params_file, "modes": sorted(s.modes), "topics": list(s.topics),
              "description": s.description} for s in graph.GRAPH]
    if args.json:
        print_json({"package": graph.PACKAGE, "nodes": nodes, "topics": graph.TOPICS,
                    "services": graph.SERVICES})
    else:
        for n in nodes:
            print(f"{n['name']:<12} {n['executable']:<14} {','.join(n['modes']):<10} "
                  f"{n['description']}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.ros.bench import run_bench

    result = run_bench(duration_s=args.duration, width=args.width, height=args.height,
                       camera_hz=args.camera_hz, scan_hz=args.scan_hz,
                       cmd_samples=args.cmd_samples, baseline=args.baseline,
                       executor=args.executor)
    if args.json:
        print_json(result)
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0
