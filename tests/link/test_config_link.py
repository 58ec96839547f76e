"""Every validated field of LinkConfig rejects bad values with a message naming the field."""

import pytest

from embodied_collab.config import config_from_dict
from embodied_collab.errors import InvalidFileError
from embodied_collab.link.config_link import LinkConfig

BAD = [
    ("probe_interval_s", 0, "probe_interval_s"),
    ("probe_timeout_s", -1.0, "probe_timeout_s"),
    ("degraded_latency_s", 0.0, "degraded_latency_s"),
    ("breaker_open_s", 0, "breaker_open_s"),
    ("breaker_max_open_s", -2, "breaker_max_open_s"),
    ("call_timeout_s", 0, "call_timeout_s"),
    ("retry_base_s", 0, "retry_base_s"),
    ("retry_max_backoff_s", -0.1, "retry_max_backoff_s"),
    ("degraded_loss", 1.5, "degraded_loss"),
    ("local_confidence_threshold", -0.1, "local_confidence_threshold"),
    ("cost_confidence_threshold", 2, "cost_confidence_threshold"),
    ("offline_min_confidence", 1.01, "offline_min_confidence"),
    ("latency_ewma_alpha", 0.0, "latency_ewma_alpha"),
    ("down_after_failures", 0, "down_after_failures"),
    ("up_after_successes", 0, "up_after_successes"),
    ("loss_window", 0, "loss_window"),
    ("breaker_failure_threshold", 0, "breaker_failure_threshold"),
    ("breaker_half_open_calls", 0, "breaker_half_open_calls"),
    ("retry_max_attempts", 0, "retry_max_attempts"),
    ("max_queued", 0, "max_queued"),
    ("sync_batch", 1.5, "sync_batch"),
    ("policy", "fastest", "policy"),
    ("offline_action", "drop", "offline_action"),
    ("local_difficulties", ("fetch", "impossible"), "local_difficulties"),
    ("local_skills", ("navigate", "fly"), "local_skills"),
    ("journal_path", "  ", "journal_path"),
]


@pytest.mark.parametrize(("name", "value", "match"), BAD)
def test_bad_values_raise(name, value, match):
    with pytest.raises(ValueError, match=match):
        LinkConfig(**{name: value})


def test_max_open_below_open_raises():
    with pytest.raises(ValueError, match="breaker_max_open_s"):
        LinkConfig(breaker_open_s=5.0, breaker_max_open_s=1.0)


def test_defaults_valid_and_from_dict():
    cfg = config_from_dict(LinkConfig, {"policy": "cost-first", "local_skills": ["navigate"]})
    assert cfg.policy == "cost-first"
    assert cfg.local_skills == ("navigate",)
    with pytest.raises(InvalidFileError, match="unknown config key"):
        config_from_dict(LinkConfig, {"probe_every": 1})
