"""Small real HTTP servers on loopback that misbehave in one specific way each.

They speak just enough HTTP/1.1 for the chat client: slow replies, garbage bodies, HTTP 500,
hanging forever, resetting the connection, dripping bytes slowly, or (``FakeLLMServer``, a
fake named as such) replying with scripted chat completions so the decomposer's repair and
refusal logic can be tested deterministically.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable


def completion(content: str, *, model: str = "fake-llm") -> bytes:
    """A well-formed chat-completions body carrying ``content``."""
    return json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }
    ).encode()


def http_reply(status: int, body: bytes, reason: str = "OK") -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class LoopbackServer:
    """Accepts connections on 127.0.0.1 and hands each to ``behaviour(conn, request_body)``."""

    def __init__(self, behaviour: Callable[[socket.socket, bytes], None]) -> None:
        self.behaviour = behaviour
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests: list[dict] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LoopbackServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._acceptor.join(timeout=5)
        self.sock.close()
        for t in self._threads:
            t.join(timeout=5)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5.0)
        try:
            body = _read_request(conn)
            try:
                self.requests.append(json.loads(body))
            except ValueError:
                self.requests.append({})
            self.behaviour(conn, body)
        except OSError:
            pass
        finally:
            conn.close()

    def stopped(self) -> bool:
        return self._stop.is_set()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return body


# ------------------------------------------------------------------ behaviours
def slow(delay_s: float, stop: threading.Event | None = None):
    def run(conn: socket.socket, _body: bytes) -> None:
        end = time.monotonic() + delay_s
        while time.monotonic() < end and not (stop and stop.is_set()):
            time.sleep(0.05)
        conn.sendall(http_reply(200, completion('{"steps": []}')))

    return run


def garbage(conn: socket.socket, _body: bytes) -> None:
    conn.sendall(http_reply(200, b"<html>definitely not json"))


def error_500(conn: socket.socket, _body: bytes) -> None:
    conn.sendall(http_reply(500, b'{"error": "model crashed"}', "Internal Server Error"))


def no_choices(conn: socket.socket, _body: bytes) -> None:
    conn.sendall(http_reply(200, b'{"object": "chat.completion", "choices": []}'))


def hang(stop: threading.Event):
    def run(conn: socket.socket, _body: bytes) -> None:
        stop.wait(30.0)  # bounded: the test's own stop event ends it

    return run


def reset(conn: socket.socket, _body: bytes) -> None:
    # SO_LINGER 0: close() sends RST instead of FIN
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def drip(stop: threading.Event, interval_s: float = 0.1):
    """Headers promise a long body, then one byte per interval (each read succeeds)."""

    def run(conn: socket.socket, _body: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        )
        for _ in range(int(30 / interval_s)):
            if stop.is_set():
                return
            conn.sendall(b" ")
            time.sleep(interval_s)

    return run


def drip_headers(stop: threading.Event, interval_s: float = 0.1):
    """Drips the status line and headers themselves."""

    def run(conn: socket.socket, _body: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(int(30 / interval_s)):
            if stop.is_set():
                return
            conn.sendall(b"X")
            time.sleep(interval_s)

    return run


def scripted(contents: list[str]):
    """FAKE LLM: replies with the given assistant contents in turn (the last one repeats)."""
    calls = {"n": 0}

    def run(conn: socket.socket, _body: bytes) -> None:
        i = min(calls["n"], len(contents) - 1)
        calls["n"] += 1
        conn.sendall(http_reply(200, completion(contents[i])))

    return run
