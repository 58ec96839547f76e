"""Configuration of the mission executive."""

from __future__ import annotations

from dataclasses import dataclass

#: Navigation backends (see :attr:`ExecutiveConfig.navigation`).
NAVIGATION = ("ros", "control", "path")


@dataclass(kw_only=True)
class ExecutiveConfig:
    """Settings of the mission executive and the simulated robot it drives.

    Attributes:
        journal_path: SQLite file of the durable command journal.
        time_scale: simulated seconds per wall-clock second for robot motion and manipulation
            (1 = real time; the benchmark uses more to finish sooner).
        robot_speed_mps: driving speed along the planned path, metres per simulated second.
        manipulation_s: simulated seconds one open / pick / place takes.
        motion_tick_s: wall-clock seconds between two pose updates while driving (also how
            quickly a stop or cancel halts the robot).
        max_steps: decisions a mission may take before it fails.
        decision_timeout_s: deadline of one routed decision (cloud call with retries, or the
            local planner), wall-clock seconds.
        reuse_cloud_plan: keep executing the cloud plan's next action while it stays valid and
            the link stays up, instead of asking the cloud again at every step.
        queue_wait_s: how long a mission the on-board planner cannot serve waits (journaled as
            queued) for the link before it fails with the reason.
        resume_on_restart: after a restart, resume unfinished commands from the journal
            (False fails them explicitly).
        trust_local_all: let the on-board planner serve every task difficulty offline (its
            benchmark measures it on all of them) instead of the link layer's default
            ``local_difficulties``.
        navigation: ``ros``: navigation goals go over ROS 2 to the control node, which drives
            the base (the simulator node's physics) over ``/cmd_vel``; open / pick / place call
            the simulator node's manipulation services (needs a ROS navigator, see
            :mod:`embodied_collab.ros.navigation_client`); ``control``: the fast-control loop
            (global path, local controller, safety governor) drives an in-process continuous
            simulator; ``path``: the robot moves along the occupancy-grid path at
            ``robot_speed_mps`` (no controller).
        navigation_timeout_s: bound on one navigation goal over ROS (wall seconds).
        perception: ``camera``: objects enter the planner's scene graph through the RGB-D camera
            and the on-board detector; ``ground_truth``: the simulator reveals what is visible.
    """

    journal_path: str = "executive_journal.sqlite"
    time_scale: float = 1.0
    robot_speed_mps: float = 0.6
    manipulation_s: float = 1.5
    motion_tick_s: float = 0.05
    max_steps: int = 40
    decision_timeout_s: float = 20.0
    reuse_cloud_plan: bool = True
    queue_wait_s: float = 60.0
    resume_on_restart: bool = True
    trust_local_all: bool = True
    navigation: str = "path"
    navigation_timeout_s: float = 150.0
    perception: str = "ground_truth"

    def __post_init__(self) -> None:
        if self.navigation not in NAVIGATION:
            raise ValueError(f"navigation must be one of {NAVIGATION}, got {self.navigation!r}")
        if not 0.0 < self.navigation_timeout_s <= 3600.0:
            raise ValueError(f"navigation_timeout_s must be in (0, 3600], "
                             f"got {self.navigation_timeout_s!r}")
        if self.perception not in ("camera", "ground_truth"):
            raise ValueError(
                f"perception must be 'camera' or 'ground_truth', got {self.perception!r}"
            )
        if not self.journal_path:
            raise ValueError(f"journal_path must be a non-empty path, got {self.journal_path!r}")
        if not 0.0 < self.time_scale <= 1000.0:
            raise ValueError(f"time_scale must be in (0, 1000], got {self.time_scale!r}")
        if not 0.0 < self.robot_speed_mps <= 5.0:
            raise ValueError(f"robot_speed_mps must be in (0, 5], got {self.robot_speed_mps!r}")
        if not 0.0 <= self.manipulation_s <= 60.0:
            raise ValueError(f"manipulation_s must be in [0, 60], got {self.manipulation_s!r}")
        if not 0.001 <= self.motion_tick_s <= 1.0:
            raise ValueError(f"motion_tick_s must be in [0.001, 1], got {self.motion_tick_s!r}")
        if not 1 <= self.max_steps <= 1000:
            raise ValueError(f"max_steps must be in [1, 1000], got {self.max_steps!r}")
        if not 0.0 < self.decision_timeout_s <= 600.0:
            raise ValueError(
                f"decision_timeout_s must be in (0, 600], got {self.decision_timeout_s!r}"
            )
        if not 0.0 <= self.queue_wait_s <= 3600.0:
            raise ValueError(f"queue_wait_s must be in [0, 3600], got {self.queue_wait_s!r}")


@dataclass(kw_only=True)
class ExecutiveNodeConfig:
    """Parameters of the ROS executive node (``launch/params/executive.yaml``).

    Attributes:
        journal_path: SQLite file of the durable command journal.
        cloud_base_url: OpenAI-compatible API root of the cloud LLM ("" = no cloud: local only).
        world_seed: seed of the simulated household the missions run in.
        difficulty: task difficulty the executive assumes for routing.
        time_scale: simulated seconds per wall-clock second for the robot.
        status_rate_hz: rate of /executive/link_state and of /executive/mission_status while a
            mission runs (every transition is also published at once).
        navigation: ``ros``: navigation goals to the control node and manipulation by the
            simulator's services (the graph drives the base); ``path``: the executive's own
            simulated robot moves along the grid path and nothing on ROS moves (see
            :attr:`ExecutiveConfig.navigation`).
        navigation_timeout_s: bound on one navigation goal (wall seconds).
    """

    journal_path: str = "executive_journal.sqlite"
    cloud_base_url: str = ""
    world_seed: int = 0
    difficulty: str = "multi_step"
    time_scale: float = 1.0
    status_rate_hz: float = 2.0
    navigation: str = "ros"
    navigation_timeout_s: float = 150.0

    def __post_init__(self) -> None:
        from embodied_collab.sim.catalog import DIFFICULTIES

        if self.navigation not in ("ros", "path"):
            raise ValueError(f"navigation must be 'ros' or 'path', got {self.navigation!r}")
        if not 0.0 < self.navigation_timeout_s <= 3600.0:
            raise ValueError(f"navigation_timeout_s must be in (0, 3600], "
                             f"got {self.navigation_timeout_s!r}")
        if not self.journal_path:
            raise ValueError(f"journal_path must be a non-empty path, got {self.journal_path!r}")
        if self.cloud_base_url and not self.cloud_base_url.startswith("http://"):
            raise ValueError(f"cloud_base_url must be an http:// URL or empty, "
                             f"got {self.cloud_base_url!r}")
        if self.world_seed < 0:
            raise ValueError(f"world_seed must be >= 0, got {self.world_seed!r}")
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {self.difficulty!r}")
        if not 0.0 < self.time_scale <= 1000.0:
            raise ValueError(f"time_scale must be in (0, 1000], got {self.time_scale!r}")
        if not 0.0 < self.status_rate_hz <= 100.0:
            raise ValueError(f"status_rate_hz must be in (0, 100], got {self.status_rate_hz!r}")
