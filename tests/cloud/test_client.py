"""The chat client against misbehaving real HTTP servers on loopback: every call ends within
its deadline with a clear error; credentials never show up in logs or reprs."""

from __future__ import annotations

import json
import logging
import ssl
import subprocess
import threading
import time

import pytest

from embodied_collab.cloud.client import (
    BadResponse,
    ChatClient,
    LinkHTTPError,
    LinkTimeout,
    load_api_key,
)
from embodied_collab.cloud.config_cloud import CloudConfig
from embodied_collab.errors import InvalidFileError, LinkUnavailable

from . import misbehaving as mb

DEADLINE = 1.0
SLACK = 0.6  # scheduling slack on a busy 2-core machine
MSG = [{"role": "user", "content": "hello"}]


@pytest.fixture
def stop_event():
    ev = threading.Event()
    yield ev
    ev.set()


def _call(behaviour, **cfg):
    with mb.LoopbackServer(behaviour) as srv:
        client = ChatClient(CloudConfig(base_url=srv.base_url, deadline_s=DEADLINE, **cfg))
        t0 = time.monotonic()
        try:
            return client.chat(MSG, json_schema={"type": "object"}), time.monotonic() - t0, srv
        except LinkUnavailable as exc:
            return exc, time.monotonic() - t0, srv


@pytest.mark.parametrize(
    ("name", "make", "exc_type", "text"),
    [
        ("slow", lambda ev: mb.slow(10.0, ev), LinkTimeout, "deadline of 1.0 s"),
        ("hang", lambda ev: mb.hang(ev), LinkTimeout, "deadline"),
        ("drip_body", lambda ev: mb.drip(ev), LinkTimeout, "deadline"),
        ("drip_headers", lambda ev: mb.drip_headers(ev), LinkTimeout, "deadline"),
        ("garbage", lambda ev: mb.garbage, BadResponse, "not JSON"),
        ("http_500", lambda ev: mb.error_500, LinkHTTPError, "HTTP 500"),
        ("no_choices", lambda ev: mb.no_choices, BadResponse, "choices"),
        ("reset", lambda ev: mb.reset, LinkUnavailable, "connection failed"),
    ],
)
def test_misbehaving_server_fails_within_deadline(stop_event, name, make, exc_type, text):
    result, elapsed, _ = _call(make(stop_event))
    stop_event.set()
    assert isinstance(result, exc_type), f"{name}: got {result!r}"
    assert text in str(result)
    assert "127.0.0.1" in str(result)  # the message names the endpoint
    assert elapsed < DEADLINE + SLACK, f"{name} took {elapsed:.2f} s"


def test_http_error_carries_status():
    result, _, _ = _call(mb.error_500)
    assert isinstance(result, LinkHTTPError) and result.status == 500


def test_connection_refused_is_link_unavailable():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    client = ChatClient(CloudConfig(base_url=f"http://127.0.0.1:{port}/v1", deadline_s=DEADLINE))
    with pytest.raises(LinkUnavailable, match="connection failed"):
        client.chat(MSG)


def test_good_reply_has_usage_latency_and_request_shape():
    result, _, srv = _call(mb.scripted(['{"steps": []}']))
    assert result.content == '{"steps": []}'
    assert (result.prompt_tokens, result.completion_tokens) == (11, 7)
    assert 0 < result.latency_s < DEADLINE
    req = srv.requests[0]
    assert req["response_format"] == {"type": "json_object", "schema": {"type": "object"}}
    assert req["messages"] == MSG


