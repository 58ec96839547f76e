"""Link cuts with network namespaces: the stand-in server in namespace b, a process running the
link monitor in namespace a, joined only by a veth pair (no default route). Needs root and
`ip netns`; skipped with the reason otherwise."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from embodied_collab.link.faults import NetnsLink, netns_available

OK, WHY = netns_available()
pytestmark = [pytest.mark.server, pytest.mark.skipif(not OK, reason=f"netns unavailable: {WHY}")]

WATCHER = r"""
import json, sys, time
from embodied_collab.link.backends import http_probe
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.monitor import LinkMonitor
mon = LinkMonitor(LinkConfig(), http_probe(sys.argv[1]))
mon.add_listener(lambda o, s: print(json.dumps({"t": time.monotonic(), "state": s.state.value}),
                                    flush=True))
mon.start()
time.sleep(float(sys.argv[2]))
mon.stop()
"""


def _kill(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def test_netns_cut_detected_and_recovered():
    procs = []
    with NetnsLink() as link:
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert link.ns_a in names and link.ns_b in names
        route = subprocess.run(["ip", "-n", link.ns_a, "route", "show", "default"],
                               capture_output=True, text=True, timeout=10).stdout
        assert route.strip() == ""
        try:
            srv = subprocess.Popen(
                link.exec_args(link.ns_b, [sys.executable, "-m", "embodied_collab.link.standin",
                                           "--host", link.addr_b]),
                stdout=subprocess.PIPE, text=True,
            )
            procs.append(srv)
            port = json.loads(srv.stdout.readline())["port"]
            watcher = subprocess.Popen(
                link.exec_args(link.ns_a, [sys.executable, "-c", WATCHER,
                                           f"http://{link.addr_b}:{port}/v1", "6"]),
                stdout=subprocess.PIPE, text=True,
            )
            procs.append(watcher)
            # CLOCK_MONOTONIC is shared across network namespaces: times compare directly
            first = json.loads(watcher.stdout.readline())
            assert first["state"] == "up"
            time.sleep(0.5)
            t_cut = time.monotonic()
            link.cut()
            time.sleep(2.0)
            t_restore = time.monotonic()
            link.restore()
            out, _ = watcher.communicate(timeout=15)
        finally:
            for p in procs:
                _kill(p)
                if p.stdout:
                    p.stdout.close()
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    down = next(e["t"] for e in events if e["state"] == "down" and e["t"] >= t_cut)
    up = next(e["t"] for e in events if e["state"] == "up" and e["t"] >= t_restore)
    assert down - t_cut <= 1.0
    assert up - t_restore <= 2.0
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert link.ns_a not in names and link.ns_b not in names  # cleaned up


def test_netns_cleaned_up_on_failure():
    with pytest.raises(RuntimeError, match="boom"):
        with NetnsLink() as link:
            ns = (link.ns_a, link.ns_b)
            raise RuntimeError("boom")
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert ns[0] not in names and ns[1] not in names
