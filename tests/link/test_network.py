"""The link layer over real sockets: a real HTTP server on loopback speaking the chat-completions
protocol, the fault proxy in front, the real chat client. Short outages here; the benchmark
(`embodied-collab bench link`) covers long ones and >= 100 faults."""

import socket
import time

import pytest

from embodied_collab.cloud.client import BadResponse, ChatClient, LinkTimeout
from embodied_collab.cloud.config_cloud import CloudConfig
from embodied_collab.link.faults import FaultMode
from embodied_collab.link.monitor import LinkState
from tests.link.rig import Load, Rig, ServerProcess

pytestmark = pytest.mark.server


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    r.close()


def test_fault_proxy_rejects_non_loopback():
    from embodied_collab.link.faults import FaultProxy

    with pytest.raises(ValueError, match="loopback"):
        FaultProxy(("10.0.0.1", 80))


@pytest.mark.parametrize("outage_s", [1.0, 3.0])
def test_link_down_detect_fallback_return(rig, outage_s):
    r, _ = rig.submit()
    assert r.served_by == "cloud"
    t_cut = time.monotonic()
    rig.proxy.set_fault(FaultMode.DOWN)
    assert rig.monitor.wait_for(LinkState.DOWN, 3.0)
    t_detect = rig.first_state_after(LinkState.DOWN, t_cut)
    assert t_detect - t_cut <= 1.0
    t0 = time.monotonic()
    r, t_dec = rig.submit()
    assert r.served_by == "local" and t_dec - t0 <= 0.1
    hard, _ = rig.submit("attributes")
    assert hard.decision.target == "queue"
    assert "beyond the on-board planner" in hard.decision.reason
    time.sleep(max(0.0, t_cut + outage_s - time.monotonic()))
    t_clear = time.monotonic()
    rig.proxy.clear()
    t_back = rig.wait_cloud(5.0)
    assert t_back is not None and t_back - t_clear <= 2.0
    for res in rig.router.retry_queued():
        rig.settle(res)
    assert rig.lost() == []
    assert rig.journal.get(hard.request.command_id).state.value == "done"


def test_server_killed_mid_request(tmp_path):
    rig = Rig(tmp_path, server_process=True, work_s=2.0)
    try:
        import threading

        out = {}
        t = threading.Thread(target=lambda: out.setdefault("r", rig.submit(deadline_s=5.0)))
        t0 = time.monotonic()
        t.start()
        time.sleep(0.3)
        port = rig.server.port
        rig.server.kill()  # SIGKILL while the chat completion is being generated
        t.join(5.0)
        assert not t.is_alive()
        r, t_dec = out["r"]
        assert r.served_by == "local"
        assert t_dec - t0 < 2.0  # fell back well before the 5 s deadline
        assert "cloud failed" in r.steps[1].reason
        assert rig.monitor.wait_for(LinkState.DOWN, 2.0)
        rig.server = ServerProcess(port=port, work_s=0.02)  # restart on the same port
        assert rig.monitor.wait_for(LinkState.UP, 3.0)
        assert rig.wait_cloud(3.0) is not None
        assert rig.lost() == []
    finally:
        rig.close()


def test_flapping_every_2s(rig):
    load = Load(rig, hard_every=4)
    cycles = []
    try:
        for _ in range(2):
            time.sleep(2.0)
            t_cut = time.monotonic()
            rig.proxy.set_fault(FaultMode.BLACKHOLE)
            time.sleep(2.0)
            t_clear = time.monotonic()
            rig.proxy.clear()
            cycles.append((t_cut, t_clear))
        time.sleep(2.0)
    finally:
        load.stop()
    for t_cut, t_clear in cycles:
        t_down = rig.first_state_after(LinkState.DOWN, t_cut)
        assert t_down is not None and t_down - t_cut <= 1.0
        t_up = rig.first_state_after(LinkState.UP, t_clear)
        assert t_up is not None and t_up - t_clear <= 2.0
        served_cloud = [t for t0, t, r in load.results if r.served_by == "cloud" and t > t_clear]
        assert served_cloud and min(served_cloud) - t_clear <= 2.0
        local_during = [r for t0, t, r in load.results
                        if r.served_by == "local" and t_down <= t <= t_clear]
        assert local_during
    for res in rig.router.retry_queued():
        rig.settle(res)
    assert rig.lost() == []


