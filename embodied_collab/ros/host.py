"""Bring the declared node graph up without ``ros2 launch``.

The embedded default hosts every node of a mode in one process on a ``MultiThreadedExecutor``
(:class:`GraphHost`); tests and deployments without launch run one node per process
(:func:`run_node`, also behind the executables the ament package installs). Both give each
node exactly what the launch files give it: its parameter file, ``use_sim_time`` and the topic
remappings, taken from :mod:`embodied_collab.ros.graph`.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embodied_collab.errors import require
from embodied_collab.ros.graph import NodeSpec, node_spec, nodes_for, ros_args

logger = logging.getLogger(__name__)

#: GIL switch interval of node processes (seconds); see :func:`run_node`.
SWITCH_INTERVAL_S = 0.0005


def make_node(
    spec: NodeSpec,
    *,
    context: Any = None,
    params_dir: str | Path | None = None,
    topics: dict[str, str] | None = None,
    use_sim_time: bool | None = None,
    namespace: str = "",
    overrides: dict[str, Any] | None = None,
) -> Any:
    """Instantiate ``spec``'s node class with its launch-equivalent arguments.

    Args:
        spec: the node declaration.
        context: the rclpy context (None = the default one).
        params_dir: directory of the parameter files (None = ``launch/params``).
        topics: topic overrides by key (see :data:`embodied_collab.ros.graph.TOPICS`).
        use_sim_time: set ``use_sim_time`` (None = leave the parameter file's value).
        namespace: namespace of the node.
        overrides: parameter values that win over the parameter file.

    Raises:
        ValueError: if a parameter does not validate (the config dataclass's message).
    """
    from rclpy.parameter import Parameter

    args = ros_args(spec, params_dir=params_dir, topics=topics, use_sim_time=use_sim_time,
                    namespace=namespace)
    params = [Parameter(k, value=v) for k, v in (overrides or {}).items()]
    return spec.node_class()(spec.name, context=context, cli_args=args,
                             use_global_arguments=False, parameter_overrides=params)


class GraphHost:
    """All nodes of one graph mode in one process, on a ``MultiThreadedExecutor``.

    Args:
        mode: ``"sim"`` or ``"robot"``.
        params_dir: directory of the parameter files (None = ``launch/params``).
        topics: topic overrides by key.
        use_sim_time: ``use_sim_time`` for every node (None = per parameter file).
        namespace: namespace of every node.
        overrides: per-node parameter overrides, ``{node_name: {param: value}}``.
        num_threads: executor threads (None = rclpy's default).

    Use as a context manager, or call :meth:`start` and :meth:`shutdown`.
    """

    def __init__(
        self,
        mode: str = "sim",
        *,
        params_dir: str | Path | None = None,
        topics: dict[str, str] | None = None,
        use_sim_time: bool | None = None,
        namespace: str = "",
        overrides: dict[str, dict[str, Any]] | None = None,
        num_threads: int | None = None,
    ) -> None:
        self.specs = nodes_for(mode)
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - {s.name for s in self.specs})
        if unknown:
            raise ValueError(f"overrides for node(s) {unknown} not in the {mode!r} graph")
        self._kwargs = dict(params_dir=params_dir, topics=topics, use_sim_time=use_sim_time,
                            namespace=namespace)
        self._overrides = overrides
        self._num_threads = num_threads
        self.nodes: list[Any] = []
        self._context: Any = None
        self._executor: Any = None
        self._thread: threading.Thread | None = None

    def start(self, *, background: bool = True, install_signal_handlers: bool = False) -> None:
        """Create the context, the nodes and the executor; spin in a thread if ``background``."""
        rclpy = require("rclpy", "ros")
        from rclpy.context import Context
        from rclpy.executors import MultiThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        self._context = Context()
        options = SignalHandlerOptions.ALL if install_signal_handlers else SignalHandlerOptions.NO
        rclpy.init(context=self._context, signal_handler_options=options)
        try:
            for spec in self.specs:
                self.nodes.append(make_node(spec, context=self._context,
                                            overrides=self._overrides.get(spec.name),
                                            **self._kwargs))
        except BaseException:
            self.shutdown()
            raise
        self._executor = MultiThreadedExecutor(num_threads=self._num_threads,
                                               context=self._context)
        for node in self.nodes:
            self._executor.add_node(node)
        logger.info("hosting %s", ", ".join(n.get_fully_qualified_name() for n in self.nodes))
        if background:
            self._thread = threading.Thread(target=self.spin, name="graph-host", daemon=True)
            self._thread.start()

    def spin(self) -> None:
        """Spin until the context shuts down (SIGINT/SIGTERM with signal handlers)."""
        from rclpy.executors import ExternalShutdownException

        try:
            self._executor.spin()
        except (ExternalShutdownException, KeyboardInterrupt):
            pass

    def ok(self) -> bool:
        """True while the host's context is running."""
        return self._context is not None and self._context.ok()

    def node(self, name: str) -> Any:
        """The hosted node named ``name``."""
        for node in self.nodes:
            if node.get_name() == name:
                return node
        raise KeyError(name)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop spinning, destroy the nodes and the context (idempotent)."""
        if self._executor is not None:
            self._executor.shutdown(timeout_sec=timeout)
        for node in self.nodes:
            node.destroy_node()
        self.nodes.clear()
        if self._context is not None:
            self._context.try_shutdown()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._executor = None
        self._context = None

    def __enter__(self) -> GraphHost:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def run_node(name: str, argv: Sequence[str] | None = None) -> int:
    """Run one node of the graph in this process until SIGINT/SIGTERM.

    ``argv`` may carry ROS arguments (``--ros-args --params-file f -r a:=b``), as given by
    ``ros2 run`` / ``ros2 launch`` to the installed executables. Without ``--params-file``
    the node's parameter file from ``launch/params`` is used.

    Returns:
        0 on a clean shutdown.

    Raises:
        ValueError: for an unknown node or a parameter that does not validate.
    """
    rclpy = require("rclpy", "ros")
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

    spec = node_spec(name)
    # Hand the GIL over sooner (default 5 ms) so that a command callback is not held up by a
    # thread rendering a camera frame.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    argv = list(argv or [])
    defaults = ros_args(spec)
    if "--params-file" in defaults:  # first, so that a --params-file in argv wins
        i = defaults.index("--params-file")
        argv = ["--ros-args", *defaults[i: i + 2], "--", *argv]
    rclpy.init(args=["embodied-collab", *argv])
    node = None
    try:
        node = spec.node_class()(spec.name)
        executor = MultiThreadedExecutor(num_threads=2)
        executor.add_node(node)
        executor.spin()
    except (ExternalShutdownException, KeyboardInterrupt):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def main_for(name: str) -> int:
    """Entry point of an installed executable: ``run_node(name, sys.argv[1:])``."""
    logging.basicConfig(level=logging.INFO)
    return run_node(name, sys.argv[1:])
