"""Starting and stopping ROS 2 node processes on a private, loopback-only DDS domain.

Used by the benchmark and the tests: every run gets its own ``ROS_DOMAIN_ID`` and keeps
discovery on localhost, and every process is stopped with bounded SIGINT -> SIGTERM -> SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence

#: Domain ids handed out here (a small band, away from 0 which most tools default to).
DOMAIN_MIN, DOMAIN_SPAN = 20, 80


def unique_domain_id(seed: int | None = None) -> int:
    """A ``ROS_DOMAIN_ID`` derived from ``seed`` (default: this process id)."""
    return DOMAIN_MIN + (os.getpid() if seed is None else seed) % DOMAIN_SPAN


def ros_env(domain_id: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) with the domain id set and discovery on loopback."""
    env = dict(os.environ if base is None else base)
    env["ROS_DOMAIN_ID"] = str(domain_id)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env.pop("ROS_LOCALHOST_ONLY", None)  # deprecated in Jazzy; the range above replaces it
    env.pop("ROS_STATIC_PEERS", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def use_private_domain(domain_id: int) -> None:
    """Point this process's future rclpy contexts at ``domain_id`` on loopback."""
    os.environ.update({k: v for k, v in ros_env(domain_id).items()
                       if k.startswith("ROS_")})
    os.environ.pop("ROS_LOCALHOST_ONLY", None)


def cli_command(*args: str) -> list[str]:
    """The ``embodied-collab`` command line run with this interpreter."""
    return [sys.executable, "-m", "embodied_collab.cli.main", *args]


def spawn(cmd: Sequence[str], env: dict[str, str], *, log_path: str | None = None
          ) -> subprocess.Popen:
    """Start ``cmd`` in its own process group (so that its children can be stopped too)."""
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(list(cmd), env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        if log_path:
            out.close()


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> int:
    """Stop ``proc`` and its process group: SIGINT, then SIGTERM, then SIGKILL, each bounded.

    Returns:
        The exit code (negative signal number if killed by a signal).
    """
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
    rc = proc.wait(timeout=timeout)
    try:  # anything left in the group (children of the node) goes too
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return rc
