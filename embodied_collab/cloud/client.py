"""Client of the OpenAI-compatible chat-completions API with a true per-call deadline.

One call is one attempt (no retries here: the link layer wraps this client with its circuit
breaker, retries and monitor). The deadline bounds the whole call: connect, send, waiting for
the first byte and reading the body. Socket timeouts alone cannot do that (a server that drips
one byte a second never trips them), so a watchdog timer shuts the socket down at the deadline.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from embodied_collab.cloud.config_cloud import CloudConfig
from embodied_collab.errors import InvalidFileError, LinkUnavailable

logger = logging.getLogger(__name__)


class LinkTimeout(LinkUnavailable):
    """A call did not finish within its deadline."""


class LinkHTTPError(LinkUnavailable):
    """The server answered with an HTTP error status.

    Attributes:
        status: the HTTP status code.
    """

    def __init__(self, message: str, *, status: int) -> None:
        self.status = status
        super().__init__(message)


class BadResponse(LinkUnavailable):
    """The server answered, but not with a usable chat completion."""


@dataclass(kw_only=True)
class ChatResult:
    """One chat completion.

    Attributes:
        content: the assistant message text.
        model: the model name the server reported.
        latency_s: wall time of the call.
        prompt_tokens: prompt tokens the server counted (0 if it did not say).
        completion_tokens: completion tokens the server counted (0 if it did not say).
        finish_reason: why generation stopped (``stop``, ``length``, ...).
    """

    content: str
    model: str
    latency_s: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def load_api_key(cfg: CloudConfig) -> str | None:
    """The API key from ``cfg.api_key_env`` or else the first line of ``cfg.api_key_file``.

    Raises:
        InvalidFileError: the key file is named but cannot be read or is empty.
    """
    key = os.environ.get(cfg.api_key_env, "").strip()
    if key:
        return key
    if cfg.api_key_file is None:
        return None
    path = Path(cfg.api_key_file).expanduser()
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InvalidFileError(
            f"cannot read API key file: {exc.strerror}", path=str(path)
        ) from exc
    key = lines[0].strip() if lines else ""
    if not key:
        raise InvalidFileError("API key file is empty", path=str(path))
    return key


class _Deadline:
    """Remaining time of one call, and a watchdog that cuts the socket when it runs out."""

    def __init__(self, seconds: float, label: str = "") -> None:
        self.seconds = seconds
        self.label = label
        self.start = time.monotonic()
        self.end = self.start + seconds
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise LinkTimeout(f"{self.label}: call exceeded its deadline of {self.seconds:.1f} s")
        return left

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.fired and sock is not None:
                self._shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._sock is not None:
                self._shutdown(self._sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def cancel(self) -> None:
        self._timer.cancel()


class ChatClient:
    """Chat-completions client for one endpoint.

    Args:
        cfg: the component config (``cfg.base_url`` must be set).
        base_url: overrides ``cfg.base_url`` (e.g. the embedded server's URL).

    Raises:
        ValueError: no base URL is configured.
    """

    def __init__(self, cfg: CloudConfig, base_url: str | None = None) -> None:
        url = base_url or cfg.base_url
        if url is None:
            raise ValueError("ChatClient needs a base_url (none configured)")
        if base_url is not None:  # validate an override the same way as the config field
            CloudConfig(base_url=base_url)
        self.cfg = cfg
        self.base_url = url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._scheme = parts.scheme
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._path = (parts.path or "").rstrip("/") + "/chat/completions"
        self._api_key = load_api_key(cfg)
        self._ssl_context: ssl.SSLContext | None = None
        if self._scheme == "https":
            if cfg.verify_tls:
                self._ssl_context = ssl.create_default_context(cafile=cfg.ca_file)
            else:
                logger.warning("TLS certificate verification is OFF for %s", self.base_url)
                self._ssl_context = ssl._create_unverified_context()  # noqa: S323

    def __repr__(self) -> str:  # never show the key
        return f"ChatClient(base_url={self.base_url!r}, model={self.cfg.model!r})"

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        json_schema: dict[str, Any] | None = None,
        grammar: str | None = None,
        deadline_s: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """Send one chat-completions request and return the reply.

        Args:
            messages: OpenAI-style ``[{"role": ..., "content": ...}]``.
            json_schema: schema the reply must follow; sent as ``response_format`` according to
                ``cfg.response_format`` (servers that cannot constrain output still get asked
                for JSON in the prompt by the caller).
            grammar: GBNF grammar the reply must follow; sent (as the request's ``grammar``
                field) only when the response format is ``grammar``, which llama.cpp servers
                read; otherwise ``json_schema`` is used.
            deadline_s: overall deadline of this call (default ``cfg.deadline_s``).
            max_tokens: completion budget (default ``cfg.max_tokens``).

        Returns:
            The completion with latency and token usage.

        Raises:
            LinkTimeout: the deadline passed.
            LinkHTTPError: the server answered with an HTTP error status.
            BadResponse: the reply is not a chat completion.
            LinkUnavailable: the connection failed (refused, reset, TLS error, ...).
        """
        body: dict[str, Any] = {
            "model": self.cfg.model,
            "messages": messages,
            "temperature": self.cfg.temperature,
            "max_tokens": max_tokens or self.cfg.max_tokens,
            "stream": False,
        }
        fmt = self.cfg.effective_response_format
        if grammar is not None and fmt == "grammar":
            body["grammar"] = grammar
        elif json_schema is not None and fmt == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "plan", "strict": True, "schema": json_schema},
            }
        elif json_schema is not None and fmt in ("json_object", "grammar"):
            # JSON mode; llama.cpp servers also read the schema from here and constrain to it
            body["response_format"] = {"type": "json_object", "schema": json_schema}
        payload = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        deadline = _Deadline(
            deadline_s if deadline_s is not None else self.cfg.deadline_s, self.base_url
        )
        try:
            status, data = self._exchange(payload, headers, deadline)
        finally:
            deadline.cancel()
        latency = time.monotonic() - deadline.start
        return self._parse(status, data, latency)

    def _exchange(
        self, payload: bytes, headers: dict[str, str], deadline: _Deadline
    ) -> tuple[int, bytes]:
        connect_timeout = min(self.cfg.connect_timeout_s, deadline.remaining())
        if self._scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host, self._port, timeout=connect_timeout, context=self._ssl_context
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=connect_timeout)
        where = f"{self.base_url}"
        try:
            conn.connect()
            # keep our own reference: http.client drops conn.sock once a reply says "close"
            sock = conn.sock
            deadline.watch(sock)
            sock.settimeout(deadline.remaining())
            conn.request("POST", self._path, body=payload, headers=headers)
            sock.settimeout(deadline.remaining())
            resp = conn.getresponse()
            chunks: list[bytes] = []
            size = 0
            while True:
                sock.settimeout(deadline.remaining())
                chunk = resp.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.cfg.max_response_bytes:
                    raise BadResponse(
                        f"{where}: reply larger than max_response_bytes="
                        f"{self.cfg.max_response_bytes}"
                    )
                chunks.append(chunk)
            if deadline.fired:
                raise LinkTimeout(
                    f"{where}: call exceeded its deadline of {deadline.seconds:.1f} s"
                )
            return resp.status, b"".join(chunks)
        except LinkUnavailable:
            raise
        except TimeoutError as exc:
            raise LinkTimeout(
                f"{where}: call exceeded its deadline of {deadline.seconds:.1f} s"
            ) from exc
        except ssl.SSLError as exc:
            raise LinkUnavailable(f"{where}: TLS error: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            if deadline.fired:
                raise LinkTimeout(
                    f"{where}: call exceeded its deadline of {deadline.seconds:.1f} s"
                ) from exc
            reason = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
            raise LinkUnavailable(f"{where}: connection failed ({reason})") from exc
        finally:
            deadline.watch(None)
            conn.close()

    def _parse(self, status: int, data: bytes, latency: float) -> ChatResult:
        text = data.decode("utf-8", errors="replace")
        if status >= 400:
            snippet = " ".join(text.split())[:200]
            raise LinkHTTPError(
                f"{self.base_url}: HTTP {status} from chat completions: {snippet!r}", status=status
            )
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadResponse(
                f"{self.base_url}: reply is not JSON ({exc.msg} at char {exc.pos}): {text[:120]!r}"
            ) from exc
        try:
            choice = obj["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise BadResponse(
                f"{self.base_url}: reply has no choices[0].message.content: {text[:120]!r}"
            ) from exc
        if not isinstance(content, str):
            raise BadResponse(f"{self.base_url}: message content is not text: {content!r:.80}")
        usage = obj.get("usage") or {}
        return ChatResult(
            content=content,
            model=str(obj.get("model") or self.cfg.model),
            latency_s=latency,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            finish_reason=str(choice.get("finish_reason") or ""),
            raw=obj,
        )