def test_response_format_json_schema_uses_openai_form():
    _, _, srv = _call(mb.scripted(["{}"]), response_format="json_schema")
    rf = srv.requests[0]["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["schema"] == {"type": "object"}


def test_response_format_none_sends_no_response_format():
    _, _, srv = _call(mb.scripted(["{}"]), response_format="none")
    assert "response_format" not in srv.requests[0]


def test_oversized_reply_is_refused():
    big = "x" * 5000

    def beh(conn, _body):
        conn.sendall(mb.http_reply(200, mb.completion(big)))

    result, _, _ = _call(beh, max_response_bytes=2048)
    assert isinstance(result, BadResponse) and "max_response_bytes" in str(result)


def test_api_key_from_env_is_sent_but_never_logged(monkeypatch, caplog):
    monkeypatch.setenv("EC_TEST_KEY", "sk-very-secret-123")
    caplog.set_level(logging.DEBUG)
    seen = {}

    def beh(conn, body):
        seen["body"] = body
        conn.sendall(mb.http_reply(200, mb.completion("{}")))

    with mb.LoopbackServer(beh) as srv:
        # capture the raw request headers through a second server that records them
        client = ChatClient(CloudConfig(base_url=srv.base_url, api_key_env="EC_TEST_KEY"))
        res = client.chat(MSG)
        assert "sk-very-secret" not in repr(client) and "sk-very-secret" not in repr(res)
    assert "sk-very-secret" not in caplog.text
    assert "sk-very-secret" not in seen["body"].decode()


def test_api_key_header(monkeypatch):
    import socket as _s

    got = {}

    def beh(conn: _s.socket, _body):
        conn.sendall(mb.http_reply(200, mb.completion("{}")))

    # read the header with a tiny raw server
    lsock = _s.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(5)
    port = lsock.getsockname()[1]

    def serve():
        conn, _ = lsock.accept()
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        got["head"] = data.split(b"\r\n\r\n")[0].decode()
        conn.sendall(mb.http_reply(200, mb.completion("{}")))
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    monkeypatch.setenv("EC_TEST_KEY", "sk-abc")
    ChatClient(
        CloudConfig(
            base_url=f"http://127.0.0.1:{port}/v1", api_key_env="EC_TEST_KEY", deadline_s=5
        )
    ).chat(MSG)
    t.join(5)
    lsock.close()
    assert "Authorization: Bearer sk-abc" in got["head"]


def test_api_key_file(tmp_path, monkeypatch):
    monkeypatch.delenv("EC_NO_SUCH_VAR", raising=False)
    f = tmp_path / "key"
    f.write_text("sk-from-file\n")
    assert load_api_key(CloudConfig(api_key_env="EC_NO_SUCH_VAR", api_key_file=str(f))) == (
        "sk-from-file"
    )
    (tmp_path / "empty").write_text("")
    with pytest.raises(InvalidFileError, match="empty"):
        load_api_key(
            CloudConfig(api_key_env="EC_NO_SUCH_VAR", api_key_file=str(tmp_path / "empty"))
        )
    with pytest.raises(InvalidFileError, match="cannot read"):
        load_api_key(
            CloudConfig(api_key_env="EC_NO_SUCH_VAR", api_key_file=str(tmp_path / "missing"))
        )


def test_tls_verification_on_by_default_refuses_self_signed(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    def beh(conn, _body):
        conn.sendall(mb.http_reply(200, mb.completion("{}")))

    srv = mb.LoopbackServer(beh)
    srv.sock = ctx.wrap_socket(srv.sock, server_side=True, do_handshake_on_connect=False)
    with srv:
        url = f"https://127.0.0.1:{srv.port}/v1"
        with pytest.raises(LinkUnavailable, match="TLS|certificate"):
            ChatClient(CloudConfig(base_url=url, deadline_s=3)).chat(MSG)
        # the same server is trusted once its certificate is given as CA
        res = ChatClient(CloudConfig(base_url=url, deadline_s=3, ca_file=str(cert))).chat(MSG)
        assert res.content == "{}"
        assert json.loads(json.dumps(srv.requests[-1]))["messages"] == MSG


def test_grammar_sent_only_in_grammar_format():
    with mb.LoopbackServer(mb.scripted(["{}"])) as srv:
        ChatClient(CloudConfig(base_url=srv.base_url, response_format="grammar")).chat(
            MSG, json_schema={"type": "object"}, grammar='root ::= "{}"'
        )
        ChatClient(CloudConfig(base_url=srv.base_url)).chat(
            MSG, json_schema={"type": "object"}, grammar='root ::= "{}"'
        )
    first, second = srv.requests
    assert first["grammar"] == 'root ::= "{}"' and "response_format" not in first
    assert "grammar" not in second and second["response_format"]["type"] == "json_object"


def test_auto_format_is_grammar_for_the_embedded_server_only():
    assert CloudConfig().effective_response_format == "grammar"
    assert CloudConfig(base_url="http://127.0.0.1:1/v1").effective_response_format == (
        "json_object"
    )
    assert CloudConfig(response_format="json_schema").effective_response_format == "json_schema"
