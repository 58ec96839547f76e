"""Link monitor: active probes plus passive signals from real requests, folded into a link state
(up / degraded / down) with hysteresis, a smoothed latency and a loss estimate.

Listeners are called on every state change; the router, the circuit breaker and the ROS node
subscribe to it. The state machine is driven by :meth:`LinkMonitor.record_success` and
:meth:`LinkMonitor.record_failure`, so it runs on a fake clock in tests; :meth:`LinkMonitor.start`
adds a background thread that probes at ``probe_interval_s``.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from embodied_collab.link.clock import Clock, RealClock
from embodied_collab.link.config_link import LinkConfig

logger = logging.getLogger(__name__)

#: A probe: one cheap round trip that raises on failure, bounded by the timeout it is given.
Probe = Callable[[float], None]


class LinkState(str, enum.Enum):
    """Health of the cloud link."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class LinkStatus:
    """A snapshot of the monitor.

    Attributes:
        state: the link state.
        since: clock time of the last state change.
        latency_s: smoothed probe round-trip time (None until measured after the last outage).
        loss: fraction of failed signals among the last ``loss_window``.
        consecutive_failures: failures since the last success.
        consecutive_successes: successes since the last failure.
        last_error: the reason of the most recent failure, if any.
        changes: number of state changes so far.
    """

    state: LinkState
    since: float
    latency_s: float | None
    loss: float
    consecutive_failures: int
    consecutive_successes: int
    last_error: str | None
    changes: int

    def to_dict(self) -> dict:
        """JSON-ready view (state as its string value)."""
        return {
            "state": self.state.value,
            "since": self.since,
            "latency_s": self.latency_s,
            "loss": self.loss,
            "consecutive_failures": self.consecutive_failures,
            "consecutive_successes": self.consecutive_successes,
            "last_error": self.last_error,
            "changes": self.changes,
        }


Listener = Callable[[LinkState, LinkStatus], None]


