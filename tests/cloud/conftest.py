"""One real embedded LLM server per test session (started lazily, stopped by PID at the end)."""

from __future__ import annotations

import pytest

from embodied_collab.cloud.config_cloud import CloudConfig

# Generous: the test machine is a shared 2-core box where a plan can take tens of seconds.
REAL_CFG = dict(
    deadline_s=180.0,
    max_tokens=160,
    repair_rounds=0,
    local_n_threads=1,
    startup_timeout_s=120.0,
    response_format="grammar",  # the tests give base_url explicitly; the server is llama.cpp
)


@pytest.fixture(scope="session")
def real_server():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python[server] not installed")
    from embodied_collab.cloud.server import LocalServer

    server = LocalServer(CloudConfig(**REAL_CFG))
    server.start()
    try:
        yield server
    finally:
        server.stop()
