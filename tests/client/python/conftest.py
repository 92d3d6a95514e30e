"""Fixtures shared by the Python client tests: a real coordinator per test.

The binary comes from $EBSP_COORDINATOR (CMake passes
$<TARGET_FILE:ebsp-coordinator> through the test's ENVIRONMENT, with
tests/support/python on PYTHONPATH for ebsp_test_servers).
"""

import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ebsp_test_servers import ServerProcess  # noqa: E402

_job_counter = itertools.count()


def coordinator_binary() -> str:
    path = os.environ.get("EBSP_COORDINATOR", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(
            f"EBSP_COORDINATOR={path!r} is not an executable ebsp-coordinator; "
            "run through ctest or set it to <build>/service/ebsp-coordinator")
    return path


@pytest.fixture
def coordinator(tmp_path):
    """A running coordinator; restart() brings it back on the same port."""
    proc = ServerProcess(coordinator_binary(), workdir=str(tmp_path))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def start_coordinator(tmp_path):
    """Starts coordinators with extra flags; all are stopped after the test."""
    started = []

    def start(*extra_flags):
        proc = ServerProcess(coordinator_binary(), extra_flags,
                             workdir=str(tmp_path / f"c{len(started)}"))
        started.append(proc)
        proc.start()
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def job_name(request):
    """A job name unique within the session, readable in coordinator logs."""
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:100]
    return f"{base}-{next(_job_counter)}"
