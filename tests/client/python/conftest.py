"""Fixtures shared by the Python client tests: a real coordinator per test."""

import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from coordinator_process import CoordinatorProcess  # noqa: E402

_job_counter = itertools.count()


@pytest.fixture
def coordinator(tmp_path):
    proc = CoordinatorProcess(str(tmp_path))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def start_coordinator(tmp_path):
    """Starts coordinators with extra flags; all are stopped after the test."""
    started = []

    def start(*extra_flags):
        proc = CoordinatorProcess(str(tmp_path / f"c{len(started)}"), list(extra_flags))
        os.makedirs(str(tmp_path / f"c{len(started)}"))
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
