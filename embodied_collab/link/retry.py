"""Deadlines and bounded retries with exponential backoff and full jitter.

Every call carries a :class:`Deadline`; a retry loop never sleeps past it and never makes more
than ``max_attempts`` attempts, so no wait in the link layer is unbounded.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from embodied_collab.errors import LinkUnavailable
from embodied_collab.link.clock import Clock, RealClock
from embodied_collab.link.config_link import LinkConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")


class DeadlineExceeded(LinkUnavailable):
    """A call (all its attempts together) ran out of time."""


class Deadline:
    """An absolute point in time on a clock, by which a call must be over.

    Args:
        timeout_s: seconds from now.
        clock: the time source.
    """

    def __init__(self, timeout_s: float, clock: Clock | None = None) -> None:
        if not timeout_s > 0:
            raise ValueError(f"deadline timeout_s must be positive, got {timeout_s!r}")
        self.clock = clock or RealClock()
        self.timeout_s = float(timeout_s)
        self.expires_at = self.clock.now() + self.timeout_s

    def remaining(self) -> float:
        """Seconds left (0 once expired)."""
        return max(0.0, self.expires_at - self.clock.now())

    def expired(self) -> bool:
        """Whether no time is left."""
        return self.remaining() <= 0.0

    def sub(self, timeout_s: float) -> Deadline:
        """A deadline at most ``timeout_s`` from now and never later than this one."""
        d = Deadline(max(1e-6, min(timeout_s, self.remaining() or 1e-6)), self.clock)
        return d

    def check(self, what: str = "call") -> None:
        """Raise :class:`DeadlineExceeded` if expired."""
        if self.expired():
            raise DeadlineExceeded(f"{what}: deadline of {self.timeout_s:.3f}s exceeded")

    def __repr__(self) -> str:
        return f"Deadline(remaining={self.remaining():.3f}s of {self.timeout_s:.3f}s)"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts; attempt ``k`` (0-based) waits uniform(0, min(cap, base * 2**k)).

    Attributes:
        max_attempts: attempts in all, the first included (>= 1).
        base_s: first backoff bound.
        max_backoff_s: cap of one backoff.
    """

    max_attempts: int = 3
    base_s: float = 0.05
    max_backoff_s: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be an integer >= 1, got {self.max_attempts!r}")
        if not self.base_s > 0:
            raise ValueError(f"base_s must be positive, got {self.base_s!r}")
        if not self.max_backoff_s > 0:
            raise ValueError(f"max_backoff_s must be positive, got {self.max_backoff_s!r}")

    @classmethod
    def from_config(cls, config: LinkConfig) -> RetryPolicy:
        """The policy described by a :class:`LinkConfig`."""
        return cls(config.retry_max_attempts, config.retry_base_s, config.retry_max_backoff_s)

    def backoff_bound(self, attempt: int) -> float:
        """Upper bound of the sleep after failed attempt ``attempt`` (0-based)."""
        return min(self.max_backoff_s, self.base_s * (2**attempt))

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """A full-jitter sleep for failed attempt ``attempt``."""
        return rng.uniform(0.0, self.backoff_bound(attempt))


def call_with_retry(
    fn: Callable[[Deadline], T],
    deadline: Deadline,
    policy: RetryPolicy,
    *,
    retry_on: tuple[type[BaseException], ...] = (LinkUnavailable,),
    should_retry: Callable[[BaseException], bool] | None = None,
    on_attempt_failed: Callable[[int, BaseException], None] | None = None,
    rng: random.Random | None = None,
    what: str = "call",
) -> T:
    """Call ``fn(deadline)`` until it succeeds, attempts run out, or the deadline passes.

    Args:
        fn: one attempt; it must itself respect the deadline it is given.
        deadline: bounds all attempts and backoffs together.
        policy: attempts and backoff.
        retry_on: exception types worth another attempt; anything else propagates at once.
        should_retry: extra veto (e.g. "not while the link is down"); False stops retrying.
        on_attempt_failed: called with (attempt, error) after each failed attempt.
        rng: randomness of the jitter (seed it in tests).
        what: names the call in errors and logs.

    Returns:
        What ``fn`` returned.

    Raises:
        DeadlineExceeded: no time left before or between attempts.
        Exception: the last attempt's error when attempts ran out or retrying was vetoed.
    """
    rng = rng or random.Random()
    clock = deadline.clock
    last: BaseException | None = None
    for attempt in range(policy.max_attempts):
        if deadline.expired():
            raise DeadlineExceeded(
                f"{what}: deadline of {deadline.timeout_s:.3f}s exceeded after {attempt} "
                f"attempt(s); last error: {last}"
            ) from last
        try:
            return fn(deadline)
        except retry_on as exc:
            last = exc
            if on_attempt_failed is not None:
                on_attempt_failed(attempt, exc)
            if attempt + 1 >= policy.max_attempts:
                break
            if should_retry is not None and not should_retry(exc):
                break
            pause = policy.backoff(attempt, rng)
            if pause >= deadline.remaining():
                raise DeadlineExceeded(
                    f"{what}: no time left for attempt {attempt + 2} (backoff {pause:.3f}s); "
                    f"last error: {exc}"
                ) from exc
            logger.debug("%s attempt %d failed (%s); retrying in %.3fs", what, attempt, exc, pause)
            clock.sleep(pause)
    assert last is not None
    raise last