class LinkMonitor:
    """Hysteresis state machine over probe and request outcomes.

    Rules: ``down_after_failures`` consecutive failures -> down; a single failure on an up link
    -> degraded (suspect). On a down link, ``up_after_successes`` consecutive successes -> up
    (or degraded if the measured quality is poor). An up link whose smoothed latency or loss
    crosses its threshold -> degraded; back to up when both fall below 80% of the thresholds
    after ``up_after_successes`` successes.

    Args:
        config: thresholds and the probe interval.
        probe: the active probe (``probe(timeout_s)`` raises on failure); None disables
            :meth:`probe_once` and :meth:`start` (passive signals only).
        clock: the time source (default: monotonic).
        initial: the state before any signal; down by default, so nothing is sent to the cloud
            before the link has been seen to work.
    """

    def __init__(
        self,
        config: LinkConfig | None = None,
        probe: Probe | None = None,
        clock: Clock | None = None,
        initial: LinkState = LinkState.DOWN,
    ) -> None:
        self.config = config or LinkConfig()
        self.probe = probe
        self.clock = clock or RealClock()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._state = LinkState(initial)
        self._since = self.clock.now()
        self._latency: float | None = None
        self._signals: deque[bool] = deque(maxlen=self.config.loss_window)
        self._fails = 0
        self._succ = 0
        self._last_error: str | None = None
        self._changes = 0
        self._listeners: list[Listener] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.probes_sent = 0

    # -- signals -------------------------------------------------------------------------------
    def record_success(self, latency_s: float | None = None, source: str = "probe") -> None:
        """A round trip worked; ``latency_s`` (network time only) updates the latency estimate.

        Passive signals from real requests should pass ``latency_s=None``: their duration includes
        model compute time, which says nothing about the link.
        """
        cfg = self.config
        with self._lock:
            self._succ += 1
            self._fails = 0
            self._signals.append(False)
            if latency_s is not None:
                a = cfg.latency_ewma_alpha
                self._latency = (
                    latency_s if self._latency is None else a * latency_s + (1 - a) * self._latency
                )
            new = self._state
            if self._state == LinkState.DOWN:
                # the outage's own failures say nothing about the recovered link: latency only
                slow = self._latency is not None and self._latency > cfg.degraded_latency_s
                if self._succ >= cfg.up_after_successes:
                    new = LinkState.DEGRADED if slow else LinkState.UP
            elif self._state == LinkState.UP:
                if self._poor(1.0):
                    new = LinkState.DEGRADED
            elif not self._poor(0.8) and self._succ >= cfg.up_after_successes:
                new = LinkState.UP
            fire = self._set(new, source)
        self._notify(fire)

    def record_failure(self, reason: str, source: str = "probe") -> None:
        """A round trip failed (refused, reset, timed out, garbage answer, ...)."""
        with self._lock:
            self._fails += 1
            self._succ = 0
            self._signals.append(True)
            self._last_error = f"{source}: {reason}"
            new = self._state
            if self._fails >= self.config.down_after_failures:
                new = LinkState.DOWN
            elif self._state == LinkState.UP:
                new = LinkState.DEGRADED
            fire = self._set(new, source)
        self._notify(fire)

    def _poor(self, factor: float) -> bool:
        cfg = self.config
        loss = sum(self._signals) / len(self._signals) if self._signals else 0.0
        slow = self._latency is not None and self._latency > factor * cfg.degraded_latency_s
        return slow or loss > factor * cfg.degraded_loss

    def _set(self, new: LinkState, source: str) -> tuple[LinkState, LinkStatus] | None:
        if new == self._state:
            return None
        old = self._state
        self._state = new
        self._since = self.clock.now()
        self._changes += 1
        if new == LinkState.DOWN:
            self._latency = None  # measured afresh after the outage
        elif old == LinkState.DOWN:
            self._signals.clear()
        self._cond.notify_all()
        status = self._snapshot()
        logger.info(
            "link %s -> %s (%s; last error: %s)", old.value, new.value, source, self._last_error
        )
        return old, status

    def _notify(self, fire: tuple[LinkState, LinkStatus] | None) -> None:
        if fire is None:
            return
        old, status = fire
        for listener in list(self._listeners):
            try:
                listener(old, status)
            except Exception:  # a broken listener must not stop the monitor
                logger.exception("link listener %r failed", listener)

    # -- queries -------------------------------------------------------------------------------
    @property
    def state(self) -> LinkState:
        """The current link state."""
        with self._lock:
            return self._state

    def status(self) -> LinkStatus:
        """A consistent snapshot of state, estimates and counters."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> LinkStatus:
        loss = sum(self._signals) / len(self._signals) if self._signals else 0.0
        return LinkStatus(
            state=self._state,
            since=self._since,
            latency_s=self._latency,
            loss=loss,
            consecutive_failures=self._fails,
            consecutive_successes=self._succ,
            last_error=self._last_error,
            changes=self._changes,
        )

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(old_state, new_status)`` on every change (keep it quick)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)

    def wait_for(self, state: LinkState, timeout_s: float) -> bool:
        """Block (real time, at most ``timeout_s``) until the link is in ``state``."""
        with self._cond:
            return self._cond.wait_for(lambda: self._state == state, timeout=timeout_s)

    # -- probing -------------------------------------------------------------------------------
    def probe_once(self) -> bool:
        """Run one active probe and record its outcome; True if it succeeded."""
        if self.probe is None:
            raise RuntimeError("this LinkMonitor has no probe")
        timeout = self.config.probe_timeout_s
        t0 = self.clock.now()
        self.probes_sent += 1
        try:
            self.probe(timeout)
        except Exception as exc:  # every probe failure is a link signal, whatever its type
            self.record_failure(f"{type(exc).__name__}: {exc}", "probe")
            return False
        elapsed = self.clock.now() - t0
        if elapsed > timeout:
            self.record_failure(f"probe took {elapsed:.3f}s > {timeout}s", "probe")
            return False
        self.record_success(elapsed, "probe")
        return True

    def start(self) -> None:
        """Probe in a daemon thread every ``probe_interval_s`` until :meth:`stop`."""
        if self.probe is None:
            raise RuntimeError("this LinkMonitor has no probe")
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="link-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        interval = self.config.probe_interval_s
        while not self._stop.is_set():
            t0 = self.clock.now()
            self.probe_once()
            wait = interval - (self.clock.now() - t0)
            if wait > 0:
                self._stop.wait(wait)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the probe thread (waits at most ``timeout_s`` for the probe in flight)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
