"""Circuit breaker with half-open probing: after repeated failures calls fail fast for a while,
then a few trial calls decide whether to close the circuit again."""

from __future__ import annotations

import enum
import logging
import threading

from embodied_collab.errors import LinkUnavailable
from embodied_collab.link.clock import Clock, RealClock
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.monitor import LinkMonitor, LinkState, LinkStatus

logger = logging.getLogger(__name__)


class CircuitOpen(LinkUnavailable):
    """The circuit is open: the call was not attempted.

    Attributes:
        retry_in_s: seconds until a half-open trial will be allowed.
    """

    def __init__(self, message: str, retry_in_s: float) -> None:
        self.retry_in_s = retry_in_s
        super().__init__(message)


class BreakerState(str, enum.Enum):
    """Closed: calls pass. Open: calls fail fast. Half-open: a few trial calls pass."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """The classic three-state breaker, on an injectable clock.

    ``breaker_failure_threshold`` consecutive failures open the circuit for ``breaker_open_s``;
    then it is half-open and lets ``breaker_half_open_calls`` trial calls through. A trial
    success closes it; a trial failure opens it again for twice as long (capped at
    ``breaker_max_open_s``). :meth:`attach` ties it to a :class:`LinkMonitor`: a down link opens
    the circuit at once, a recovered link makes it half-open at once, so the first request after
    recovery is the trial.

    Args:
        config: thresholds and durations.
        clock: the time source.
        name: used in log lines and error messages.
    """

    def __init__(
        self, config: LinkConfig | None = None, clock: Clock | None = None, name: str = "cloud"
    ) -> None:
        self.config = config or LinkConfig()
        self.clock = clock or RealClock()
        self.name = name
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._fails = 0
        self._opened_at = 0.0
        self._open_for = self.config.breaker_open_s
        self._trials = 0
        self.last_reason: str | None = None

    @property
    def state(self) -> BreakerState:
        """The current state (an expired open period reads as half-open)."""
        with self._lock:
            self._tick()
            return self._state

    def _tick(self) -> None:
        expired = self.clock.now() >= self._opened_at + self._open_for
        if self._state == BreakerState.OPEN and expired:
            self._state = BreakerState.HALF_OPEN
            self._trials = 0
            logger.info("breaker %s: open -> half_open", self.name)

    def retry_in(self) -> float:
        """Seconds until calls may pass again (0 when closed or half-open)."""
        with self._lock:
            self._tick()
            if self._state != BreakerState.OPEN:
                return 0.0
            return max(0.0, self._opened_at + self._open_for - self.clock.now())

    def allow(self) -> bool:
        """Whether a call may be attempted now; a half-open trial slot is taken if so."""
        with self._lock:
            self._tick()
            if self._state == BreakerState.CLOSED:
                return True
            if self._state == BreakerState.HALF_OPEN and (
                self._trials < self.config.breaker_half_open_calls
            ):
                self._trials += 1
                return True
            return False

    def check(self) -> None:
        """Like :meth:`allow` but raise :class:`CircuitOpen` (with the wait) when refused."""
        if not self.allow():
            wait = self.retry_in()
            raise CircuitOpen(
                f"circuit {self.name} is {self.state.value} ({self.last_reason}); "
                f"next trial in {wait:.2f}s",
                wait,
            )

    def record_success(self) -> None:
        """A call succeeded: close the circuit and reset the open time."""
        with self._lock:
            if self._state != BreakerState.CLOSED:
                logger.info("breaker %s: %s -> closed", self.name, self._state.value)
            self._state = BreakerState.CLOSED
            self._fails = 0
            self._open_for = self.config.breaker_open_s

    def record_failure(self, reason: str = "call failed") -> None:
        """A call failed: count it; open the circuit at the threshold or on a failed trial."""
        with self._lock:
            self._tick()
            self._fails += 1
            self.last_reason = reason
            if self._state == BreakerState.HALF_OPEN:
                self._open_for = min(2 * self._open_for, self.config.breaker_max_open_s)
                self._open(reason)
            elif (
                self._state == BreakerState.CLOSED
                and self._fails >= self.config.breaker_failure_threshold
            ):
                self._open(reason)

    def _open(self, reason: str) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self.clock.now()
        self._trials = 0
        logger.info("breaker %s: open for %.2fs (%s)", self.name, self._open_for, reason)

    def force_open(self, reason: str) -> None:
        """Open now (the monitor saw the link go down)."""
        with self._lock:
            self.last_reason = reason
            if self._state != BreakerState.OPEN:
                self._open(reason)

    def half_open(self) -> None:
        """Allow trial calls now (the monitor saw the link come back)."""
        with self._lock:
            if self._state == BreakerState.OPEN:
                self._state = BreakerState.HALF_OPEN
                self._trials = 0
                logger.info("breaker %s: open -> half_open (link recovered)", self.name)

    def attach(self, monitor: LinkMonitor) -> None:
        """Follow ``monitor``: open when the link goes down, half-open when it comes back."""

        def on_change(old: LinkState, status: LinkStatus) -> None:
            if status.state == LinkState.DOWN:
                self.force_open(f"link down: {status.last_error}")
            elif old == LinkState.DOWN:
                self.half_open()

        monitor.add_listener(on_change)
