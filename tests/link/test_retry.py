"""Deadlines and bounded retries with full-jitter backoff, on a fake clock."""

import random

import pytest

from embodied_collab.errors import InvalidInputError, LinkUnavailable
from embodied_collab.link.clock import FakeClock
from embodied_collab.link.retry import Deadline, DeadlineExceeded, RetryPolicy, call_with_retry


def test_deadline_counts_down():
    clock = FakeClock()
    d = Deadline(2.0, clock)
    assert d.remaining() == pytest.approx(2.0)
    clock.advance(1.5)
    assert d.remaining() == pytest.approx(0.5)
    assert d.sub(10.0).remaining() == pytest.approx(0.5)
    clock.advance(1.0)
    assert d.expired()
    with pytest.raises(DeadlineExceeded, match="deadline"):
        d.check()


def test_deadline_rejects_nonpositive():
    with pytest.raises(ValueError, match="timeout_s"):
        Deadline(0.0)


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"max_attempts": 0}, "max_attempts"), ({"base_s": 0}, "base_s"),
     ({"max_backoff_s": -1}, "max_backoff_s")],
)
def test_policy_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        RetryPolicy(**kw)


def test_bounded_attempts_and_jitter_within_bounds():
    clock = FakeClock()
    calls = []

    def always_fail(d):
        calls.append(clock.now())
        raise LinkUnavailable("refused")

    policy = RetryPolicy(max_attempts=5, base_s=0.1, max_backoff_s=0.3)
    with pytest.raises(LinkUnavailable, match="refused"):
        call_with_retry(always_fail, Deadline(100.0, clock), policy, rng=random.Random(1))
    assert len(calls) == 5
    assert len(clock.sleeps) == 4
    for k, s in enumerate(clock.sleeps):
        assert 0 <= s <= policy.backoff_bound(k)
    assert [policy.backoff_bound(k) for k in range(4)] == pytest.approx([0.1, 0.2, 0.3, 0.3])


def test_success_after_retries_returns_value():
    clock = FakeClock()
    n = {"i": 0}

    def flaky(d):
        n["i"] += 1
        if n["i"] < 3:
            raise LinkUnavailable("reset")
        return "ok"

    assert call_with_retry(flaky, Deadline(10, clock), RetryPolicy(max_attempts=3)) == "ok"


def test_never_sleeps_past_deadline():
    clock = FakeClock()

    def slow_fail(d):
        clock.advance(0.4)
        raise LinkUnavailable("timeout")

    policy = RetryPolicy(max_attempts=100, base_s=0.5, max_backoff_s=0.5)
    start = clock.now()
    with pytest.raises(DeadlineExceeded):
        call_with_retry(slow_fail, Deadline(2.0, clock), policy, rng=random.Random(0))
    assert clock.now() - start <= 2.0 + 0.4  # at most one attempt that overran


def test_non_retryable_error_propagates_at_once():
    clock = FakeClock()
    calls = []

    def bad_input(d):
        calls.append(1)
        raise InvalidInputError("empty")

    with pytest.raises(InvalidInputError):
        call_with_retry(bad_input, Deadline(10, clock), RetryPolicy(max_attempts=4))
    assert calls == [1]


def test_should_retry_veto_stops():
    clock = FakeClock()
    calls = []

    def fail(d):
        calls.append(1)
        raise LinkUnavailable("down")

    with pytest.raises(LinkUnavailable):
        call_with_retry(fail, Deadline(10, clock), RetryPolicy(max_attempts=4),
                        should_retry=lambda e: False)
    assert calls == [1]
