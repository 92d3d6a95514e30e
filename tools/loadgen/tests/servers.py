"""Starts the project's servers for the tools' tests: the real binary on
127.0.0.1 with port 0, the picked port read back from its --ready_file, and
SIGTERM (then SIGKILL) at the end. Every wait has a deadline."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


def _read_ready(path):
    try:
        with open(path) as f:
            return json.loads(f.read())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@contextlib.contextmanager
def running_server(binary, extra_args=(), metrics=False):
    """Yields (grpc_port, pid). `metrics`: the binary also takes --metrics_address."""
    with tempfile.TemporaryDirectory(prefix="ebsp-tools-test-") as tmp:
        ready = os.path.join(tmp, "ready.json")
        log_path = os.path.join(tmp, "server.log")
        args = [binary, "--listen_address=127.0.0.1:0", f"--ready_file={ready}"]
        if metrics:
            args.append("--metrics_address=127.0.0.1:0")
        args.extend(extra_args)
        with open(log_path, "w") as log:
            proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + READY_TIMEOUT_S
            info = None
            # Poll the condition (file present and whole) with a deadline; the
            # server writes it atomically once it serves.
            while info is None:
                info = _read_ready(ready)
                if info is not None:
                    break
                if proc.poll() is not None:
                    raise AssertionError(
                        f"{binary} exited with {proc.returncode} before it was ready:\n"
                        + open(log_path).read())
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{binary} not ready within {READY_TIMEOUT_S}s:\n" + open(log_path).read())
                time.sleep(0.02)
            yield info["grpc_port"], proc.pid
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=STOP_TIMEOUT_S)


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
