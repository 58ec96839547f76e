"""Fixtures for the ROS 2 tests: a private loopback DDS domain, probe nodes, node processes."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from embodied_collab.ros import procs

#: One domain for this test run, derived from the pytest process id.
DOMAIN_ID = procs.unique_domain_id()


@pytest.fixture(scope="session", autouse=True)
def _private_domain() -> None:
    procs.use_private_domain(DOMAIN_ID)


class Probe:
    """A test node in its own rclpy context, spun only inside bounded waits."""

    def __init__(self, name: str = "probe", domain_id: int = DOMAIN_ID) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id,
                   signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.02)

    def wait_for(self, predicate: Callable[[], Any], timeout: float,
                 what: str | Callable[[], str]) -> Any:
        """Spin until ``predicate()`` is truthy; fail the test after ``timeout`` seconds
        (``what`` may be a callable, to describe the state at that moment)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = predicate()
            if value:
                return value
            self.executor.spin_once(timeout_sec=0.02)
        pytest.fail(f"timed out after {timeout} s waiting for "
                    f"{what() if callable(what) else what}")

    def call(self, client: Any, request: Any, timeout: float) -> Any:
        if not client.wait_for_service(timeout_sec=timeout):
            pytest.fail(f"service {client.srv_name} not available within {timeout} s")
        future = client.call_async(request)
        self.wait_for(future.done, timeout, f"response of {client.srv_name}")
        return future.result()

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        self.node.destroy_node()
        self.context.try_shutdown()


@pytest.fixture
def probe() -> Iterator[Probe]:
    p = Probe()
    try:
        yield p
    finally:
        p.close()


class NodeProcess:
    """An ``embodied-collab`` command running a node (or the graph) in a child process."""

    def __init__(self, *args: str) -> None:
        self.log = Path(tempfile.mkdtemp(prefix="ec-ros-test-")) / "node.log"
        self.proc = procs.spawn(procs.cli_command(*args), procs.ros_env(DOMAIN_ID),
                                log_path=str(self.log))

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> int:
        return procs.stop(self.proc, timeout=5.0)


def group_members(pgid: int) -> list[int]:
    """Pids of live processes in process group ``pgid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            out.append(int(entry))
    return out


@pytest.fixture(scope="module")
def sim_process() -> Iterator[NodeProcess]:
    """The simulator node alone in a child process, wall-clock stamps, real time."""
    node = NodeProcess("ros", "run", "sim", "--ros-args", "-p", "use_sim_time:=false",
                       "-p", "camera_width:=160", "-p", "camera_height:=120",
                       "-p", "camera_rate_hz:=15.0", "-p", "scan_rate_hz:=10.0",
                       "-p", "odom_rate_hz:=20.0", "-p", "cmd_timeout_s:=2.0")
    try:
        yield node
    finally:
        node.stop()
