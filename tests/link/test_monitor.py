"""Link monitor state machine on a fake clock (hysteresis, degraded, estimates, listeners)."""

import pytest

from embodied_collab.errors import LinkUnavailable
from embodied_collab.link.clock import FakeClock
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.monitor import LinkMonitor, LinkState


def make(initial=LinkState.UP, **kw):
    clock = FakeClock()
    cfg = LinkConfig(**kw)
    return LinkMonitor(cfg, clock=clock, initial=initial), clock


def test_two_failures_down_and_two_successes_up():
    mon, _ = make()
    changes = []
    mon.add_listener(lambda old, st: changes.append((old.value, st.state.value)))
    mon.record_failure("refused")
    assert mon.state == LinkState.DEGRADED  # one failure: suspect, not down
    mon.record_failure("refused")
    assert mon.state == LinkState.DOWN
    mon.record_success(0.01)
    assert mon.state == LinkState.DOWN  # hysteresis: one success is not enough
    mon.record_success(0.01)
    assert mon.state == LinkState.UP
    assert changes == [("up", "degraded"), ("degraded", "down"), ("down", "up")]


def test_failure_streak_broken_by_success_stays_up():
    mon, _ = make(down_after_failures=3)
    for _ in range(10):
        mon.record_failure("x")
        mon.record_failure("x")
        mon.record_success(0.01)
        mon.record_success(0.01)
    assert mon.state != LinkState.DOWN
    assert mon.status().changes > 0


def test_initial_down_needs_up_after_successes():
    mon, _ = make(initial=LinkState.DOWN, up_after_successes=3)
    mon.record_success(0.01)
    mon.record_success(0.01)
    assert mon.state == LinkState.DOWN
    mon.record_success(0.01)
    assert mon.state == LinkState.UP


def test_high_latency_degrades_and_recovers_with_margin():
    mon, _ = make(degraded_latency_s=0.5, latency_ewma_alpha=1.0)
    mon.record_success(0.9)
    assert mon.state == LinkState.DEGRADED
    mon.record_success(0.45)  # below threshold but within the 80 % margin: stays degraded
    mon.record_success(0.45)
    assert mon.state == LinkState.DEGRADED
    mon.record_success(0.1)
    mon.record_success(0.1)
    assert mon.state == LinkState.UP
    assert mon.status().latency_s == pytest.approx(0.1)


def test_loss_estimate_and_degraded_by_loss():
    mon, _ = make(loss_window=10, degraded_loss=0.2, down_after_failures=5)
    for i in range(10):
        if i % 3 == 0:
            mon.record_failure("lost")
        else:
            mon.record_success(0.01)
    st = mon.status()
    assert st.loss == pytest.approx(0.4)
    assert st.state == LinkState.DEGRADED


def test_latency_ewma_and_reset_on_down():
    mon, _ = make(latency_ewma_alpha=0.5)
    mon.record_success(0.2)
    mon.record_success(0.1)
    assert mon.status().latency_s == pytest.approx(0.15)
    mon.record_failure("x")
    mon.record_failure("x")
    assert mon.status().latency_s is None


def test_passive_success_does_not_touch_latency():
    mon, _ = make()
    mon.record_success(0.05)
    mon.record_success(None, "request")
    assert mon.status().latency_s == pytest.approx(0.05)


def test_probe_once_success_failure_and_slow_probe():
    clock = FakeClock()
    cfg = LinkConfig(probe_timeout_s=0.25)
    behaviour = {"mode": "ok"}

    def fake_probe(timeout):
        assert timeout == 0.25
        if behaviour["mode"] == "fail":
            raise LinkUnavailable("refused")
        clock.advance(0.5 if behaviour["mode"] == "slow" else 0.01)

    mon = LinkMonitor(cfg, fake_probe, clock, initial=LinkState.UP)
    assert mon.probe_once() is True
    behaviour["mode"] = "slow"
    assert mon.probe_once() is False
    behaviour["mode"] = "fail"
    assert mon.probe_once() is False
    assert mon.state == LinkState.DOWN
    assert "refused" in mon.status().last_error
    assert mon.probes_sent == 3


def test_broken_listener_does_not_break_monitor():
    mon, _ = make()

    def bad(old, st):
        raise RuntimeError("boom")

    seen = []
    mon.add_listener(bad)
    mon.add_listener(lambda o, s: seen.append(s.state))
    mon.record_failure("x")
    assert seen == [LinkState.DEGRADED]
    mon.remove_listener(bad)


def test_since_uses_clock():
    mon, clock = make()
    clock.advance(5.0)
    mon.record_failure("x")
    mon.record_failure("x")
    assert mon.status().since == pytest.approx(clock.now())
    assert mon.status().to_dict()["state"] == "down"


def test_no_probe_cannot_start():
    mon, _ = make()
    with pytest.raises(RuntimeError, match="no probe"):
        mon.start()
