"""A tiny stand-in for an OpenAI-compatible server, for link tests and the link benchmark.

It speaks the real HTTP protocol (``GET /v1/models``, ``POST /v1/chat/completions``) so the link
layer is exercised over real sockets, but answers instantly with a fixed JSON plan instead of
running a model. It also accepts outbox syncs (``POST /v1/robot/outbox``, deduped on ``seq``).
The real llama.cpp server is used by the cloud component's tests.

Run as a process: ``python -m embodied_collab.link.standin --host 127.0.0.1 --port 0`` prints
``{"port": N}`` on its first line once listening.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger(__name__)

PLAN = {"steps": [{"skill": "navigate", "args": {"target": "kitchen"}}]}


class _Handler(BaseHTTPRequestHandler):
    server: StandinServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: object) -> None:  # keep test output quiet
        logger.debug("standin: " + fmt, *args)

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        if self.path.rstrip("/") == "/docs":  # what the executive's server probe asks for
            self._send(200, b"<html>stand-in</html>", "text/html")
        elif self.path.rstrip("/") == "/v1/models":
            body = {"object": "list", "data": [{"id": "standin", "object": "model"}]}
            self._send(200, json.dumps(body).encode())
        elif self.path.rstrip("/") == "/v1/robot/outbox":
            with self.server.lock:
                body = {"count": len(self.server.outbox)}
            self._send(200, json.dumps(body).encode())
        else:
            self._send(404, b'{"error": "not found"}')

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        srv = self.server
        if self.path.rstrip("/") == "/v1/robot/outbox":
            try:
                records = json.loads(raw)["records"]
                with srv.lock:
                    for r in records:
                        srv.outbox[int(r["seq"])] = r
                self._send(200, json.dumps({"synced": len(records)}).encode())
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, json.dumps({"error": str(exc)}).encode())
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, b'{"error": "not found"}')
            return
        try:
            req = json.loads(raw)
            messages = req["messages"]
        except (ValueError, KeyError, TypeError) as exc:
            self._send(400, json.dumps({"error": f"bad request: {exc}"}).encode())
            return
        with srv.lock:
            srv.requests += 1
        if srv.work_s > 0:
            time.sleep(srv.work_s)
        if srv.garbage:
            self._send(200, b"\x00\xffthis is not json\x13", "application/json")
            return
        body = {
            "id": f"chatcmpl-{srv.requests}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req.get("model", "standin"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": srv.content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": sum(len(str(m)) for m in messages) // 4,
                      "completion_tokens": 12, "total_tokens": 0},
        }
        self._send(200, json.dumps(body).encode())


class StandinServer(ThreadingHTTPServer):
    """The stand-in server; ``work_s`` is the simulated generation time, ``garbage`` makes chat
    answers non-JSON, ``content`` is the assistant's reply to every chat request (default: the
    fixed :data:`PLAN` as JSON).

    Args:
        host: a loopback address (or an address inside a test's network namespace).
        port: 0 picks a free port.
        work_s: seconds each chat completion takes.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, work_s: float = 0.05) -> None:
        super().__init__((host, port), _Handler)
        self.work_s = work_s
        self.garbage = False
        self.content = json.dumps(PLAN)
        self.requests = 0
        self.outbox: dict[int, dict] = {}
        self.lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def handle_error(self, request: object, client_address: object) -> None:
        # Resets and half-sent answers are what the fault tests inject: log, do not print.
        logger.debug("standin: connection from %s ended abruptly", client_address, exc_info=True)

    @property
    def port(self) -> int:
        """The bound port."""
        return self.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://host:port/v1``."""
        return f"http://{self.server_address[0]}:{self.port}/v1"

    def start(self) -> StandinServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (bounded)."""
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(2.0)

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the stand-in server in the foreground (used by tests as a killable process)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--work-s", type=float, default=0.05)
    args = p.parse_args(argv)
    srv = StandinServer(args.host, args.port, args.work_s)
    sys.stdout.write(json.dumps({"port": srv.port}) + "\n")
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
