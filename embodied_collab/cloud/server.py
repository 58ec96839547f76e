"""The embedded default "cloud": a local llama.cpp server process on loopback.

:class:`LocalServer` starts ``python -m llama_cpp.server`` with the packaged
Qwen2.5-Coder-0.5B-Instruct GGUF (assembled and hash-verified once by
:func:`embodied_collab.assets.assemble`), waits until it answers, and stops it by PID with a
bounded SIGTERM-then-SIGKILL (the server does not always exit promptly on SIGTERM).
"""

from __future__ import annotations

import http.client
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from embodied_collab.cloud.config_cloud import CloudConfig
from embodied_collab.errors import DependencyNotInstalled, LinkUnavailable, ModelNotAvailable

logger = logging.getLogger(__name__)

MODEL_ASSET = "qwen2.5-coder-0.5b-instruct-q4_k_m"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def default_model_path() -> Path:
    """The packaged GGUF model, assembled and verified on first use."""
    from embodied_collab.assets import assemble

    return assemble(MODEL_ASSET) / "model.gguf"


class LocalServer:
    """A llama.cpp OpenAI-compatible server child process.

    Args:
        cfg: component config (``local_*`` fields, ``model``, timeouts).
        log_path: where the server's output goes (default: a temp file).

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, cfg: CloudConfig | None = None, log_path: str | Path | None = None) -> None:
        self.cfg = cfg or CloudConfig()
        self.proc: subprocess.Popen | None = None
        self.port = self.cfg.local_port
        self._log_path = Path(log_path) if log_path else None
        self._log_file = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, e.g. ``http://127.0.0.1:8765/v1``."""
        return f"http://{self.cfg.local_host}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def command(self, model_path: Path) -> list[str]:
        """The server's command line."""
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model_path),
            "--model_alias", self.cfg.model,
            "--host", self.cfg.local_host,
            "--port", str(self.port),
            "--n_ctx", str(self.cfg.local_n_ctx),
            "--n_threads", str(self.cfg.local_n_threads),
        ]  # fmt: skip

    def start(self) -> LocalServer:
        """Start the server and wait (bounded by ``startup_timeout_s``) until it answers.

        Raises:
            DependencyNotInstalled: llama-cpp-python[server] is missing.
            ModelNotAvailable: the model packages are missing or the model file is absent.
            LinkUnavailable: the server exited or did not answer in time.
        """
        if self.proc is not None:
            return self
        for mod in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette"):
            if importlib.util.find_spec(mod) is None:
                raise DependencyNotInstalled(mod, "cloud")
        model = Path(self.cfg.local_model_path) if self.cfg.local_model_path else None
        model = model or default_model_path()
        if not model.is_file():
            raise ModelNotAvailable(f"model file not found: {model}")
        if self.port == 0:
            self.port = free_port(self.cfg.local_host)
        if self._log_path is None:
            fd, name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
        self._log_file = open(self._log_path, "ab")  # noqa: SIM115 - closed in stop()
        logger.info("starting local LLM server on %s (log %s)", self.base_url, self._log_path)
        self.proc = subprocess.Popen(
            self.command(model),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop the child in order
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        logger.info("local LLM server ready (pid %d)", self.proc.pid)
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.cfg.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise LinkUnavailable(
                    "local LLM server exited with code "
                    f"{self.proc.returncode if self.proc else '?'}"
                    f" during startup; see {self._log_path}: {self.log_tail()}"
                )
            if self.healthy(timeout=1.0):
                return
            time.sleep(0.25)
        raise LinkUnavailable(
            f"local LLM server did not answer within {self.cfg.startup_timeout_s:.0f} s; "
            f"see {self._log_path}"
        )

    def healthy(self, timeout: float = 1.0) -> bool:
        """Whether ``GET /v1/models`` answers 200 within ``timeout`` seconds."""
        conn = http.client.HTTPConnection(self.cfg.local_host, self.port, timeout=timeout)
        try:
            conn.request("GET", "/v1/models")
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def log_tail(self, n: int = 800) -> str:
        """The end of the server's log (for error messages)."""
        try:
            return (
                self._log_path.read_bytes()[-n:].decode(errors="replace") if self._log_path else ""
            )
        except OSError:
            return ""

    def stop(self) -> int | None:
        """Stop the server: SIGTERM, then SIGKILL after ``stop_timeout_s``. Idempotent.

        Returns:
            The exit code, or None if it was not running.
        """
        proc, self.proc = self.proc, None
        code = None
        if proc is not None:
            if proc.poll() is None:
                logger.info("stopping local LLM server (pid %d)", proc.pid)
                try:
                    proc.send_signal(signal.SIGTERM)
                    code = proc.wait(timeout=self.cfg.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    logger.info("server pid %d ignored SIGTERM; sending SIGKILL", proc.pid)
                    proc.kill()
                    code = proc.wait(timeout=10.0)
            else:
                code = proc.returncode
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def wait(self) -> int:
        """Block until the server exits (for ``cloud serve``); returns its exit code."""
        if self.proc is None:
            raise RuntimeError("server is not running")
        return self.proc.wait()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
