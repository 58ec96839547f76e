"""Adapters from real components to the link layer's :class:`PlanBackend` protocol, and the
HTTP probe of an OpenAI-compatible server."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from embodied_collab.errors import LinkUnavailable
from embodied_collab.link.retry import Deadline
from embodied_collab.link.router import PlanRequest, PlanResult

logger = logging.getLogger(__name__)


def http_probe(base_url: str, path: str = "/models", *, from_root: bool = False,
               json_object: bool = True) -> Callable[[float], None]:
    """A probe that sends ``GET <base_url><path>`` and wants HTTP 200 (with a JSON object).

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8080/v1``.
        path: appended to the root's path (``/models`` is cheap on every OpenAI-style server).
        from_root: ``path`` is taken from the server's root instead (``/docs`` on the
            llama.cpp server, which answers it without waiting for the model: see
            :func:`embodied_collab.executive.executive.make_router`).
        json_object: the answer must be a JSON object (else any 200 answer will do).

    Returns:
        ``probe(timeout_s)``, raising :class:`LinkUnavailable` on any failure.

    Raises:
        ValueError: ``base_url`` is not an http:// URL with a host.
    """
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"http_probe needs an http:// URL with a host, got {base_url!r}")
    host, port = parts.hostname, parts.port or 80
    target = path if from_root else (parts.path or "").rstrip("/") + path

    def probe(timeout_s: float) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
        try:
            conn.request("GET", target, headers={"Connection": "close"})
            resp = conn.getresponse()
            body = resp.read(1 << 20)
            if resp.status != 200:
                raise LinkUnavailable(f"probe {target}: HTTP {resp.status}")
            if json_object and not isinstance(json.loads(body), dict):
                raise LinkUnavailable(f"probe {target}: answer is not a JSON object")
        except LinkUnavailable:
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise LinkUnavailable(f"probe {target}: {type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()

    return probe


class ChatClientBackend:
    """The cloud component's ``ChatClient`` as a :class:`PlanBackend` (one call = one attempt).

    Args:
        client: an ``embodied_collab.cloud.client.ChatClient`` (or anything with its ``chat``).
        build_messages: request -> chat messages (default: ``request.context["messages"]`` or a
            single user message with the request text).
        parse: chat content -> plan (default: ``json.loads``, falling back to the raw text).
    """

    def __init__(
        self,
        client: Any,
        build_messages: Callable[[PlanRequest], list[dict[str, str]]] | None = None,
        parse: Callable[[str], Any] | None = None,
    ) -> None:
        self.client = client
        self.build_messages = build_messages or _default_messages
        self.parse = parse or _parse_json_or_text

    def plan(self, request: PlanRequest, deadline: Deadline) -> PlanResult:
        """One chat completion under ``deadline`` (LinkUnavailable subclasses on failure)."""
        deadline.check(f"cloud plan {request.command_id}")
        res = self.client.chat(self.build_messages(request), deadline_s=deadline.remaining())
        return PlanResult(plan=self.parse(res.content), confidence=None, latency_s=res.latency_s)


def _default_messages(request: PlanRequest) -> list[dict[str, str]]:
    msgs = request.context.get("messages")
    if msgs:
        return list(msgs)
    return [{"role": "user", "content": request.text}]


def _parse_json_or_text(content: str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return content
