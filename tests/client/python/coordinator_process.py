"""Runs the real ebsp-coordinator binary for tests, on 127.0.0.1 with a
kernel-picked port read back from --ready_file.

The binary comes from $EBSP_COORDINATOR (CMake passes
$<TARGET_FILE:ebsp-coordinator> through the test's ENVIRONMENT).
"""

import json
import os
import signal
import subprocess
import time
from typing import Callable, List, Optional

STARTUP_TIMEOUT_SECONDS = 20.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0


def wait_until(predicate: Callable[[], bool], timeout: float, what: str,
               poll_seconds: float = 0.01) -> None:
    """Polls ``predicate`` until it holds; AssertionError naming ``what`` after
    ``timeout`` seconds. The wait is on a condition, bounded by a deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll_seconds)


def coordinator_binary() -> str:
    path = os.environ.get("EBSP_COORDINATOR", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(
            f"EBSP_COORDINATOR={path!r} is not an executable ebsp-coordinator; "
            "run through ctest or set it to <build>/services/server/ebsp-coordinator")
    return path


class CoordinatorProcess:
    """One coordinator process; restart() brings it back on the same port."""

    def __init__(self, workdir: str, extra_flags: Optional[List[str]] = None):
        self._workdir = workdir
        self._extra_flags = list(extra_flags or [])
        self._proc: Optional[subprocess.Popen] = None
        self._stderr = None
        self.grpc_port = 0
        self.metrics_port = 0
        self._starts = 0

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, grpc_port: int = 0) -> None:
        assert self._proc is None, "already running"
        self._starts += 1
        ready = os.path.join(self._workdir, f"ready{self._starts}.json")
        log_path = os.path.join(self._workdir, f"coordinator{self._starts}.log")
        self._stderr = open(log_path, "wb")
        cmd = [coordinator_binary(),
               f"--listen_address=127.0.0.1:{grpc_port}",
               "--metrics_address=127.0.0.1:0",
               f"--ready_file={ready}"] + self._extra_flags
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self._stderr)

        def is_ready() -> bool:
            if self._proc.poll() is not None:
                raise AssertionError(
                    f"coordinator exited with {self._proc.returncode} during startup: "
                    f"{open(log_path, 'rb').read().decode(errors='replace')}")
            return os.path.exists(ready) and os.path.getsize(ready) > 0

        wait_until(is_ready, STARTUP_TIMEOUT_SECONDS, f"ready file {ready}")
        with open(ready) as f:
            info = json.loads(f.read().strip().splitlines()[0])
        self.grpc_port = int(info["grpc_port"])
        self.metrics_port = int(info["metrics_port"])
        assert self.grpc_port > 0, info

    def stop(self) -> int:
        """SIGTERM (graceful shutdown), SIGKILL if it does not exit in time."""
        if self._proc is None:
            return 0
        proc, self._proc = self._proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
        self._stderr.close()
        return proc.returncode

    def restart(self) -> None:
        port = self.grpc_port
        self.stop()
        self.start(grpc_port=port)
