"""Fault injection for link tests and benchmarks.

:class:`FaultProxy` is a TCP proxy on loopback, switched at run time between ``pass``,
``blackhole`` (accepts, never answers, no RST), ``delay`` (adds latency to every answer),
``reset`` (RST on every connection), ``throttle`` (bytes/s cap), ``corrupt`` (answers replaced by
garbage) and ``down`` (the port refuses connections). :class:`NetnsLink` joins two network
namespaces created for the test with a veth pair (no default route, both ends inside) and cuts
or restores it; it needs root and ``ip netns``.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import random
import select
import shutil
import socket
import struct
import subprocess
import threading
import time
import uuid

logger = logging.getLogger(__name__)


class FaultMode(str, enum.Enum):
    """What the proxy does to traffic."""

    PASS = "pass"
    BLACKHOLE = "blackhole"
    DELAY = "delay"
    RESET = "reset"
    THROTTLE = "throttle"
    CORRUPT = "corrupt"
    DOWN = "down"


def _require_loopback(host: str) -> None:
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"fault proxy only works on loopback addresses, got {host!r}")


def _rst_close(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class FaultProxy:
    """A fault-injecting TCP proxy between 127.0.0.1:<port> and an upstream on loopback.

    Args:
        upstream: ``(host, port)`` of the real server (a loopback address).
        listen_host: where to listen (a loopback address).
        listen_port: 0 picks a free port.
        seed: randomness of the garbage bytes.
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        seed: int = 0,
    ) -> None:
        _require_loopback(upstream[0])
        _require_loopback(listen_host)
        self.upstream = upstream
        self.listen_host = listen_host
        self.port = listen_port
        self.mode = FaultMode.PASS
        self.delay_s = 0.0
        self.rate_bps = 1e9
        self.faults_injected = 0
        self.connections = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._socks: set[socket.socket] = set()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept_thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        """Listen and start forwarding; returns self."""
        self._open_listener()
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept_thread.start()
        return self

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.listen_host}:{self.port}"

    def _open_listener(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.listen_host, self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        with self._lock:
            self._listener = s

    def _close_listener(self) -> None:
        with self._lock:
            s, self._listener = self._listener, None
        if s is not None:
            s.close()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Close everything and join the threads (bounded)."""
        self._stop.set()
        self._close_listener()
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
        end = time.monotonic() + timeout_s
        for t in [self._accept_thread, *self._threads]:
            if t is not None:
                t.join(max(0.0, end - time.monotonic()))

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- switching -----------------------------------------------------------------------------
    def set_fault(
        self, mode: FaultMode | str, *, delay_s: float = 5.0, rate_bps: float = 200.0
    ) -> None:
        """Switch the proxy's behaviour now (existing connections are affected too).

        Args:
            mode: the fault (``pass`` clears it).
            delay_s: latency added to each answer in ``delay`` mode.
            rate_bps: bytes per second in ``throttle`` mode.
        """
        mode = FaultMode(mode)
        if delay_s < 0 or rate_bps <= 0:
            raise ValueError(f"bad fault parameters delay_s={delay_s} rate_bps={rate_bps}")
        with self._lock:
            old = self.mode
            self.mode, self.delay_s, self.rate_bps = mode, float(delay_s), float(rate_bps)
            if mode != FaultMode.PASS:
                self.faults_injected += 1
            socks = list(self._socks)
        if mode == FaultMode.DOWN and old != FaultMode.DOWN:
            self._close_listener()
        elif mode != FaultMode.DOWN and old == FaultMode.DOWN:
            self._open_listener()
        if mode in (FaultMode.RESET, FaultMode.DOWN):
            for s in socks:
                _rst_close(s)
        logger.info("fault proxy :%d -> %s", self.port, mode.value)

    def clear(self) -> None:
        """Back to ``pass``."""
        self.set_fault(FaultMode.PASS)

    # -- forwarding ----------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                lst = self._listener
            if lst is None:
                self._stop.wait(0.02)
                continue
            try:
                r, _, _ = select.select([lst], [], [], 0.05)
                if not r:
                    continue
                client, _ = lst.accept()
            except (OSError, ValueError):
                continue
            self.connections += 1
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
            t.start()

    def _track(self, s: socket.socket, add: bool) -> None:
        with self._lock:
            (self._socks.add if add else self._socks.discard)(s)

    def _serve(self, client: socket.socket) -> None:
        self._track(client, True)
        upstream = None
        try:
            mode = self.mode
            if mode in (FaultMode.RESET, FaultMode.DOWN):
                _rst_close(client)
                return
            if mode == FaultMode.BLACKHOLE:
                self._swallow(client)
                return
            upstream = socket.create_connection(self.upstream, timeout=2.0)
            self._track(upstream, True)
            self._pump_both(client, upstream)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                if s is not None:
                    self._track(s, False)
                    try:
                        s.close()
                    except OSError:
                        pass

    def _swallow(self, client: socket.socket) -> None:
        """Blackhole: read and drop until the fault ends, then close quietly (FIN, no RST)."""
        while not self._stop.is_set() and self.mode == FaultMode.BLACKHOLE:
            r, _, _ = select.select([client], [], [], 0.05)
            if r and not client.recv(65536):
                return

    def _pump_both(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        blackholed = False
        while not self._stop.is_set():
            mode = self.mode
            if mode == FaultMode.BLACKHOLE:
                blackholed = True
            elif blackholed:
                return  # the stream lost bytes: end it like a peer that gave up
            r, _, _ = select.select(list(peers), [], [], 0.05)
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                if blackholed:
                    continue
                self._forward(data, peers[s], downstream=s is upstream)

    def _forward(self, data: bytes, dst: socket.socket, downstream: bool) -> None:
        mode = self.mode
        if mode == FaultMode.DELAY and downstream:
            self._stop.wait(self.delay_s)
        elif mode == FaultMode.CORRUPT and downstream:
            data = bytes(self._rng.randrange(256) for _ in range(len(data)))
        elif mode == FaultMode.THROTTLE:
            step = max(1, int(self.rate_bps / 20))
            for i in range(0, len(data), step):
                if self._stop.is_set():
                    return
                dst.sendall(data[i : i + step])
                self._stop.wait(len(data[i : i + step]) / self.rate_bps)
            return
        dst.sendall(data)


# -- network namespaces --------------------------------------------------------------------------
def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=check)


def netns_available() -> tuple[bool, str]:
    """Whether :class:`NetnsLink` can work here, and why not if not."""
    import os

    if shutil.which("ip") is None:
        return False, "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return False, "network namespaces need root"
    name = f"ecprobe{uuid.uuid4().hex[:6]}"
    try:
        r = _ip("netns", "add", name, check=False)
        if r.returncode != 0:
            return False, f"`ip netns add` failed: {r.stderr.strip()}"
    finally:
        _ip("netns", "del", name, check=False)
    return True, "ok"


class NetnsLink:
    """Two namespaces ``a`` and ``b`` joined by a veth pair on a private /30, no default route.

    Use as a context manager; everything is deleted on exit, also after a failure.
    ``cut()`` takes the ``b`` end down: ``a`` keeps its route and its packets are silently lost
    (connects and reads time out, no error comes back), like a dead radio link;
    ``restore()`` brings it back.
    """

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns_a, self.ns_b = f"eca{tag}", f"ecb{tag}"
        self.dev_a, self.dev_b = f"va{tag}", f"vb{tag}"
        third = random.randrange(1, 255)
        self.addr_a, self.addr_b = f"10.254.{third}.1", f"10.254.{third}.2"
        self._created: list[str] = []

    def __enter__(self) -> NetnsLink:
        try:
            for ns in (self.ns_a, self.ns_b):
                _ip("netns", "add", ns)
                self._created.append(ns)
                _ip("-n", ns, "link", "set", "lo", "up")
            # Both ends are created inside the namespaces: nothing touches the host's interfaces.
            _ip("-n", self.ns_a, "link", "add", self.dev_a, "type", "veth",
                "peer", "name", self.dev_b, "netns", self.ns_b)
            _ip("-n", self.ns_a, "addr", "add", f"{self.addr_a}/30", "dev", self.dev_a)
            _ip("-n", self.ns_b, "addr", "add", f"{self.addr_b}/30", "dev", self.dev_b)
            self.restore()
            for ns in (self.ns_a, self.ns_b):
                if _ip("-n", ns, "route", "show", "default").stdout.strip():
                    raise RuntimeError(f"namespace {ns} unexpectedly has a default route")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cut(self) -> None:
        """Take the link down (the ``b`` end; ``a`` sees silence, not an error)."""
        _ip("-n", self.ns_b, "link", "set", self.dev_b, "down")

    def restore(self) -> None:
        """Bring the link up (both ends)."""
        _ip("-n", self.ns_a, "link", "set", self.dev_a, "up")
        _ip("-n", self.ns_b, "link", "set", self.dev_b, "up")

    def exec_args(self, ns: str, argv: list[str]) -> list[str]:
        """``argv`` prefixed to run inside namespace ``ns``."""
        return ["ip", "netns", "exec", ns, *argv]

    def close(self) -> None:
        """Delete the namespaces (and with them the veth pair)."""
        while self._created:
            _ip("netns", "del", self._created.pop(), check=False)
