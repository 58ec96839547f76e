"""The control loop as the executive's path driver: navigation by driving, not teleporting.

:class:`ControlDriver` is the ``driver`` seam of :class:`embodied_collab.executive.robot.SimRobot`
(``drive(path, cancel) -> driven points``): it drives a :class:`~embodied_collab.sim.robot_sim.
RobotSim` of the task's world with the :class:`~embodied_collab.control.loop.ControlLoop` (global
path on the map, local controller, safety governor) from the path's start to its last point, at
the simulation rate, until the goal succeeds or fails or ``cancel`` is set, reporting each pose
to ``pose_sink`` (so the ROS simulator node's ``/odom`` moves with it).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.loop import ControlLoop, GoalStatus
from embodied_collab.sim.config_sim import SimConfig
from embodied_collab.sim.robot_sim import RobotSim
from embodied_collab.sim.world import World

logger = logging.getLogger(__name__)

Point = tuple[float, float]


class ControlDriver:
    """Drives paths with the control loop on the continuous simulator.

    Args:
        world: the world to drive in (copied: the driver moves its own robot).
        config: the control configuration (default: :class:`ControlConfig` defaults).
        pose_sink: receives ``(x, y, theta)`` every ``emit_every`` ticks.
        time_scale: simulated seconds per wall second (0 = as fast as the CPU allows).
        max_sim_s: give up on one path after this many simulated seconds.
        emit_every: ticks between poses sent to ``pose_sink`` and recorded as driven.
    """

    def __init__(self, world: World, config: ControlConfig | None = None, *,
                 pose_sink: Callable[[float, float, float], None] | None = None,
                 time_scale: float = 0.0, max_sim_s: float = 120.0, emit_every: int = 5) -> None:
        if not (isinstance(time_scale, (int, float)) and time_scale >= 0):
            raise ValueError(f"time_scale must be >= 0, got {time_scale!r}")
        if not max_sim_s > 0:
            raise ValueError(f"max_sim_s must be > 0, got {max_sim_s!r}")
        if not (isinstance(emit_every, int) and emit_every >= 1):
            raise ValueError(f"emit_every must be an integer >= 1, got {emit_every!r}")
        self.config = config or ControlConfig()
        self.world = world.copy()
        self.pose_sink = pose_sink
        self.time_scale = float(time_scale)
        self.max_sim_s = float(max_sim_s)
        self.emit_every = emit_every
        cfg = self.config
        self.sim = RobotSim(self.world, SimConfig(dt=cfg.period, v_max=cfg.v_max,
                                                   w_max=cfg.w_max))
        self.loop = ControlLoop(cfg, self.world, self.sim.set_cmd_vel,
                                clock=lambda: self.sim.time)
        #: Status of the last :meth:`drive` (``succeeded``, ``failed``, ``blocked``, ``idle``
        #: when cancelled).
        self.last_status = GoalStatus.IDLE
        self.collisions = 0

    def _sense(self) -> None:
        s = self.sim
        self.loop.on_odom(s.pose, s.velocity, stamp=s.time)
        self.loop.on_scan(s.scan(), s.lidar.angles, s.range_max, stamp=s.time)

    def drive(self, path: list[Point], cancel: threading.Event | None = None) -> list[Point]:
        """Drive from ``path[0]`` to ``path[-1]``; returns the points driven.

        The robot is put at ``path[0]`` (keeping its heading) if it is more than 0.3 m away.
        Check :attr:`last_status` for the outcome.
        """
        if not path:
            raise ValueError("cannot drive an empty path")
        x0, y0 = float(path[0][0]), float(path[0][1])
        px, py, th = self.sim.pose
        if math.hypot(px - x0, py - y0) > 0.3:
            self.sim.set_pose(x0, y0, th)
        goal = (float(path[-1][0]), float(path[-1][1]))
        driven: list[Point] = [(self.sim.pose[0], self.sim.pose[1])]
        self._sense()
        self.loop.set_goal(goal)
        dt = self.config.period
        t_end = self.sim.time + self.max_sim_s
        wall0, sim0 = time.monotonic(), self.sim.time
        ticks = 0
        status = GoalStatus.ACTIVE
        while self.sim.time < t_end:
            if cancel is not None and cancel.is_set():
                self.loop.cancel()
                status = GoalStatus.IDLE
                break
            status = self.loop.step(self.sim.time).status
            if status.terminal:
                break
            self.sim.step(dt)
            self.collisions += int(self.sim.collided)
            self._sense()
            ticks += 1
            if ticks % self.emit_every == 0:
                self._emit(driven)
            if self.time_scale > 0:
                ahead = (self.sim.time - sim0) / self.time_scale - (time.monotonic() - wall0)
                if ahead > 0:
                    if cancel is not None:
                        cancel.wait(ahead)
                    else:
                        time.sleep(ahead)
        else:
            status = GoalStatus.FAILED
        self.sim.set_cmd_vel(0.0, 0.0)
        self.last_status = status
        self._emit(driven)
        logger.info("drove to %s: %s in %.1f simulated s", goal, status.value,
                    self.sim.time - sim0)
        return driven

    def _emit(self, driven: list[Point]) -> None:
        x, y, th = self.sim.pose
        if math.dist(driven[-1], (x, y)) > 1e-6:
            driven.append((x, y))
        if self.pose_sink is not None:
            try:
                self.pose_sink(x, y, th)
            except Exception:  # a broken display must not stop the robot
                logger.exception("pose sink failed")


def control_sim_robot(task: Any, config: Any = None, **kwargs: Any) -> Any:
    """A :class:`~embodied_collab.executive.robot.SimRobot` whose navigation is driven by the
    control loop (:class:`ControlDriver` on the task's world); ``kwargs`` as SimRobot's."""
    from embodied_collab.executive.robot import SimRobot

    return attach_driver(SimRobot(task, config, **kwargs))


def attach_driver(robot: Any, config: ControlConfig | None = None) -> Any:
    """Give an executive ``SimRobot`` a :class:`ControlDriver` on its world (at its pose)."""
    time_scale = float(getattr(robot.config, "time_scale", 0.0) or 0.0)
    robot.driver = ControlDriver(robot.world, config, pose_sink=robot.pose_sink,
                                 time_scale=time_scale)
    r = robot.world.robot
    robot.driver.sim.set_pose(r.x, r.y, r.theta)
    return robot
