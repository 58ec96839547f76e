"""A fixed-rate loop in its own thread, scheduled on absolute deadlines (plain Python, no ROS).

The simulator's physics tick and the control loop run here instead of on an rclpy timer: the
executor then only dispatches subscriptions and services (a ``/cmd_vel`` is not queued behind a
camera frame being rendered), and the period does not accumulate the executor's own latency.
Tick ``k`` is due at ``start + k * period``; a tick that starts late does not move the later
deadlines, and when the loop falls more than ``max_lag`` periods behind it skips ahead instead of
firing a burst of catch-up ticks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class LoopThread:
    """Call ``fn()`` every ``period_s`` seconds of ``time.monotonic()`` in a daemon thread.

    Args:
        period_s: the period, seconds (> 0).
        fn: the tick; an exception it raises is logged and stops the loop.
        name: the thread's name.
        max_lag: how many periods the loop may fall behind before it skips ahead.

    Raises:
        ValueError: if ``period_s`` is not positive or ``max_lag`` < 1.
    """

    def __init__(self, period_s: float, fn: Callable[[], None], *, name: str = "loop",
                 max_lag: int = 5) -> None:
        _check_period(period_s)
        if max_lag < 1:
            raise ValueError(f"max_lag must be >= 1, got {max_lag!r}")
        self._period = float(period_s)
        self._fn = fn
        self._max_lag = max_lag
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.ticks = 0
        self.skipped = 0
        self.error: BaseException | None = None

    @property
    def period(self) -> float:
        """The current period, seconds."""
        return self._period

    def start(self) -> LoopThread:
        """Start the thread (returns self)."""
        self._thread.start()
        return self

    def set_period(self, period_s: float) -> None:
        """Change the period; the next tick is one new period after the change."""
        _check_period(period_s)
        self._period = float(period_s)
        self._changed.set()

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and wait (bounded) for a running tick to finish (idempotent)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        period = self._period
        start, k = time.monotonic(), 0
        while not self._stop.is_set():
            if self._changed.is_set():
                self._changed.clear()
                period = self._period
                start, k = time.monotonic(), 0
            k += 1
            deadline = start + k * period
            delay = deadline - time.monotonic()
            if delay > 0:
                if self._stop.wait(delay):
                    break
            elif -delay > self._max_lag * period:  # far behind: skip ahead, no burst
                missed = int(-delay // period)
                self.skipped += missed
                k += missed
            try:
                self._fn()
            except Exception as exc:  # a broken tick must not die silently
                self.error = exc
                logger.exception("loop %s stopped by an error", self._thread.name)
                break
            self.ticks += 1


def _check_period(period_s: float) -> None:
    if not (period_s > 0.0):
        raise ValueError(f"period_s must be > 0, got {period_s!r}")
