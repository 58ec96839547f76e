"""The robot as the executive sees it: high-level actions in, outcomes (with the path driven and
the time taken) out.

:class:`SimRobot` carries the actions out in the household simulator. The planning episode
(:class:`~embodied_collab.sim.planning_env.HouseholdPlanEnv`) checks each action against the
world and keeps the robot's scene graph (what it has seen); the robot drives the NavGrid's
shortest path to the goal at ``robot_speed_mps`` in (scaled) real time, reporting every pose to
``pose_sink`` (the ROS simulator node's robot, so ``/odom`` moves), and can be halted within
one motion tick by a stop / cancel.

Seams: a ``driver`` (``drive(path, cancel) -> path driven``, e.g. the control loop of
``embodied_collab.control`` on the continuous simulator, or
:class:`embodied_collab.ros.navigation_client.RosNavigator`, which has the control node drive the
ROS simulator's base) replaces the path follower; a ``manipulator``
(``manipulate(verb, target, cancel) -> (ok, message)``, e.g. the simulator node's manipulation
services) carries out open / pick / place before the planning episode records them; an
``observer`` (``observe(robot) -> [object ids]``, e.g. the camera and the
detector of ``embodied_collab.vision``) can add objects to the scene graph after each action;
until then objects enter the scene graph from the episode's ground-truth visibility.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from embodied_collab.errors import InvalidActionError
from embodied_collab.executive.config_executive import ExecutiveConfig

logger = logging.getLogger(__name__)

PoseSink = Callable[[float, float, float], None]


@dataclass
class ActionOutcome:
    """What one high-level action did.

    Attributes:
        action: the action text.
        ok: whether it succeeded.
        message: what happened (the failure reason when not ok).
        path: the points driven (navigate only).
        duration_s: simulated seconds it took.
        wall_s: wall-clock seconds it took.
        cancelled: halted by a stop / cancel.
        finished: the mission ended with it (``done``).
        success: for ``done``: whether the task is accomplished.
    """

    action: str
    ok: bool
    message: str
    path: list[tuple[float, float]] = field(default_factory=list)
    duration_s: float = 0.0
    wall_s: float = 0.0
    cancelled: bool = False
    finished: bool = False
    success: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "ok": self.ok, "message": self.message,
                "path_points": len(self.path), "duration_s": round(self.duration_s, 3),
                "wall_s": round(self.wall_s, 3), "cancelled": self.cancelled}


class RobotInterface(Protocol):
    """What the executive needs of a robot (simulated or real)."""

    def navigate(self, target: str, cancel: threading.Event | None = None) -> ActionOutcome:
        """Drive to a room or piece of furniture."""
        ...

    def open(self, target: str, cancel: threading.Event | None = None) -> ActionOutcome:
        """Open a container."""
        ...

    def pick(self, obj: str, cancel: threading.Event | None = None) -> ActionOutcome:
        """Pick an object within reach."""
        ...

    def place(self, target: str, cancel: threading.Event | None = None) -> ActionOutcome:
        """Put the held object on / in a piece of furniture within reach."""
        ...


def _sleep_scaled(sim_s: float, cfg: ExecutiveConfig, cancel: threading.Event | None) -> bool:
    """Wait ``sim_s`` simulated seconds in wall time; False if cancelled first."""
    end = time.monotonic() + sim_s / cfg.time_scale
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return True
        if cancel is not None and cancel.wait(min(left, cfg.motion_tick_s)):
            return False
        if cancel is None:
            time.sleep(min(left, cfg.motion_tick_s))


class SimRobot:
    """The simulated robot for one task (see the module docstring).

    Args:
        task: the task (world, success predicate); its instruction is replaced by ``command``.
        config: speeds, time scale, motion tick.
        command: the command as heard (what the planners read); default the task's own.
        pose_sink: receives ``(x, y, theta)`` at every motion tick.
        driver: optional path follower ``drive(path, cancel) -> driven points``.
        observer: optional perception hook ``observe(robot) -> new object ids``.
        manipulator: optional ``manipulate(verb, target, cancel) -> (ok, message)`` that
            carries out open / pick / place first (its refusal fails the action).
    """

    def __init__(self, task: Any, config: ExecutiveConfig | None = None, *,
                 command: str | None = None, pose_sink: PoseSink | None = None,
                 driver: Any = None, observer: Any = None, manipulator: Any = None) -> None:
        from embodied_collab.sim.config_planning import PlanningConfig
        from embodied_collab.sim.planning_env import HouseholdPlanEnv

        self.config = config or ExecutiveConfig()
        self.task = dataclasses.replace(task, instruction=command) if command else task
        # with an observer (the camera), only what it reports enters the scene graph
        source = "external" if observer is not None else "ground_truth"
        self.env = HouseholdPlanEnv(PlanningConfig(max_steps=max(self.config.max_steps, 1),
                                                   observation_source=source))
        _, self.info = self.env.reset(options={"task": self.task})
        self.pose_sink = pose_sink
        self.driver = driver
        self.observer = observer
        self.manipulator = manipulator
        r = self.world.robot
        self.pose = (float(r.x), float(r.y), float(r.theta))
        self.trail: list[tuple[float, float]] = [(self.pose[0], self.pose[1])]
        self.sim_time = 0.0
        self.last_path: list[tuple[float, float]] = []
        #: What the observer's last look-around saw the world from (set by the observer).
        self.last_look: tuple | None = None
        self._emit()
        if self.observer is not None:
            self._observe()

    # -- state for the planners ---------------------------------------------------------------
    @property
    def world(self) -> Any:
        """The world as it is now (mutated by the actions)."""
        return self.env.unwrapped.world

    @property
    def action_names(self) -> list[str | None]:
        """The planning env's action slot texts (what the planner SLM scores)."""
        return self.env.unwrapped.codec.names

    def planning_info(self) -> dict[str, Any]:
        """The planning env's latest ``info`` (``text``, ``action_mask``, ...)."""
        return self.info

    def valid(self, action: str) -> bool:
        """Whether ``action`` names something of this world and its preconditions hold now."""
        try:
            idx = self.env.unwrapped.codec.encode(action)
        except InvalidActionError:
            return False
        return bool(self.env.unwrapped.action_mask()[idx])

    def here(self, action: str) -> bool:
        """Whether ``action`` is ``navigate`` to the place where the robot already is (a no-op
        that the action mask refuses, so that a plan starting with it is not thrown away)."""
        place = self.env.unwrapped.episode.place
        try:
            idx = self.env.unwrapped.codec.encode(action)
        except InvalidActionError:
            return False
        # navigation slots are ordered like the places after "nowhere" (rooms, then furniture)
        return place > 0 and idx == place - 1

    @property
    def success(self) -> bool:
        """Whether the task's success predicate holds now."""
        return bool(self.task.is_success(self.world))

    # -- actions ------------------------------------------------------------------------------
    def execute(self, action: str, cancel: threading.Event | None = None) -> ActionOutcome:
        """Carry out one action text (``navigate``, ``open``, ``pick``, ``place``, ``done``)."""
        verb = action.split()[0].lower() if action.strip() else ""
        arg = action.split()[1] if len(action.split()) > 1 else ""
        if verb == "navigate":
            return self.navigate(arg, cancel)
        if verb in ("open", "pick", "place"):
            return getattr(self, verb)(arg, cancel)
        if verb == "done":
            return self._step("done", 0.0, cancel)
        return ActionOutcome(action, False, f"unknown action {action!r}")

    def navigate(self, target: str, cancel: threading.Event | None = None) -> ActionOutcome:
        """Drive the shortest free path to ``target`` at the configured speed."""
        action = f"navigate {target}"
        if not self.valid(action):
            return self._step(action, 0.0, cancel)  # the env reports why it is not possible
        ep = self.env.unwrapped.episode
        goal = ep.places.points[ep.places.slot(target)]
        t0 = time.monotonic()
        path = ep.places.grid.path(self.pose[:2], (float(goal[0]), float(goal[1])))
        path = path or [self.pose[:2], (float(goal[0]), float(goal[1]))]
        if self.driver is not None:
            driven = list(self.driver.drive(path, cancel))
            self.trail.extend((float(p[0]), float(p[1])) for p in driven[1:])
            ok = not (cancel is not None and cancel.is_set())
            status = getattr(self.driver, "last_status", None)
            failed = getattr(status, "value", status) in ("failed", "blocked")
        else:
            driven, ok = self._follow(path, cancel)
            failed = False
        length = sum(math.dist(a, b) for a, b in zip(driven, driven[1:], strict=False))
        if not ok:
            return ActionOutcome(action, False, "halted by stop/cancel", driven,
                                 length / self.config.robot_speed_mps,
                                 time.monotonic() - t0, cancelled=True)
        if failed:  # the controller could not get there
            why = getattr(self.driver, "last_message", "") or ""
            return ActionOutcome(action, False,
                                 f"navigation {getattr(status, 'value', status)}"
                                 + (f": {why}" if why and why != getattr(status, "value", status)
                                    else ""),
                                 driven, length / self.config.robot_speed_mps,
                                 time.monotonic() - t0)
        self.last_path = driven
        self.pose = (float(goal[0]), float(goal[1]), float(goal[2]))  # before the observer looks
        out = self._step(action, 0.0, None)
        self._emit()
        out.path, out.duration_s = driven, length / self.config.robot_speed_mps
        out.wall_s = time.monotonic() - t0
        return out

    def open(self, target: str, cancel: threading.Event | None = None) -> ActionOutcome:
        """Open a container within reach."""
        return self._step(f"open {target}", self.config.manipulation_s, cancel)

    def pick(self, obj: str, cancel: threading.Event | None = None) -> ActionOutcome:
        """Pick an object within reach."""
        return self._step(f"pick {obj}", self.config.manipulation_s, cancel)

    def place(self, target: str, cancel: threading.Event | None = None) -> ActionOutcome:
        """Place the held object on / in furniture within reach."""
        return self._step(f"place {target}", self.config.manipulation_s, cancel)

    def replay(self, action: str) -> bool:
        """Re-apply an action that completed before a restart (instantly, no motion)."""
        out = self._step(action, 0.0, None)
        if out.ok and action.startswith("navigate "):
            ep = self.env.unwrapped.episode
            x, y, th = ep.places.points[ep.places.slot(action.split()[1])]
            self.pose = (float(x), float(y), float(th))
            self.trail.append((self.pose[0], self.pose[1]))
            self._emit()
        return out.ok

    # -- internals ----------------------------------------------------------------------------
    def _step(self, action: str, sim_s: float, cancel: threading.Event | None) -> ActionOutcome:
        t0 = time.monotonic()
        if sim_s > 0 and self.valid(action) and not _sleep_scaled(sim_s, self.config, cancel):
            return ActionOutcome(action, False, "halted by stop/cancel", [], sim_s,
                                 time.monotonic() - t0, cancelled=True)
        verb, _, target = action.partition(" ")
        if self.manipulator is not None and verb in ("open", "pick", "place") and self.valid(
                action):
            ok, message = self.manipulator.manipulate(verb, target.strip(), cancel)
            if not ok:
                halted = cancel is not None and cancel.is_set()
                return ActionOutcome(action, False, f"{verb} refused by the robot: {message}"
                                     if not halted else "halted by stop/cancel", [], sim_s,
                                     time.monotonic() - t0, cancelled=halted)
        _, _, terminated, _, info = self.env.step(action)
        self.info = info
        self.sim_time += sim_s
        if self.observer is not None and info.get("action_ok"):
            self._observe()
        return ActionOutcome(action, bool(info["action_ok"]), str(info["message"]), [], sim_s,
                             time.monotonic() - t0, finished=bool(terminated),
                             success=bool(info.get("is_success")))

    def _observe(self) -> list[str]:
        """Let the observer report what it sees now; the env records it (and only it)."""
        seen = list(self.observer.observe(self) or [])
        new = self.env.unwrapped.observe(seen)
        if new:
            self.info = {**self.info, "text": self.env.unwrapped.episode.text(),
                         "action_mask": self.env.unwrapped.action_mask()}
        return new

    def _follow(self, path: list[tuple[float, float]],
                cancel: threading.Event | None) -> tuple[list[tuple[float, float]], bool]:
        """Move along ``path`` at the configured speed, one pose per motion tick."""
        cfg = self.config
        step_m = cfg.robot_speed_mps * cfg.motion_tick_s * cfg.time_scale
        driven = [tuple(path[0])]
        x, y = path[0]
        for px, py in path[1:]:
            seg = math.dist((x, y), (px, py))
            theta = math.atan2(py - y, px - x) if seg > 1e-9 else self.pose[2]
            while seg > 1e-9:
                move = min(step_m, seg)
                x += (px - x) * move / seg
                y += (py - y) * move / seg
                seg -= move
                self.pose = (x, y, theta)
                self.sim_time += move / cfg.robot_speed_mps
                self.trail.append((x, y))
                driven.append((x, y))
                self._emit()
                if not _sleep_scaled(move / cfg.robot_speed_mps, cfg, cancel):
                    return driven, False
        return driven, True

    def _emit(self) -> None:
        if self.pose_sink is not None:
            try:
                self.pose_sink(*self.pose)
            except Exception:  # a broken display must not stop the robot
                logger.exception("pose sink failed")


