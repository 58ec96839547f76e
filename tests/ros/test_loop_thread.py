"""The fixed-rate loop thread (plain Python) and the executor choice."""

from __future__ import annotations

import threading
import time

import pytest

from embodied_collab.ros.loop_thread import LoopThread


def _wait(predicate, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_ticks_on_absolute_deadlines_without_accumulating_lateness():
    """A tick that takes most of a period does not stretch the period (deadlines are absolute)."""
    times: list[float] = []

    def tick() -> None:
        times.append(time.monotonic())
        time.sleep(0.006)  # 60 % of the period

    loop = LoopThread(0.01, tick, name="test-loop").start()
    try:
        _wait(lambda: len(times) >= 60)
    finally:
        loop.stop()
    assert not loop.running
    # a relative timer (sleep a period after each tick) would give >= 16 ms per tick here
    mean_period = (times[-1] - times[0]) / (len(times) - 1 + loop.skipped)
    assert mean_period < 0.014, f"mean period {mean_period * 1e3:.1f} ms for a 10 ms loop"
    n = len(times)
    time.sleep(0.05)
    assert len(times) == n, "ticks after stop()"


def test_a_stall_skips_ahead_instead_of_bursting():
    times: list[float] = []
    stall = threading.Event()

    def tick() -> None:
        times.append(time.monotonic())
        if len(times) == 5:
            stall.set()
            time.sleep(0.3)  # 30 periods

    loop = LoopThread(0.01, tick, max_lag=3).start()
    try:
        _wait(lambda: len(times) >= 15)
    finally:
        loop.stop()
    assert loop.skipped >= 20
    after = [b - a for a, b in zip(times[5:], times[6:], strict=False)]
    # catching up 30 missed ticks back to back would give ~0 s gaps; at most max_lag may be short
    assert sum(gap < 0.002 for gap in after) <= 3, after


def test_set_period_changes_the_rate_and_errors_stop_the_loop():
    times: list[float] = []
    loop = LoopThread(0.05, lambda: times.append(time.monotonic())).start()
    try:
        _wait(lambda: len(times) >= 3)
        loop.set_period(0.005)
        assert loop.period == 0.005
        n = len(times)
        _wait(lambda: len(times) >= n + 40, timeout=5.0)  # 40 ticks at 20 Hz would take 2 s
    finally:
        loop.stop()

    def broken() -> None:
        raise RuntimeError("tick failed")

    bad = LoopThread(0.01, broken).start()
    _wait(lambda: not bad.running)
    assert isinstance(bad.error, RuntimeError)


@pytest.mark.parametrize("period", [0.0, -1.0, float("nan")])
def test_bad_period_is_refused(period):
    with pytest.raises(ValueError, match="period_s must be > 0"):
        LoopThread(period, lambda: None)
    loop = LoopThread(0.1, lambda: None)
    with pytest.raises(ValueError, match="period_s must be > 0"):
        loop.set_period(period)


def test_executor_choice_is_validated(monkeypatch):
    from embodied_collab.ros.host import EXECUTOR_ENV, executor_kind

    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    assert executor_kind() == "events"
    assert executor_kind("multi") == "multi"
    monkeypatch.setenv(EXECUTOR_ENV, "multi")
    assert executor_kind() == "multi"
    monkeypatch.setenv(EXECUTOR_ENV, "static")
    with pytest.raises(ValueError, match=f"{EXECUTOR_ENV} must be one of"):
        executor_kind()
    with pytest.raises(ValueError, match="executor must be one of"):
        executor_kind("fast")
