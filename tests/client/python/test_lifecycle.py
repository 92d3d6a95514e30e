"""Registration lifetime: context manager, leave, heartbeats, measured compute."""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import ebsp
from ebsp_test_servers import wait_until

CLIENT_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(ebsp.__file__)), ".."))


def worker_names(admin, job):
    return {w.name for w in admin.get_job(job).workers}


def test_context_manager_leaves_the_job(coordinator, job_name):
    with ebsp.AdminClient(coordinator.target) as admin:
        with ebsp.Client(coordinator.target, job_name, "w0", policy="bsp") as coord:
            assert worker_names(admin, job_name) == {"w0"}
        assert worker_names(admin, job_name) == set()
    try:
        coord.step_done(0.01)
        raise AssertionError("a client that left must refuse to report")
    except ebsp.UsageError:
        pass


def test_leaving_worker_no_longer_holds_the_barrier(coordinator, job_name):
    with ebsp.AdminClient(coordinator.target) as admin, \
            ebsp.Client(coordinator.target, job_name, "a", policy="bsp") as a, \
            ThreadPoolExecutor(2) as pool:
        b = ebsp.Client(coordinator.target, job_name, "b", policy="bsp")
        # One round together: a's last release had {a, b} (before any
        # release, a knows only the names at its registration).
        both = [pool.submit(lambda c=c: c.step_done(0.01) and c.sync()) for c in (a, b)]
        assert all(f.result(timeout=10).round == 1 for f in both)
        assert a.step_done(0.01)
        waiting = pool.submit(a.sync)
        wait_until(lambda: len(admin.get_job(job_name).barrier.arrived_worker_ids) == 1,
                   10, "a at the barrier")
        assert not waiting.done()
        b.leave()
        result = waiting.result(timeout=10)
        assert result.live_workers == 1
        assert result.membership_changed


def test_leave_from_another_thread_ends_a_waiting_sync_without_registering_again(
        coordinator, job_name):
    """A shutdown path (a signal handler, a supervisor thread) leaves while
    the training thread waits at the barrier: the wait ends with a UsageError
    saying so, and the worker does not come back under a new registration."""
    with ebsp.AdminClient(coordinator.target) as admin, \
            ebsp.Client(coordinator.target, job_name, "b", policy="bsp"), \
            ThreadPoolExecutor(1) as pool:
        a = ebsp.Client(coordinator.target, job_name, "a", policy="bsp")
        assert a.step_done(0.01)
        waiting = pool.submit(a.sync)
        wait_until(lambda: len(admin.get_job(job_name).barrier.arrived_worker_ids) == 1,
                   10, "a at the barrier")
        a.leave()
        try:
            waiting.result(timeout=10)
            raise AssertionError("a sync whose client left must not succeed")
        except ebsp.UsageError as err:
            assert "left while Barrier waited" in str(err), err
        assert a.registrations == 1
        assert worker_names(admin, job_name) == {"b"}


def test_leave_stops_the_heartbeat_thread_promptly(coordinator, job_name):
    coord = ebsp.Client(coordinator.target, job_name, "w0", heartbeat_interval=60)
    started = time.monotonic()
    coord.leave()
    assert time.monotonic() - started < 2
    assert not coord._heartbeat_thread.is_alive()
    coord.leave()  # Idempotent.


def test_leave_does_not_raise_when_the_coordinator_is_gone(coordinator, job_name):
    coord = ebsp.Client(coordinator.target, job_name, "w0")
    coordinator.stop()
    started = time.monotonic()
    coord.leave()
    assert time.monotonic() - started < 5


def test_step_done_measures_compute_time_since_the_previous_call(coordinator, job_name):
    with ebsp.AdminClient(coordinator.target) as admin, \
            ebsp.Client(coordinator.target, job_name, "w0", policy="ebsp:R=50") as coord:
        if coord.step_done(0.0):  # Round 0 may have target 1 (no history yet).
            coord.sync()
        time.sleep(0.05)  # The iteration being measured.
        coord.step_done()
        (worker,) = admin.get_job(job_name).workers
        assert worker.iterations_total == 2
        assert 0.05 <= worker.last_compute_seconds < 5


def test_import_without_stubs_explains_how_to_get_them():
    env = dict(os.environ, PYTHONPATH=CLIENT_DIR)
    proc = subprocess.run([sys.executable, "-c", "import ebsp"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "ebsp_proto_python" in proc.stderr
    assert "PYTHONPATH" in proc.stderr