class CameraObserver:
    """The ``observer`` seam filled by the on-board camera and detector.

    After each successful action the robot looks around (the simulated RGB-D camera at a few
    headings), the detector finds objects, depth places them on the map, and the objects whose
    confirmed tracks match become observed in the planner's scene graph. Nothing is read from
    the simulator's ground truth except to name a matched track with its world id.

    A look-around is skipped when it could not show anything new: the robot has not moved since
    its last one and no container was opened (after a pick, a place or ``done`` at the same
    pose). A look-around is the largest part of the time an open / pick / place takes (16
    frames through the detector; docs/benchmarks/missions.md).

    Args:
        headings: camera headings per look-around.
        glance_m: while driving, the camera looks ahead every this many metres.
        perception: a :class:`embodied_collab.vision.perception.Perception` (default: the
            committed detector).
    """

    def __init__(self, headings: int = 8, perception: Any = None, glance_m: float = 0.75) -> None:
        if headings < 1:
            raise ValueError(f"headings must be >= 1, got {headings}")
        if not glance_m > 0:
            raise ValueError(f"glance_m must be > 0, got {glance_m}")
        self.glance_m = glance_m
        if perception is None:
            from embodied_collab.vision.perception import Perception

            perception = Perception()
        self.perception = perception
        self.headings = headings
        #: Look-arounds done and skipped (nothing could have changed).
        self.looks = 0
        self.skipped = 0

    def observe(self, robot: SimRobot) -> list[str]:
        """Frames from the last drive (looking ahead, every ``glance_m``) and a look around at
        the robot's pose; returns the ids the camera newly confirms."""
        from embodied_collab.sim.camera import Camera
        from embodied_collab.sim.scene_graph import SceneGraph

        camera = Camera(z=self.perception.config.camera_z)
        path = list(robot.last_path)
        robot.last_path = []
        travelled = 0.0
        for a, b in zip(path, path[1:], strict=False):
            travelled += math.dist(a, b)
            if travelled < self.glance_m or math.dist(a, b) < 1e-6:
                continue
            travelled = 0.0
            pose = (b[0], b[1], math.atan2(b[1] - a[1], b[0] - a[0]))
            for jitter in (0.0, 0.15):
                p = (pose[0], pose[1], pose[2] + jitter)
                frame = camera.render(robot.world, p)
                self.perception.observe(frame.rgb, frame.depth, camera.intrinsics, p)
        # the perception marks a private graph; the robot hands the ids to the planning env,
        # which keeps its observation, action mask and text in step
        graph = SceneGraph(robot.world, observed=robot.env.unwrapped.scene.observed)
        key = (tuple(round(v, 3) for v in robot.pose),
               frozenset(f.id for f in robot.world.furniture if f.open))
        if key == getattr(robot, "last_look", None) and len(path) < 2:
            self.skipped += 1
            return []
        robot.last_look = key
        self.looks += 1
        return self.perception.look_around(robot.world, graph, pose=robot.pose,
                                           headings=self.headings, camera=camera)
