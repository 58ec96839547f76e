"""``http_probe`` against a real HTTP server on loopback: the path under the API root or from
the server root, with or without a JSON-object answer, and the failures it reports."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from embodied_collab.errors import LinkUnavailable
from embodied_collab.link.backends import http_probe

ROUTES = {"/v1/models": (200, b'{"data": []}'), "/docs": (200, b"<html>docs</html>"),
          "/v1/list": (200, b"[1, 2]")}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        status, body = ROUTES.get(self.path, (404, b"{}"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(timeout=5)


def test_path_under_the_api_root_wants_a_json_object(server):
    http_probe(server)(2.0)  # /v1/models: a JSON object
    with pytest.raises(LinkUnavailable, match="not a JSON object"):
        http_probe(server, "/list")(2.0)
    with pytest.raises(LinkUnavailable, match="HTTP 404"):
        http_probe(server, "/docs")(2.0)  # /v1/docs does not exist


def test_path_from_the_server_root_without_json(server):
    http_probe(server, "/docs", from_root=True, json_object=False)(2.0)
    with pytest.raises(LinkUnavailable, match="JSONDecodeError"):
        http_probe(server, "/docs", from_root=True)(2.0)


def test_closed_port_and_bad_url():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(LinkUnavailable, match="probe /v1/models"):
        http_probe(f"http://127.0.0.1:{port}/v1")(1.0)
    with pytest.raises(ValueError, match="http:// URL with a host"):
        http_probe("ftp://example/v1")
