"""tools/netfault/netfault.py against a real echo server on 127.0.0.1:
pass, hold (black-hole, then release in order), delay, a refused command,
and a server that is gone."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "netfault"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support", "python"))

from ebsp_test_servers import stop_process, wait_until  # noqa: E402
from netfault import Control  # noqa: E402


class EchoServer:
    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn):
        conn.settimeout(10)
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass

    def close(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture
def proxy(echo, tmp_path):
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", "netfault", "netfault.py"),
                             f"--upstream=127.0.0.1:{echo.port}", f"--ready_file={ready}",
                             "--max_runtime_s=120"])

    def read_ready():
        assert proc.poll() is None, f"netfault exited with {proc.returncode}"
        return json.loads(ready.read_text()) if ready.exists() else None

    info = wait_until(read_ready, 20.0, "netfault's ready file")
    control = Control(info["control_port"])
    control.port = info["port"]
    yield control
    assert stop_process(proc) == 0


def connect(proxy):
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data


def test_pass_forwards_both_ways(proxy):
    with connect(proxy) as sock:
        sock.sendall(b"hello")
        assert recv_exactly(sock, 5) == b"hello"
    assert proxy.send("stats")["mode"] == "pass"


def test_hold_keeps_the_bytes_until_pass(proxy):
    with connect(proxy) as sock:
        sock.sendall(b"a")
        assert recv_exactly(sock, 1) == b"a"   # The connection is up.
        assert proxy.send("hold")["mode"] == "hold"
        sock.sendall(b"bc")
        wait_until(lambda: proxy.send("stats")["buffered_up"] == 2, 10.0, "2 bytes held")
        sock.settimeout(0.3)
        with pytest.raises(socket.timeout):   # Black-holed: nothing comes back.
            sock.recv(1)
        sock.settimeout(10)
        proxy.send("pass")
        assert recv_exactly(sock, 2) == b"bc"  # Released, in order.


def test_hold_down_forwards_requests_but_not_replies(proxy, echo):
    with connect(proxy) as sock:
        sock.sendall(b"a")
        assert recv_exactly(sock, 1) == b"a"
        proxy.send("hold down")
        sock.sendall(b"xy")
        wait_until(lambda: proxy.send("stats")["buffered_down"] == 2, 10.0,
                   "the echo of 2 bytes held on the way back")
        proxy.send("pass")
        assert recv_exactly(sock, 2) == b"xy"


def test_delay_holds_each_chunk_for_its_time(proxy):
    with connect(proxy) as sock:
        sock.sendall(b"a")
        assert recv_exactly(sock, 1) == b"a"
        proxy.send("delay 200")
        started = time.monotonic()
        sock.sendall(b"b")
        assert recv_exactly(sock, 1) == b"b"
        assert time.monotonic() - started >= 0.4   # 200 ms each way.
        proxy.send("delay down 300 spare 1")
        assert proxy.send("stats")["delay_down_ms"] == 300
        assert proxy.send("stats")["delay_up_ms"] == 200   # Only `down` changed.


def test_delay_spares_the_first_chunks_of_a_new_connection(proxy):
    proxy.send("delay down 5000 spare 1")
    with connect(proxy) as sock:
        started = time.monotonic()
        sock.sendall(b"a")
        assert recv_exactly(sock, 1) == b"a"   # The first reply chunk is spared.
        assert time.monotonic() - started < 4.0
        sock.sendall(b"b")
        wait_until(lambda: proxy.send("stats")["buffered_down"] == 1, 10.0,
                   "the second reply chunk delayed")


def test_a_bad_command_is_refused_and_changes_nothing(proxy):
    for command in ("jump", "delay", "delay sideways 10", "delay -5", "delay 10 spare x"):
        with pytest.raises(RuntimeError, match="netfault refused"):
            proxy.send(command)
    assert proxy.send("stats")["mode"] == "pass"


def test_no_server_closes_the_client_connection(proxy, echo):
    echo.close()
    with connect(proxy) as sock:
        sock.settimeout(10)
        assert sock.recv(1) == b""
