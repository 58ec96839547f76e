"""ResilientCloud: breaker + retries + monitor feeding (fake backend, fake clock), and abandoning
an in-flight call when the monitor declares the link down (fake hanging backend, real threads)."""

import threading
import time

import pytest

from embodied_collab.errors import InvalidInputError, LinkUnavailable
from embodied_collab.link.breaker import BreakerState, CircuitOpen
from embodied_collab.link.clock import FakeClock
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.monitor import LinkMonitor, LinkState
from embodied_collab.link.resilient import CallAbandoned, ResilientCloud
from embodied_collab.link.retry import Deadline
from embodied_collab.link.router import PlanRequest, PlanResult
from embodied_collab.link.trace import command_context, current_command_id


class FakeBackend:
    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0

    def plan(self, request, deadline):
        self.calls += 1
        o = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(o, Exception):
            raise o
        return PlanResult(plan=o)


def make(outcomes, **kw):
    clock = FakeClock()
    cfg = LinkConfig(retry_max_attempts=3, breaker_failure_threshold=3, down_after_failures=5,
                     **kw)
    mon = LinkMonitor(cfg, clock=clock, initial=LinkState.UP)
    backend = FakeBackend(outcomes)
    rc = ResilientCloud(backend, cfg, mon, clock=clock, threaded=False)
    return rc, backend, mon, clock


REQ = PlanRequest(command_id="c1", text="go")


def test_retries_then_succeeds_and_feeds_monitor():
    rc, backend, mon, clock = make([LinkUnavailable("reset"), "plan"])
    r = rc.plan(REQ, Deadline(5.0, clock))
    assert r.plan == "plan" and backend.calls == 2
    assert mon.status().consecutive_successes == 1
    assert rc.breaker.state == BreakerState.CLOSED


def test_failures_open_breaker_then_fail_fast():
    rc, backend, mon, clock = make([LinkUnavailable("refused")] * 3)
    with pytest.raises(LinkUnavailable, match="refused"):
        rc.plan(REQ, Deadline(5.0, clock))
    assert backend.calls == 3
    assert rc.breaker.state == BreakerState.OPEN
    assert not rc.available()
    with pytest.raises(CircuitOpen):
        rc.plan(REQ, Deadline(5.0, clock))
    assert backend.calls == 3  # nothing sent while open


def test_link_down_means_no_call():
    rc, backend, mon, clock = make([])
    for _ in range(5):
        mon.record_failure("probe refused")
    assert mon.state == LinkState.DOWN and not rc.available()
    with pytest.raises(CallAbandoned, match="link is down"):
        rc.plan(REQ, Deadline(5.0, clock))
    assert backend.calls == 0


def test_non_link_error_is_not_retried_or_counted():
    rc, backend, mon, clock = make([InvalidInputError("bad prompt")])
    with pytest.raises(InvalidInputError):
        rc.plan(REQ, Deadline(5.0, clock))
    assert backend.calls == 1
    assert mon.status().consecutive_failures == 0


class HangingBackend:
    """Blocks until released (like a blackholed request), recording the command id it saw."""

    def __init__(self):
        self.release = threading.Event()
        self.seen = None

    def plan(self, request, deadline):
        self.seen = current_command_id()
        self.release.wait(deadline.remaining())
        raise LinkUnavailable("timed out")


def test_in_flight_call_abandoned_when_link_goes_down():
    cfg = LinkConfig(down_after_failures=2)
    mon = LinkMonitor(cfg, initial=LinkState.UP)
    backend = HangingBackend()
    rc = ResilientCloud(backend, cfg, mon)
    result = {}

    def call():
        t0 = time.monotonic()
        try:
            with command_context("cmd-abandon"):
                rc.plan(REQ, Deadline(5.0))
        except LinkUnavailable as exc:
            result["err"] = exc
        result["t"] = time.monotonic() - t0

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.1)
    t_down = time.monotonic()
    mon.record_failure("probe timeout")
    mon.record_failure("probe timeout")
    t.join(2.0)
    backend.release.set()
    assert not t.is_alive()
    assert isinstance(result["err"], CallAbandoned)
    assert result["t"] < 1.0  # not the 5 s deadline
    assert time.monotonic() - t_down < 1.0
    assert backend.seen == "cmd-abandon"  # the trace id crossed into the worker thread
    assert rc.abandoned == 1


def test_threaded_call_respects_deadline():
    cfg = LinkConfig()
    backend = HangingBackend()
    rc = ResilientCloud(backend, cfg)
    t0 = time.monotonic()
    with pytest.raises(LinkUnavailable):
        rc.plan(REQ, Deadline(0.3))
    backend.release.set()
    assert time.monotonic() - t0 < 1.5
