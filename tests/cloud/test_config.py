"""CloudConfig validation: every validated field rejects bad values with a clear message."""

import pytest

from embodied_collab.cloud.config_cloud import CloudConfig
from embodied_collab.config import config_from_dict
from embodied_collab.errors import InvalidFileError


def test_defaults_are_valid():
    cfg = CloudConfig()
    assert cfg.base_url is None and cfg.verify_tls and cfg.local_host == "127.0.0.1"


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("base_url", "ftp://x/v1", "base_url"),
        ("base_url", "http:///v1", "base_url"),
        ("model", "", "model"),
        ("api_key_env", "", "api_key_env"),
        ("deadline_s", 0.0, "deadline_s"),
        ("connect_timeout_s", -1.0, "connect_timeout_s"),
        ("max_response_bytes", 10, "max_response_bytes"),
        ("max_tokens", 0, "max_tokens"),
        ("temperature", 3.0, "temperature"),
        ("response_format", "xml", "response_format"),
        ("repair_rounds", 4, "repair_rounds"),
        ("max_steps", 0, "max_steps"),
        ("local_host", "0.0.0.0", "local_host"),
        ("local_port", 70000, "local_port"),
        ("local_n_ctx", 100, "local_n_ctx"),
        ("local_n_threads", 0, "local_n_threads"),
        ("startup_timeout_s", 0.0, "startup_timeout_s"),
        ("stop_timeout_s", 0.0, "stop_timeout_s"),
    ],
)
def test_bad_values_raise(field, value, match):
    with pytest.raises(ValueError, match=match):
        CloudConfig(**{field: value})


def test_cli_knows_every_response_format():
    from embodied_collab.cloud.cli import RESPONSE_FORMATS as CLI_FORMATS
    from embodied_collab.cloud.config_cloud import RESPONSE_FORMATS

    assert CLI_FORMATS == RESPONSE_FORMATS


def test_unknown_key_is_refused():
    with pytest.raises(InvalidFileError, match="api_key"):
        config_from_dict(CloudConfig, {"api_key": "sk-secret"})
