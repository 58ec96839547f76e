"""Resilient link layer: link monitor, circuit breaker, deadlines and retries, cloud/local router,
durable command journal, command tracing and fault injection.

Everything here is plain Python (no rclpy) and takes a :class:`~embodied_collab.link.clock.Clock`
so the state machines are tested with a fake clock; the ROS node only reports their state.
"""

from embodied_collab.link.breaker import BreakerState, CircuitBreaker, CircuitOpen
from embodied_collab.link.clock import Clock, FakeClock, RealClock
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.journal import CommandRecord, CommandState, Journal
from embodied_collab.link.monitor import LinkMonitor, LinkState, LinkStatus
from embodied_collab.link.resilient import ResilientCloud
from embodied_collab.link.retry import Deadline, DeadlineExceeded, RetryPolicy, call_with_retry
from embodied_collab.link.router import (
    PlanBackend,
    PlanRequest,
    PlanResult,
    Policy,
    RouteDecision,
    RoutedResult,
    Router,
)

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpen",
    "Clock",
    "CommandRecord",
    "CommandState",
    "Deadline",
    "DeadlineExceeded",
    "FakeClock",
    "Journal",
    "LinkConfig",
    "LinkMonitor",
    "LinkState",
    "LinkStatus",
    "PlanBackend",
    "PlanRequest",
    "PlanResult",
    "Policy",
    "RealClock",
    "ResilientCloud",
    "RetryPolicy",
    "RouteDecision",
    "RoutedResult",
    "Router",
    "call_with_retry",
]
