"""A stand-in for a Kubernetes Service in front of coordinator replicas, for
the HA tests: a TCP proxy on 127.0.0.1 that sends each new connection to a
ready replica, in turn. `mode="any"` (the HA overlay: readiness is the
overall health, so every live replica is ready and a standby redirects the
client to the leader) or `mode="leader"` (a mesh or gateway that
health-checks the service elasticbsp.v1.Coordinator, SERVING only on the
leader).

Like kube-proxy, it decides per connection and leaves established
connections alone; with no ready replica it refuses (closes at once), as a
Service without ready endpoints does. kube-proxy itself cannot run here, so
this is the one fake in the HA suite. Health is polled every
``poll_seconds`` from a thread (every replica's two checks side by side,
0.5 s timeout each); the proxy runs on asyncio in another.
"""

import asyncio
import concurrent.futures
import threading
import time
from typing import List, Optional

import grpc

COORDINATOR_SERVICE = "elasticbsp.v1.Coordinator"
# Debian's python3-grpcio has no grpc_health package: the two messages are
# small enough to write by hand. HealthCheckRequest{service = 1} and
# HealthCheckResponse{status = 1}, SERVING = 1.
_SERVING_REPLY = b"\x08\x01"


def _check_request(service: str) -> bytes:
    return (b"\x0a" + bytes([len(service)]) + service.encode()) if service else b""


def serving(target: str, timeout: float, service: str = COORDINATOR_SERVICE) -> bool:
    """Whether `target` says SERVING for `service` ("" is the overall status)."""
    try:
        with grpc.insecure_channel(target) as channel:
            check = channel.unary_unary("/grpc.health.v1.Health/Check")
            return check(_check_request(service), timeout=timeout) == _SERVING_REPLY
    except grpc.RpcError:
        return False


class ReadyRouter:
    def __init__(self, backends: List[str], mode: str = "any", poll_seconds: float = 0.1):
        assert mode in ("any", "leader"), mode
        self.mode = mode
        self.backends = list(backends)
        self.poll_seconds = poll_seconds
        self.port = 0
        self._ready: List[str] = []
        self._next = 0
        self.leader: Optional[str] = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._server = None
        self._threads: List[threading.Thread] = []
        self._checker = concurrent.futures.ThreadPoolExecutor(max_workers=8)
        # Times at which two or more backends said SERVING in one sweep.
        self.double_leader_sweeps = 0
        # (start, end) in time.monotonic() of each such sweep.
        self.double_leader_sweep_times = []
        # Times the swept leader changed (to another replica or to none).
        self.leader_changes = 0
        self.sweeps = 0

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def ready_backend(self) -> Optional[str]:
        """The next ready replica, in turn (None when none is ready)."""
        with self._lock:
            if not self._ready:
                return None
            self._next = (self._next + 1) % len(self._ready)
            return self._ready[self._next]

    def current_leader(self) -> Optional[str]:
        with self._lock:
            return self.leader

    def set_backends(self, backends: List[str]) -> None:
        with self._lock:
            self.backends = list(backends)

    def _poll(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            with self._lock:
                backends = list(self.backends)
            # Checked side by side: a frozen replica costs one timeout per
            # sweep, not one per check (it leaves the ready list within
            # about 0.6 s, like a Service whose readiness probe fails fast).
            checks = [(b, service) for b in backends for service in (COORDINATOR_SERVICE, "")]
            results = list(self._checker.map(
                lambda check: serving(check[0], timeout=0.5, service=check[1]), checks))
            leaders = [b for (b, service), ok in zip(checks, results) if ok and service]
            alive = [b for (b, service), ok in zip(checks, results) if ok and not service]
            with self._lock:
                self.sweeps += 1
                if len(leaders) > 1:
                    self.double_leader_sweeps += 1
                    self.double_leader_sweep_times.append((started, time.monotonic()))
                leader = leaders[0] if len(leaders) == 1 else None
                if leader != self.leader:
                    self.leader_changes += 1
                self.leader = leader
                self._ready = leaders if self.mode == "leader" else alive
            self._stop.wait(self.poll_seconds)

    async def _pipe(self, reader, writer) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 (already closed)
                pass

    async def _handle(self, client_reader, client_writer) -> None:
        backend = self.ready_backend()
        if backend is None:
            client_writer.close()
            return
        host, port = backend.rsplit(":", 1)
        try:
            server_reader, server_writer = await asyncio.wait_for(
                asyncio.open_connection(host, int(port)), timeout=2)
        except (OSError, asyncio.TimeoutError):
            client_writer.close()
            return
        await asyncio.gather(self._pipe(client_reader, server_writer),
                             self._pipe(server_reader, client_writer))

    def start(self) -> "ReadyRouter":
        started = threading.Event()

        def run_loop():
            asyncio.set_event_loop(self._loop)

            async def serve():
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = self._server.sockets[0].getsockname()[1]
                started.set()

            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        loop_thread = threading.Thread(target=run_loop, daemon=True)
        poll_thread = threading.Thread(target=self._poll, daemon=True)
        self._threads = [loop_thread, poll_thread]
        loop_thread.start()
        poll_thread.start()
        if not started.wait(10):
            raise AssertionError("ready router did not start within 10 s")
        return self

    def close(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        for t in self._threads:
            t.join(timeout=5)
        self._checker.shutdown(wait=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def wait_for_leader(router: ReadyRouter, timeout: float) -> str:
    """The one replica whose Coordinator service says SERVING."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leader = router.current_leader()
        if leader:
            return leader
        time.sleep(0.02)
    raise AssertionError(f"no replica led within {timeout}s")
