"""Configuration of the mission executive."""

from __future__ import annotations

from dataclasses import dataclass


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

    def __post_init__(self) -> None:
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
