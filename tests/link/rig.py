"""A real link rig for network tests: stand-in OpenAI server (thread or process) on loopback,
the fault proxy in front, the real ChatClient, monitor, breaker, retries, router, journal."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

from embodied_collab.cloud.client import ChatClient
from embodied_collab.cloud.config_cloud import CloudConfig
from embodied_collab.link.backends import ChatClientBackend, http_probe
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.faults import FaultProxy
from embodied_collab.link.journal import CommandState, Journal
from embodied_collab.link.monitor import LinkMonitor, LinkState
from embodied_collab.link.resilient import ResilientCloud
from embodied_collab.link.retry import Deadline
from embodied_collab.link.router import PlanRequest, Router
from embodied_collab.link.standin import StandinServer
from embodied_collab.link.trace import new_command_id
from tests.link.fakes import FakeLocal


class ServerProcess:
    """The stand-in server as a separate process (so it can be killed mid-request)."""

    def __init__(self, port=0, work_s=0.02):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "embodied_collab.link.standin", "--port", str(port),
             "--work-s", str(work_s)],
            stdout=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline()  # bounded: the process prints it at once or dies
        if not line:
            self.kill()
            raise RuntimeError("stand-in server did not start")
        self.port = json.loads(line)["port"]

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()


class Rig:
    def __init__(self, tmp_path, policy="quality-first", server_process=False, work_s=0.02,
                 **cfg):
        self.cfg = LinkConfig(policy=policy, call_timeout_s=3.0, **cfg)
        self.server = ServerProcess(work_s=work_s) if server_process else StandinServer(
            work_s=work_s).start()
        self.proxy = FaultProxy(("127.0.0.1", self.server.port)).start()
        base = self.proxy.url + "/v1"
        chat = ChatClient(CloudConfig(response_format="none", connect_timeout_s=1.0), base)
        self.monitor = LinkMonitor(self.cfg, http_probe(base))
        self.cloud = ResilientCloud(ChatClientBackend(chat), self.cfg, self.monitor)
        self.local = FakeLocal(0.9)
        self.router = Router(self.cfg, self.cloud, self.local)
        self.journal = Journal(tmp_path / "journal.sqlite")
        self.states = []
        self.monitor.add_listener(lambda o, s: self.states.append((time.monotonic(), s.state)))
        self.monitor.start()
        assert self.monitor.wait_for(LinkState.UP, 5.0), "link never came up"

    def submit(self, difficulty="fetch", deadline_s=3.0):
        """One command through journal + router; returns (routed result, decided_at)."""
        cid = new_command_id()
        self.journal.accept("bring the cup", command_id=cid)
        self.journal.transition(cid, CommandState.PLANNING, "routing")
        r = self.router.handle(PlanRequest(command_id=cid, text="bring the cup",
                                           difficulty=difficulty), Deadline(deadline_s))
        self.settle(r)
        return r, time.monotonic()

    def settle(self, r):
        cid = r.request.command_id
        rec = self.journal.get(cid)
        if rec.state == CommandState.QUEUED:
            if r.decision.target == "queue":
                return
            self.journal.transition(cid, CommandState.PLANNING, "replayed")
        if r.result is not None:
            self.journal.transition(cid, CommandState.EXECUTING, f"plan from {r.served_by}")
            self.journal.transition(cid, CommandState.DONE, "delivered")
        elif r.decision.target == "queue":
            self.journal.transition(cid, CommandState.QUEUED, r.decision.reason)
        else:
            self.journal.transition(cid, CommandState.FAILED, r.decision.reason)

    def first_state_after(self, state, t):
        return next((ts for ts, s in list(self.states) if s == state and ts >= t), None)

    def wait_cloud(self, timeout_s=5.0):
        """Submit commands until one is served by the cloud; time of that decision or None."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            r, t = self.submit()
            if r.served_by == "cloud":
                return t
            time.sleep(0.05)
        return None

    def lost(self):
        return [r for r in self.journal.commands() if not r.terminal]

    def close(self):
        self.monitor.stop()
        self.proxy.stop()
        if isinstance(self.server, ServerProcess):
            self.server.kill()
        else:
            self.server.stop()
        self.journal.close()


class Load:
    """Submits commands back to back in a thread until stopped."""

    def __init__(self, rig, hard_every=0):
        self.rig, self.hard_every = rig, hard_every
        self.results = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        i = 0
        while not self._stop.is_set():
            hard = self.hard_every and i % self.hard_every == 0
            t0 = time.monotonic()
            r, t = self.rig.submit("attributes" if hard else "fetch")
            self.results.append((t0, t, r))
            i += 1
            self._stop.wait(0.05)

    def stop(self):
        self._stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
