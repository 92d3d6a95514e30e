"""Helpers for the tools' tests: the project's servers through the shared
ebsp_test_servers (tests/support/python, on PYTHONPATH from CMake), a closed
port, and running a tool for its JSON output."""

import contextlib
import json
import socket
import subprocess

from ebsp_test_servers import ServerProcess

READY_TIMEOUT_S = 30


@contextlib.contextmanager
def running_server(binary, extra_args=(), metrics=False):
    """Yields (grpc_port, pid). `metrics`: the binary also takes --metrics_address."""
    with ServerProcess(binary, extra_args, metrics=metrics,
                       ready_timeout_s=READY_TIMEOUT_S) as server:
        yield server.grpc_port, server.pid


def closed_port():
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_json(args, timeout=120):
    """Runs a tool with --json and returns its parsed output; fails with stderr."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stderr}"
    return json.loads(proc.stdout)
