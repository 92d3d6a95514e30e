"""Runs the project's real servers (ebsp-coordinator, ebsp-echo-server) for
tests: on 127.0.0.1 with port 0 (or a fixed port, to restart on the same one),
the picked ports read back from --ready_file, and SIGTERM (then SIGKILL) at
the end. Every wait has a deadline.

Shared by the Python client tests (tests/client/python), the tools' smoke tests
(tools/loadgen/tests, tools/status/tests) and the deploy tests (tests/deploy);
each finds this directory through sys.path (their CMake ENVIRONMENT's
PYTHONPATH, or deploy_testlib.py).
"""

import json
import os
import signal
import subprocess
import tempfile
import time
from typing import Callable, Optional, Sequence, TypeVar

READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.01

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, what: str,
               poll_seconds: float = POLL_S) -> T:
    """Polls ``predicate`` until it returns a truthy value, and returns that;
    AssertionError naming ``what`` after ``timeout`` seconds. The wait is on a
    condition, bounded by a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll_seconds)


def stop_process(process: subprocess.Popen, timeout_s: float = STOP_TIMEOUT_S) -> int:
    """SIGTERM (graceful shutdown), then SIGKILL if it has not exited within
    timeout_s. Returns its exit status (negative: the signal that ended it)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)
    return process.returncode


def _read_ready_file(path: str) -> Optional[dict]:
    """The ready file's JSON, or None while it is missing or incomplete."""
    try:
        with open(path) as f:
            return json.loads(f.read())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class ServerProcess:
    """One server process on 127.0.0.1.

    ``binary``: the server's path; ``extra_flags`` go before the flags set here,
    so the test's addresses and ready file always apply (even over a
    --flagfile). ``metrics``: the binary also takes --metrics_address (on port
    0). ``workdir``: where the ready and log files go (one pair per start); by
    default a temporary directory removed by close().

    start() / stop() / restart() (same gRPC port), or ``with ServerProcess(...)
    as server:`` (started on entry if not running, stopped and cleaned up on
    exit).
    """

    def __init__(self, binary, extra_flags: Sequence[str] = (), *, metrics: bool = True,
                 workdir: Optional[str] = None, ready_timeout_s: float = READY_TIMEOUT_S,
                 stop_timeout_s: float = STOP_TIMEOUT_S):
        self.binary = str(binary)
        self.name = os.path.basename(self.binary)
        self.extra_flags = [str(flag) for flag in extra_flags]
        self.metrics = metrics
        self.ready_timeout_s = ready_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._workdir = None if workdir is None else str(workdir)
        self._tmpdir: Optional[tempfile.TemporaryDirectory] = None
        self._proc: Optional[subprocess.Popen] = None
        self._starts = 0
        self.log_path: Optional[str] = None
        self.grpc_port = 0
        self.metrics_port = 0
        self.returncode: Optional[int] = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def process(self) -> Optional[subprocess.Popen]:
        """The running process (None when stopped)."""
        return self._proc

    @property
    def pid(self) -> int:
        assert self._proc is not None, f"{self.name} is not running"
        return self._proc.pid

    def log(self) -> str:
        """What the current (or last) run wrote to stdout and stderr."""
        if self.log_path is None:
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def start(self, grpc_port: int = 0) -> "ServerProcess":
        """Starts it and waits (bounded) for its ready file; on failure it is
        stopped and the AssertionError carries its log."""
        assert self._proc is None, f"{self.name} is already running"
        if self._workdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="ebsp-test-server-")
            self._workdir = self._tmpdir.name
        os.makedirs(self._workdir, exist_ok=True)
        self._starts += 1
        ready = os.path.join(self._workdir, f"ready{self._starts}.json")
        self.log_path = os.path.join(self._workdir, f"{self.name}{self._starts}.log")
        args = [self.binary, *self.extra_flags,
                f"--listen_address=127.0.0.1:{grpc_port}",
                f"--ready_file={ready}"]
        if self.metrics:
            args.append("--metrics_address=127.0.0.1:0")
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)

        def ready_or_exited() -> Optional[dict]:
            if self._proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self._proc.returncode} before it was ready")
            # Written atomically once it serves.
            return _read_ready_file(ready)

        try:
            info = wait_until(ready_or_exited, self.ready_timeout_s,
                              f"{self.name}'s ready file {ready}")
        except AssertionError as error:
            self.stop()
            raise AssertionError(f"{error}; its log:\n{self.log()}") from None
        self.grpc_port = int(info["grpc_port"])
        self.metrics_port = int(info.get("metrics_port", 0))
        assert self.grpc_port > 0, info
        assert self.metrics_port > 0 or not self.metrics, info
        return self

    def stop(self) -> Optional[int]:
        """SIGTERM, SIGKILL if it does not exit in time; its exit status (None
        if it never ran). Stopping a stopped server returns the last status."""
        if self._proc is not None:
            proc, self._proc = self._proc, None
            self.returncode = stop_process(proc, self.stop_timeout_s)
        return self.returncode

    def kill(self, timeout_s: float = STOP_TIMEOUT_S) -> Optional[int]:
        """A crash: SIGKILL, reaped within timeout_s; its exit status. The gRPC
        port stays known, so start(grpc_port=...) can bring it back there."""
        if self._proc is not None:
            proc, self._proc = self._proc, None
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=timeout_s)
            self.returncode = proc.returncode
        return self.returncode

    def restart(self) -> "ServerProcess":
        """Stops it and starts it again on the same gRPC port (empty state)."""
        port = self.grpc_port
        self.stop()
        return self.start(grpc_port=port)

    def close(self) -> None:
        """Stops it and removes the temporary directory, if it made one."""
        self.stop()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
            self._workdir = None

    def __enter__(self) -> "ServerProcess":
        if self._proc is None:
            try:
                self.start()
            except BaseException:
                self.close()
                raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
