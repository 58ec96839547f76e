"""Configuration of the link layer: monitor, circuit breaker, retries, router and journal."""

from __future__ import annotations

from dataclasses import dataclass

from embodied_collab.sim.catalog import DIFFICULTIES, SKILLS

#: Router policies (see :mod:`embodied_collab.link.router`).
POLICIES: tuple[str, ...] = ("latency-first", "quality-first", "cost-first")
#: What the router does with a task beyond local skills while the cloud is unreachable.
OFFLINE_ACTIONS: tuple[str, ...] = ("queue", "refuse")


def _positive(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _fraction(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


def _count(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(kw_only=True)
class LinkConfig:
    """Every knob of the link layer; defaults meet the detection/return goals on loopback.

    Attributes:
        probe_interval_s: time between active probes (a probe is ``GET /v1/models``).
        probe_timeout_s: deadline of one probe; a probe slower than this is a failure.
        down_after_failures: consecutive failures (probes or requests) that make the link down.
        up_after_successes: consecutive successes that bring a down link back up.
        degraded_latency_s: smoothed latency above which an up link is degraded.
        degraded_loss: loss fraction (over ``loss_window`` signals) above which it is degraded.
        latency_ewma_alpha: weight of the newest sample in the smoothed latency.
        loss_window: how many recent signals the loss estimate covers.
        breaker_failure_threshold: consecutive call failures that open the circuit.
        breaker_open_s: how long the circuit stays open before a half-open trial.
        breaker_max_open_s: cap of the open time, which doubles after each failed trial.
        breaker_half_open_calls: trial calls allowed while half-open.
        call_timeout_s: default deadline of one routed cloud call (all attempts together).
        retry_max_attempts: attempts per call, the first included.
        retry_base_s: first backoff bound; attempt ``k`` sleeps uniform(0, base * 2**k).
        retry_max_backoff_s: cap of one backoff sleep.
        policy: ``latency-first``, ``quality-first`` or ``cost-first``.
        local_confidence_threshold: latency-first keeps a local plan at least this confident.
        cost_confidence_threshold: cost-first keeps a local plan at least this confident.
        offline_min_confidence: offline, a local plan below this is not used.
        local_difficulties: task difficulties the on-board planner is trusted with.
        local_skills: skills the robot can run without the cloud.
        offline_action: ``queue`` or ``refuse`` a task beyond local skills while offline.
        max_queued: queued tasks held at most; beyond that new ones are refused with a reason.
        journal_path: SQLite file of the command journal (None: the caller chooses).
        sync_batch: outbox records sent per sync call.
    """

    probe_interval_s: float = 0.2
    probe_timeout_s: float = 0.25
    down_after_failures: int = 2
    up_after_successes: int = 2
    degraded_latency_s: float = 0.5
    degraded_loss: float = 0.2
    latency_ewma_alpha: float = 0.3
    loss_window: int = 20
    breaker_failure_threshold: int = 3
    breaker_open_s: float = 1.0
    breaker_max_open_s: float = 10.0
    breaker_half_open_calls: int = 1
    call_timeout_s: float = 5.0
    retry_max_attempts: int = 3
    retry_base_s: float = 0.05
    retry_max_backoff_s: float = 1.0
    policy: str = "quality-first"
    local_confidence_threshold: float = 0.7
    cost_confidence_threshold: float = 0.4
    offline_min_confidence: float = 0.2
    local_difficulties: tuple[str, ...] = ("fetch", "multi_step")
    local_skills: tuple[str, ...] = ("navigate", "open", "pick", "place", "say", "wait")
    offline_action: str = "queue"
    max_queued: int = 100
    journal_path: str | None = None
    sync_batch: int = 50

    def __post_init__(self) -> None:
        for name in (
            "probe_interval_s",
            "probe_timeout_s",
            "degraded_latency_s",
            "breaker_open_s",
            "breaker_max_open_s",
            "call_timeout_s",
            "retry_base_s",
            "retry_max_backoff_s",
        ):
            _positive(name, getattr(self, name))
        for name in (
            "degraded_loss",
            "local_confidence_threshold",
            "cost_confidence_threshold",
            "offline_min_confidence",
        ):
            _fraction(name, getattr(self, name))
        if not 0 < self.latency_ewma_alpha <= 1:
            raise ValueError(
                f"latency_ewma_alpha must be in (0, 1], got {self.latency_ewma_alpha}"
            )
        for name in (
            "down_after_failures",
            "up_after_successes",
            "loss_window",
            "breaker_failure_threshold",
            "breaker_half_open_calls",
            "retry_max_attempts",
            "max_queued",
            "sync_batch",
        ):
            _count(name, getattr(self, name))
        if self.breaker_max_open_s < self.breaker_open_s:
            raise ValueError(
                f"breaker_max_open_s {self.breaker_max_open_s} < breaker_open_s "
                f"{self.breaker_open_s}"
            )
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {self.policy!r}")
        if self.offline_action not in OFFLINE_ACTIONS:
            raise ValueError(
                f"offline_action must be one of {OFFLINE_ACTIONS}, got {self.offline_action!r}"
            )
        self.local_difficulties = tuple(self.local_difficulties)
        self.local_skills = tuple(self.local_skills)
        for d in self.local_difficulties:
            if d not in DIFFICULTIES:
                raise ValueError(
                    f"local_difficulties: unknown difficulty {d!r}; known {DIFFICULTIES}"
                )
        for s in self.local_skills:
            if s not in SKILLS:
                raise ValueError(f"local_skills: unknown skill {s!r}; known {tuple(SKILLS)}")
        if self.journal_path is not None and not str(self.journal_path).strip():
            raise ValueError(
                f"journal_path must be a file path or None, got {self.journal_path!r}"
            )
