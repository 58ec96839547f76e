"""The cloud backend wrapped in the link layer's protections: circuit breaker, deadline on every
call, bounded retries with jittered backoff, passive signals to the link monitor, and immediate
abandonment of in-flight calls when the monitor declares the link down."""

from __future__ import annotations

import contextvars
import logging
import random
import threading

from embodied_collab.errors import LinkUnavailable
from embodied_collab.link.breaker import CircuitBreaker, CircuitOpen
from embodied_collab.link.clock import Clock, RealClock
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.monitor import LinkMonitor, LinkState, LinkStatus
from embodied_collab.link.retry import Deadline, DeadlineExceeded, RetryPolicy, call_with_retry
from embodied_collab.link.router import PlanBackend, PlanRequest, PlanResult

logger = logging.getLogger(__name__)


class CallAbandoned(LinkUnavailable):
    """The link was declared down while the call was in flight; its answer is not awaited."""


class _InFlight:
    __slots__ = ("done", "result", "error", "abandoned")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: PlanResult | None = None
        self.error: BaseException | None = None
        self.abandoned: str | None = None


class ResilientCloud:
    """A :class:`PlanBackend` around the raw cloud backend (one call = one HTTP attempt).

    Args:
        backend: the raw cloud backend; it must honour the deadline it is given and raise
            :class:`LinkUnavailable` (or a subclass) when the link fails.
        config: breaker and retry settings.
        monitor: receives a passive signal per attempt; when it goes down, calls in flight are
            abandoned at once (so the router falls back within milliseconds of detection).
        breaker: the circuit breaker (default: a new one attached to ``monitor``).
        clock: the time source.
        rng: jitter randomness.
        threaded: run each attempt in a worker thread so it can be abandoned (False runs it
            inline, for fake-clock unit tests).
    """

    def __init__(
        self,
        backend: PlanBackend,
        config: LinkConfig | None = None,
        monitor: LinkMonitor | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        threaded: bool = True,
    ) -> None:
        self.backend = backend
        self.config = config or LinkConfig()
        self.clock = clock or RealClock()
        self.monitor = monitor
        self.breaker = breaker or CircuitBreaker(self.config, self.clock)
        if breaker is None and monitor is not None:
            self.breaker.attach(monitor)
        self.policy = RetryPolicy.from_config(self.config)
        self.rng = rng or random.Random()
        self.threaded = threaded
        self._inflight: set[_InFlight] = set()
        self._lock = threading.Lock()
        self.calls = 0
        self.attempts = 0
        self.abandoned = 0
        if monitor is not None:
            monitor.add_listener(self._on_link_change)

    def available(self) -> bool:
        """Whether a call may be attempted: link not down and circuit not open."""
        if self.monitor is not None and self.monitor.state == LinkState.DOWN:
            return False
        return self.breaker.retry_in() == 0.0

    def _on_link_change(self, old: LinkState, status: LinkStatus) -> None:
        if status.state != LinkState.DOWN:
            return
        with self._lock:
            calls = list(self._inflight)
        for call in calls:
            call.abandoned = f"link down ({status.last_error})"
            call.done.set()

    def plan(self, request: PlanRequest, deadline: Deadline) -> PlanResult:
        """Plan with the cloud under ``deadline``: breaker check, bounded retries, monitoring.

        Raises:
            CircuitOpen: the circuit is open (nothing was sent).
            CallAbandoned: the link went down while waiting.
            DeadlineExceeded: time ran out.
            LinkUnavailable: the last attempt's failure when attempts ran out.
        """
        self.calls += 1
        t0 = self.clock.now()
        result = call_with_retry(
            lambda d: self._attempt(request, d),
            deadline,
            self.policy,
            should_retry=self._should_retry,
            rng=self.rng,
            what=f"cloud plan {request.command_id}",
        )
        result.latency_s = self.clock.now() - t0
        return result

    def _should_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, (CircuitOpen, CallAbandoned, DeadlineExceeded)):
            return False
        return self.available()

    def _attempt(self, request: PlanRequest, deadline: Deadline) -> PlanResult:
        if self.monitor is not None and self.monitor.state == LinkState.DOWN:
            raise CallAbandoned("link is down; not calling the cloud")
        self.breaker.check()
        self.attempts += 1
        try:
            result = self._run(request, deadline) if self.threaded else self.backend.plan(
                request, deadline
            )
        except CallAbandoned:
            self.abandoned += 1
            raise
        except LinkUnavailable as exc:
            reason = f"{type(exc).__name__}: {exc}"
            self.breaker.record_failure(reason)
            if self.monitor is not None:
                self.monitor.record_failure(reason, "request")
            raise
        self.breaker.record_success()
        if self.monitor is not None:
            self.monitor.record_success(None, "request")
        return result

    def _run(self, request: PlanRequest, deadline: Deadline) -> PlanResult:
        call = _InFlight()
        ctx = contextvars.copy_context()

        def work() -> None:
            try:
                call.result = ctx.run(self.backend.plan, request, deadline)
            except BaseException as exc:  # handed to the waiting thread
                call.error = exc
            finally:
                call.done.set()

        with self._lock:
            self._inflight.add(call)
        try:
            threading.Thread(target=work, name="cloud-call", daemon=True).start()
            # Small grace beyond the deadline: the backend is told the deadline itself.
            if not call.done.wait(deadline.remaining() + 0.05):
                raise DeadlineExceeded(f"cloud call missed its {deadline.timeout_s:.2f}s deadline")
        finally:
            with self._lock:
                self._inflight.discard(call)
        if call.abandoned is not None and call.result is None:
            raise CallAbandoned(call.abandoned)
        if call.error is not None:
            raise call.error
        assert call.result is not None
        return call.result
