"""A real etcd (Debian's etcd-server) on 127.0.0.1 for tests: ports picked at
run time, its own data directory, killed and restarted on the same ports and
data, every wait bounded."""

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from typing import Optional

ETCD = "/usr/bin/etcd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EtcdServer:
    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="ebsp-etcd-")
        self.client_port = free_port()
        self.peer_port = free_port()
        self.proc: Optional[subprocess.Popen] = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.endpoint}/health", timeout=0.5) as r:
                return b'"health":"true"' in r.read()
        except OSError:
            return False

    def start(self, timeout: float = 30) -> "EtcdServer":
        client = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        log = open(os.path.join(self._tmp.name, "etcd.log"), "ab")
        self.proc = subprocess.Popen(
            [ETCD, "--name=test", f"--data-dir={self._tmp.name}/data",
             f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
             f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
             f"--initial-cluster=test={peer}", "--log-level=warn"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.proc.poll() is not None:
                raise AssertionError(f"etcd exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"etcd not healthy within {timeout}s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def log(self) -> str:
        try:
            with open(os.path.join(self._tmp.name, "etcd.log"), "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def close(self) -> None:
        self.kill()
        self._tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
