"""Configuration of the cloud LLM component: endpoint, credentials, deadlines, local server."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

#: How the client asks the server for JSON: ``grammar`` (a GBNF grammar in the request's
#: ``grammar`` field: llama.cpp servers; the decomposer's grammar allows only the allow-listed
#: skills over the world's ids), ``json_schema`` (the OpenAI structured-output form: hosted APIs,
#: vLLM), ``json_object`` (JSON mode with the schema attached: llama.cpp servers constrain
#: decoding to it, others treat it as plain JSON mode), ``none`` (the reply is then parsed
#: leniently as JSON), or ``auto``: ``grammar`` for the embedded server (``base_url`` null),
#: ``json_object`` for a user endpoint.
RESPONSE_FORMATS: tuple[str, ...] = ("auto", "grammar", "json_schema", "json_object", "none")


@dataclass(kw_only=True)
class CloudConfig:
    """Settings of the cloud LLM client, the task decomposer and the embedded local server.

    Attributes:
        base_url: OpenAI-compatible API root, e.g. ``http://127.0.0.1:8080/v1``. ``None`` means
            "start the embedded local llama.cpp server and use it".
        model: model name sent in each request (servers serving one model ignore it).
        api_key_env: environment variable holding the API key (unset -> no key is sent).
        api_key_file: file holding the API key (first line); used when the variable is unset.
        verify_tls: verify the server's TLS certificate (only turn off for a test endpoint).
        ca_file: extra CA bundle (PEM) for a private endpoint; ``None`` -> system store.
        deadline_s: overall deadline of one call (connect + send + wait + read), seconds.
        connect_timeout_s: bound on the TCP/TLS connect alone (never more than the deadline).
        max_response_bytes: refuse replies larger than this (a runaway server cannot exhaust
            memory).
        max_tokens: completion token budget of one call (a compact plan needs ~40-90).
        temperature: sampling temperature (0 -> greedy, reproducible plans).
        response_format: one of :data:`RESPONSE_FORMATS`.
        repair_rounds: how many times an invalid plan is sent back with the validator's errors.
        max_steps: longest plan accepted.
        privacy: redact personal data from instructions before they leave the robot.
        local_host: interface of the embedded server (loopback only).
        local_port: port of the embedded server (0 -> pick a free port).
        local_model_path: GGUF file for the embedded server; ``None`` -> the packaged
            Qwen2.5-Coder-0.5B-Instruct (assembled and hash-verified on first use).
        local_n_ctx: context window of the embedded server.
        local_n_threads: CPU threads of the embedded server.
        startup_timeout_s: bound on waiting for the embedded server to answer.
        stop_timeout_s: grace period after SIGTERM before SIGKILL.
    """

    base_url: str | None = None
    model: str = "qwen2.5-coder-0.5b-instruct"
    api_key_env: str = "EMBODIED_COLLAB_API_KEY"
    api_key_file: str | None = None
    verify_tls: bool = True
    ca_file: str | None = None
    deadline_s: float = 30.0
    connect_timeout_s: float = 5.0
    max_response_bytes: int = 4_000_000
    max_tokens: int = 160
    temperature: float = 0.0
    response_format: str = "auto"
    repair_rounds: int = 1
    max_steps: int = 16
    privacy: bool = True
    local_host: str = "127.0.0.1"
    local_port: int = 0
    local_model_path: str | None = None
    local_n_ctx: int = 4096
    local_n_threads: int = 2
    startup_timeout_s: float = 120.0
    stop_timeout_s: float = 5.0

    @property
    def effective_response_format(self) -> str:
        """``response_format`` with ``auto`` resolved (see :data:`RESPONSE_FORMATS`)."""
        if self.response_format != "auto":
            return self.response_format
        return "grammar" if self.base_url is None else "json_object"

    def __post_init__(self) -> None:
        if self.base_url is not None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    "base_url must be an http:// or https:// URL with a host, "
                    f"got {self.base_url!r}"
                )
        if not self.model:
            raise ValueError(f"model must be a non-empty string, got {self.model!r}")
        if not self.api_key_env:
            raise ValueError(
                f"api_key_env must name an environment variable, got {self.api_key_env!r}"
            )
        if not self.deadline_s > 0:
            raise ValueError(f"deadline_s must be > 0, got {self.deadline_s!r}")
        if not 0 < self.connect_timeout_s:
            raise ValueError(f"connect_timeout_s must be > 0, got {self.connect_timeout_s!r}")
        if self.max_response_bytes < 1024:
            raise ValueError(
                f"max_response_bytes must be >= 1024, got {self.max_response_bytes!r}"
            )
        if not 1 <= self.max_tokens <= 32768:
            raise ValueError(f"max_tokens must be in [1, 32768], got {self.max_tokens!r}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be in [0, 2], got {self.temperature!r}")
        if self.response_format not in RESPONSE_FORMATS:
            raise ValueError(
                f"response_format must be one of {RESPONSE_FORMATS}, got {self.response_format!r}"
            )
        if not 0 <= self.repair_rounds <= 3:
            raise ValueError(f"repair_rounds must be in [0, 3], got {self.repair_rounds!r}")
        if not 1 <= self.max_steps <= 64:
            raise ValueError(f"max_steps must be in [1, 64], got {self.max_steps!r}")
        if self.local_host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"local_host must be a loopback address, got {self.local_host!r}")
        if not 0 <= self.local_port <= 65535:
            raise ValueError(f"local_port must be in [0, 65535], got {self.local_port!r}")
        if self.local_n_ctx < 512:
            raise ValueError(f"local_n_ctx must be >= 512, got {self.local_n_ctx!r}")
        if self.local_n_threads < 1:
            raise ValueError(f"local_n_threads must be >= 1, got {self.local_n_threads!r}")
        if not self.startup_timeout_s > 0:
            raise ValueError(f"startup_timeout_s must be > 0, got {self.startup_timeout_s!r}")
        if not self.stop_timeout_s > 0:
            raise ValueError(f"stop_timeout_s must be > 0, got {self.stop_timeout_s!r}")
