"""Clocks: the one source of time for the link layer, so state machines run on a fake clock in
tests and on the monotonic clock in production."""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Monotonic time in seconds and a bounded sleep."""

    def now(self) -> float:
        """Seconds on a monotonic clock (only differences are meaningful)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (a fake clock advances instead of blocking)."""
        ...


class RealClock:
    """``time.monotonic`` and ``time.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to: ``sleep`` and ``advance`` add to the time.

    Args:
        start: the initial time in seconds.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._t = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._t

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"sleep of negative seconds {seconds}")
        with self._lock:
            self.sleeps.append(seconds)
            self._t += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        if seconds < 0:
            raise ValueError(f"cannot advance by negative seconds {seconds}")
        with self._lock:
            self._t += seconds