def test_blackhole_accepts_never_answers_no_rst(rig):
    rig.proxy.set_fault(FaultMode.BLACKHOLE)
    s = socket.create_connection(("127.0.0.1", rig.proxy.port), timeout=1.0)
    try:
        s.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(100)  # no answer, and no reset either
        assert rig.monitor.wait_for(LinkState.DOWN, 1.5)
        rig.proxy.clear()
        s.settimeout(1.0)
        assert s.recv(100) == b""  # ended quietly with FIN, not a reset
    finally:
        s.close()
    assert rig.monitor.wait_for(LinkState.UP, 2.0)


def test_five_second_latency(rig):
    rig.proxy.set_fault(FaultMode.DELAY, delay_s=5.0)
    client = ChatClient(CloudConfig(response_format="none"), rig.proxy.url + "/v1")
    t0 = time.monotonic()
    with pytest.raises(LinkTimeout):
        client.chat([{"role": "user", "content": "hi"}], deadline_s=1.0)
    assert time.monotonic() - t0 < 1.5
    assert rig.monitor.wait_for(LinkState.DOWN, 1.5)
    r, _ = rig.submit()
    assert r.served_by == "local"
    rig.proxy.clear()
    assert rig.wait_cloud(3.0) is not None


def test_garbage_bytes_from_the_link(rig):
    rig.proxy.set_fault(FaultMode.CORRUPT)
    assert rig.monitor.wait_for(LinkState.DOWN, 1.5)
    assert "probe" in rig.monitor.status().last_error
    r, _ = rig.submit()
    assert r.served_by == "local"
    rig.proxy.clear()
    assert rig.wait_cloud(3.0) is not None


def test_garbage_answer_from_the_server(rig):
    rig.server.garbage = True  # valid HTTP, body not JSON; probes (/v1/models) still fine
    client = ChatClient(CloudConfig(response_format="none"), rig.proxy.url + "/v1")
    with pytest.raises(BadResponse, match="not JSON"):
        client.chat([{"role": "user", "content": "hi"}], deadline_s=1.0)
    r, _ = rig.submit()
    assert r.served_by == "local"
    assert "not JSON" in r.steps[1].reason
    rig.server.garbage = False
    assert rig.wait_cloud(5.0) is not None
    assert rig.lost() == []


def test_throttled_link_detected(rig):
    rig.proxy.set_fault(FaultMode.THROTTLE, rate_bps=100)
    assert rig.monitor.wait_for(LinkState.DOWN, 2.0)
    rig.proxy.clear()
    assert rig.monitor.wait_for(LinkState.UP, 2.0)


def test_outbox_synced_on_return(rig):
    import json
    import urllib.request

    rig.proxy.set_fault(FaultMode.RESET)
    assert rig.monitor.wait_for(LinkState.DOWN, 1.5)
    for i in range(5):
        rig.journal.outbox_add("offline_decision", {"i": i})

    def send(batch):
        body = json.dumps({"records": [{"seq": r.seq, **r.payload} for r in batch]}).encode()
        req = urllib.request.Request(rig.proxy.url + "/v1/robot/outbox", body)
        with urllib.request.urlopen(req, timeout=1.0):
            pass

    assert rig.journal.sync_outbox(send) == 0  # offline: nothing synced, nothing lost
    assert len(rig.journal.outbox_pending()) == 5
    rig.proxy.clear()
    assert rig.monitor.wait_for(LinkState.UP, 2.0)
    assert rig.journal.sync_outbox(send, batch=2) == 5
    assert len(rig.server.outbox) == 5
