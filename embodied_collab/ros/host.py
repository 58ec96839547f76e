"""Bring the declared node graph up without ``ros2 launch``.

The embedded default hosts every node of a mode in one process on one executor
(:class:`GraphHost`); tests and deployments without launch run one node per process
(:func:`run_node`, also behind the executables the ament package installs). Both give each
node exactly what the launch files give it: its parameter file, ``use_sim_time`` and the topic
remappings, taken from :mod:`embodied_collab.ros.graph`.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embodied_collab.errors import require
from embodied_collab.ros.graph import NodeSpec, node_spec, nodes_for, ros_args

logger = logging.getLogger(__name__)

#: GIL switch interval of node processes (seconds); see :func:`run_node`.
SWITCH_INTERVAL_S = 0.0005

#: Executors a node process or the graph host can spin on: ``events`` is rclpy's
#: ``EventsExecutor`` (one thread, callbacks dispatched from C++ with little Python work per
#: message), ``multi`` a ``MultiThreadedExecutor``. The simulator's physics and the control loop
#: run in their own threads (:mod:`embodied_collab.ros.loop_thread`) with either.
EXECUTORS = ("events", "multi")

#: Environment variable choosing the executor (for the installed executables and launch files).
EXECUTOR_ENV = "EMBODIED_COLLAB_ROS_EXECUTOR"

#: The executor used when neither an argument nor :data:`EXECUTOR_ENV` chooses one.
DEFAULT_EXECUTOR = "events"


def executor_kind(kind: str | None = None) -> str:
    """``kind``, else ``$EMBODIED_COLLAB_ROS_EXECUTOR``, else :data:`DEFAULT_EXECUTOR`.

    Raises:
        ValueError: if the choice is not one of :data:`EXECUTORS`.
    """
    import os

    chosen = kind or os.environ.get(EXECUTOR_ENV) or DEFAULT_EXECUTOR
    if chosen not in EXECUTORS:
        source = "executor" if kind else EXECUTOR_ENV
        raise ValueError(f"{source} must be one of {list(EXECUTORS)}, got {chosen!r}")
    return chosen


def make_executor(kind: str | None = None, *, context: Any = None,
                  num_threads: int | None = None) -> Any:
    """A new executor of ``kind`` (see :func:`executor_kind`) on ``context``.

    ``num_threads`` applies to ``multi`` only (None = rclpy's default; 1 = rclpy's
    ``SingleThreadedExecutor``).
    """
    kind = executor_kind(kind)
    if kind == "events":
        from rclpy.experimental import EventsExecutor

        return EventsExecutor(context=context)
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor

    if num_threads == 1:
        return SingleThreadedExecutor(context=context)
    return MultiThreadedExecutor(num_threads=num_threads, context=context)


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
    """All nodes of one graph mode in one process, on one executor.

    Args:
        mode: ``"sim"`` or ``"robot"``.
        params_dir: directory of the parameter files (None = ``launch/params``).
        topics: topic overrides by key.
        use_sim_time: ``use_sim_time`` for every node (None = per parameter file).
        namespace: namespace of every node.
        overrides: per-node parameter overrides, ``{node_name: {param: value}}``.
        num_threads: threads of a ``multi`` executor (None = rclpy's default).
        executor: ``"events"`` or ``"multi"`` (None = :func:`executor_kind`'s default).
        exclude: names of nodes of the mode not to host (e.g. a node the caller hosts itself,
            attached to objects it owns).

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
        exclude: Sequence[str] = (),
        executor: str | None = None,
    ) -> None:
        self.executor_kind = executor_kind(executor)
        specs = nodes_for(mode)
        unknown = sorted(set(exclude) - {s.name for s in specs})
        if unknown:
            raise ValueError(f"cannot exclude node(s) {unknown}: not in the {mode!r} graph")
        self.specs = tuple(s for s in specs if s.name not in set(exclude))
        if not self.specs:
            logger.warning("the %r graph declares no nodes yet", mode)
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - {s.name for s in self.specs})
        if unknown:
            raise ValueError(f"overrides for node(s) {unknown} not in the {mode!r} graph")
        self._kwargs = dict(params_dir=params_dir, topics=topics, use_sim_time=use_sim_time,
                            namespace=namespace)
        self._overrides = overrides
        self._num_threads = num_threads
        self.nodes: list[Any] = []
        self._stopped = threading.Event()
        self._context: Any = None
        self._executor: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Create the context, the nodes and the executor, and spin in a background thread."""
        rclpy = require("rclpy", "ros")
        from rclpy.context import Context
        from rclpy.signals import SignalHandlerOptions

        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._context = Context()
        # Signals are handled by wait(): the executor must stop before the context goes, or
        # callbacks still running would use a destroyed context.
        rclpy.init(context=self._context, signal_handler_options=SignalHandlerOptions.NO)
        try:
            for spec in self.specs:
                self.nodes.append(make_node(spec, context=self._context,
                                            overrides=self._overrides.get(spec.name),
                                            **self._kwargs))
        except BaseException:
            self.shutdown()
            raise
        self._executor = make_executor(self.executor_kind, num_threads=self._num_threads,
                                       context=self._context)
        for node in self.nodes:
            self._executor.add_node(node)
        logger.info("hosting on the %s executor: %s", self.executor_kind,
                    ", ".join(n.get_fully_qualified_name() for n in self.nodes))
        self._stopped.clear()
        self._thread = threading.Thread(target=_spin, args=(self._executor, self._stopped),
                                        name="graph-host", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until SIGINT/SIGTERM, the executor stopping, or ``timeout`` seconds.

        Call from the main thread. Returns:
            True if stopped by a signal or the executor, False on timeout.
        """
        return wait_for_stop(self._stopped, timeout)

    def node(self, name: str) -> Any:
        """The hosted node named ``name``."""
        for node in self.nodes:
            if node.get_name() == name:
                return node
        raise KeyError(name)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop spinning, destroy the nodes, then the context (idempotent)."""
        if self._executor is not None:
            _stop(self._executor, self._thread, self._stopped, timeout)
        self._thread = None
        for node in self.nodes:
            node.destroy_node()
        self.nodes.clear()
        if self._context is not None:
            self._context.try_shutdown()
        self._executor = None
        self._context = None

    def __enter__(self) -> GraphHost:  # noqa: D105
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def run_node(name: str, argv: Sequence[str] | None = None, *, executor: str | None = None
             ) -> int:
    """Run one node of the graph in this process until SIGINT/SIGTERM.

    ``argv`` may carry ROS arguments (``--ros-args --params-file f -r a:=b``), as given by
    ``ros2 run`` / ``ros2 launch`` to the installed executables. Without ``--params-file``
    the node's parameter file from ``launch/params`` is used. ``executor`` is ``"events"`` or
    ``"multi"`` (None = ``$EMBODIED_COLLAB_ROS_EXECUTOR``, else :data:`DEFAULT_EXECUTOR`).

    Returns:
        0 on a clean shutdown.

    Raises:
        ValueError: for an unknown node or a parameter that does not validate.
    """
    rclpy = require("rclpy", "ros")
    from rclpy.signals import SignalHandlerOptions

    spec = node_spec(name)
    kind = executor_kind(executor)
    # Hand the GIL over sooner (default 5 ms) so that a command callback is not held up by a
    # thread rendering a camera frame.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    argv = list(argv or [])
    defaults = ros_args(spec)
    if "--params-file" in defaults:  # first, so that a --params-file in argv wins
        i = defaults.index("--params-file")
        argv = ["--ros-args", *defaults[i: i + 2], "--", *argv]
    rclpy.init(args=["embodied-collab", *argv], signal_handler_options=SignalHandlerOptions.NO)
    node = executor = thread = None
    stopped = threading.Event()
    # a SIGINT/SIGTERM while the node is still starting ends it cleanly too
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stopped.set())
    try:
        node = spec.node_class()(spec.name)
        executor = make_executor(kind, num_threads=2)
        executor.add_node(node)
        thread = threading.Thread(target=_spin, args=(executor, stopped), daemon=True)
        thread.start()
        wait_for_stop(stopped)
    finally:
        # Order matters: stop the executor (running callbacks finish), then the node, then
        # the context; the reverse makes callbacks use destroyed handles.
        if executor is not None:
            _stop(executor, thread, stopped, 5.0)
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def spin_in_thread(executor: Any) -> tuple[threading.Thread, threading.Event]:
    """Spin ``executor`` in a daemon thread; stop it with :func:`stop_spinning`."""
    stopped = threading.Event()
    thread = threading.Thread(target=_spin, args=(executor, stopped), daemon=True)
    thread.start()
    return thread, stopped


def stop_spinning(executor: Any, thread: threading.Thread, stopped: threading.Event,
                  timeout: float = 5.0) -> None:
    """Stop a :func:`spin_in_thread` loop, let running callbacks finish, shut the executor."""
    _stop(executor, thread, stopped, timeout)


def _spin(executor: Any, stopped: threading.Event) -> None:
    # spin_once in a loop rather than spin(): rclpy's Executor.shutdown() destroys the guard
    # condition a concurrent spin() is waiting on; here the loop ends first (see _stop). The
    # EventsExecutor's spin() also keeps the GIL from other threads; its spin_once does not.
    from rclpy.executors import ExternalShutdownException

    try:
        while not stopped.is_set():
            executor.spin_once(timeout_sec=0.1)
    except ExternalShutdownException:
        pass
    except Exception:  # a node crashed: log it and let the main thread shut down
        logger.exception("executor stopped by an error")
    finally:
        stopped.set()


def _stop(executor: Any, thread: threading.Thread | None, stopped: threading.Event,
          timeout: float) -> None:
    """Stop the spin loop, wait for running callbacks, then shut the executor down."""
    stopped.set()
    if thread is not None:
        thread.join(timeout)
    pool = getattr(executor, "_executor", None)  # MultiThreadedExecutor's worker pool
    if pool is not None:
        pool.shutdown(wait=True)  # callbacks are short (one tick, one frame)
    executor.shutdown(timeout_sec=timeout)


def wait_for_stop(stopped: threading.Event, timeout: float | None = None) -> bool:
    """Wait (main thread) for SIGINT/SIGTERM or ``stopped``; False if ``timeout`` passed first."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stopped.set())
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while not stopped.wait(0.2):
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return True
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main_for(name: str) -> int:
    """Entry point of an installed executable: ``run_node(name, sys.argv[1:])``."""
    logging.basicConfig(level=logging.INFO)
    return run_node(name, sys.argv[1:])
