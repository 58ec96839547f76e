"""Circuit breaker on a fake clock: closed -> open -> half-open -> closed/open."""

import pytest

from embodied_collab.link.breaker import BreakerState, CircuitBreaker, CircuitOpen
from embodied_collab.link.clock import FakeClock
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.monitor import LinkMonitor, LinkState


def make(**kw):
    clock = FakeClock()
    cfg = LinkConfig(breaker_failure_threshold=3, breaker_open_s=1.0, breaker_max_open_s=4.0, **kw)
    return CircuitBreaker(cfg, clock), clock


def test_opens_after_threshold_and_fails_fast():
    br, _ = make()
    for _ in range(2):
        br.record_failure("x")
        assert br.state == BreakerState.CLOSED
    br.record_failure("x")
    assert br.state == BreakerState.OPEN
    assert not br.allow()
    with pytest.raises(CircuitOpen, match="next trial in") as info:
        br.check()
    assert info.value.retry_in_s == pytest.approx(1.0)


def test_half_open_trial_success_closes():
    br, clock = make()
    for _ in range(3):
        br.record_failure("x")
    clock.advance(1.0)
    assert br.state == BreakerState.HALF_OPEN
    assert br.allow()  # the one trial
    assert not br.allow()  # no second trial at the same time
    br.record_success()
    assert br.state == BreakerState.CLOSED
    assert br.allow()


def test_half_open_trial_failure_doubles_open_time_capped():
    br, clock = make()
    for _ in range(3):
        br.record_failure("x")
    waits = []
    for _ in range(4):
        clock.advance(br.retry_in())
        assert br.allow()
        br.record_failure("trial failed")
        waits.append(br.retry_in())
    assert waits == [2.0, 4.0, 4.0, 4.0]
    clock.advance(4.0)
    br.allow()
    br.record_success()
    for _ in range(3):
        br.record_failure("x")
    assert br.retry_in() == pytest.approx(1.0)  # reset after closing


def test_success_resets_failure_count():
    br, _ = make()
    br.record_failure("x")
    br.record_failure("x")
    br.record_success()
    br.record_failure("x")
    br.record_failure("x")
    assert br.state == BreakerState.CLOSED


def test_attached_to_monitor():
    clock = FakeClock()
    cfg = LinkConfig()
    mon = LinkMonitor(cfg, clock=clock, initial=LinkState.UP)
    br = CircuitBreaker(cfg, clock)
    br.attach(mon)
    mon.record_failure("x")
    mon.record_failure("x")
    assert br.state == BreakerState.OPEN
    assert "link down" in br.last_reason
    mon.record_success(0.01)
    mon.record_success(0.01)
    assert br.state == BreakerState.HALF_OPEN  # without waiting for the open period
    assert br.allow()
