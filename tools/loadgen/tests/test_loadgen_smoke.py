"""Smoke tests of ebsp-loadgen, ebsp-echo-server and ebsp-barrier-bench
against the real binaries on 127.0.0.1. They check that load flows and
nothing fails, never how fast (timing depends on the machine)."""

import os
import re
import subprocess
import time
import urllib.request

import pytest

from ebsp_test_servers import ServerProcess, wait_until
from servers import closed_port, run_json, running_server

LOADGEN = os.environ["EBSP_LOADGEN"]
ECHO_SERVER = os.environ["EBSP_ECHO_SERVER"]
BARRIER_BENCH = os.environ["EBSP_BARRIER_BENCH"]


def coordinator():
    # Only registered with ctest when the target exists; a missing variable
    # is a configuration error, not a reason to skip.
    return os.environ["EBSP_COORDINATOR"]


def assert_clean_load(result):
    assert result["reports_ok"] > 0, result
    assert result["throughput_rps"] > 0, result
    assert result["errors_total"] == 0, result
    assert result["errors"] == {}, result
    assert result["workers_retired"] == 0, result
    latency = result["latency_ms"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"], result


def test_echo_load_has_throughput_and_no_errors():
    with running_server(ECHO_SERVER) as (port, _):
        result = run_json([LOADGEN, f"--target=127.0.0.1:{port}", "--mode=echo",
                           "--workers=50", "--duration=1s", "--json"])
    assert result["mode"] == "echo"
    assert result["workers"] == 50
    assert_clean_load(result)


def test_echo_load_stops_at_max_requests():
    with running_server(ECHO_SERVER) as (port, _):
        result = run_json([LOADGEN, f"--target=127.0.0.1:{port}", "--mode=echo",
                           "--workers=20", "--duration=60s", "--max_requests=500", "--json"],
                          timeout=60)
    # Ended by the request cap, long before the 60 s duration.
    assert result["measured_seconds"] < 30, result
    assert 0 < result["reports_ok"] <= 500, result
    assert result["reports_ok"] + result["drained"] <= 500, result
    assert result["errors_total"] == 0, result


def test_echo_load_with_fewer_slots_than_workers_serves_every_worker():
    with running_server(ECHO_SERVER) as (port, _):
        result = run_json([LOADGEN, f"--target=127.0.0.1:{port}", "--mode=echo",
                           "--workers=40", "--concurrency=5", "--channels=2",
                           "--duration=1s", "--json"])
    assert result["concurrency"] == 5
    assert_clean_load(result)


def test_loadgen_reports_unreachable_target_and_exits_nonzero():
    port = closed_port()
    started = time.monotonic()
    proc = subprocess.run([LOADGEN, f"--target=127.0.0.1:{port}", "--mode=echo",
                           "--workers=5", "--duration=1s", "--connect_timeout=1s"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert f"cannot connect to 127.0.0.1:{port}" in proc.stderr, proc.stderr
    assert time.monotonic() - started < 30


def test_echo_barrier_bench_releases_100_parked_calls():
    with running_server(ECHO_SERVER) as (port, _):
        result = run_json([BARRIER_BENCH, f"--target=127.0.0.1:{port}", "--mode=echo",
                           "--workers=100", "--rounds=3", "--json"])
    assert result["mode"] == "echo"
    assert [r["round"] for r in result["rounds"]] == [0, 1, 2]
    for r in result["rounds"]:
        assert 0 < r["first_response_ms"] <= r["release_ms"], result


def test_coordinator_asp_load_has_throughput_and_no_errors():
    with running_server(coordinator(), metrics=True) as (port, _):
        result = run_json([LOADGEN, f"--target=127.0.0.1:{port}", "--mode=coordinator",
                           "--workers=50", "--duration=1s", "--policy=asp",
                           "--job=smoke-asp", "--json"])
    assert result["mode"] == "coordinator"
    assert_clean_load(result)
    assert result["leave_errors"] == 0, result


def test_coordinator_load_reports_the_server_cpu_per_report():
    with running_server(coordinator(), metrics=True) as (port, pid):
        result = run_json([LOADGEN, f"--target=127.0.0.1:{port}", "--mode=coordinator",
                           "--workers=50", "--duration=2s", "--policy=ebsp:R=4",
                           "--job=smoke-cpu", f"--server_pid={pid}", "--json"])
        assert_clean_load(result)
        # Answering thousands of reports takes the server some CPU (ticks are
        # 10 ms), and never more than the measured phase on every core.
        assert result["server_cpu_seconds"] > 0, result
        assert result["server_cpu_seconds"] <= result["measured_seconds"] * os.cpu_count() + 0.1
        assert result["server_cpu_us_per_report"] == pytest.approx(
            1e6 * result["server_cpu_seconds"] / result["reports_ok"], rel=1e-2)
        # Without --server_pid there is no figure.
        plain = run_json([LOADGEN, f"--target=127.0.0.1:{port}", "--mode=coordinator",
                          "--workers=5", "--duration=0.2s", "--job=smoke-cpu-2", "--json"])
    assert plain["server_cpu_seconds"] is None and plain["server_cpu_us_per_report"] is None


def test_loadgen_with_a_server_pid_that_does_not_exist_fails_naming_it():
    with running_server(coordinator(), metrics=True) as (port, _):
        proc = subprocess.run([LOADGEN, f"--target=127.0.0.1:{port}", "--mode=coordinator",
                               "--workers=2", "--duration=0.2s", "--server_pid=999999999"],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "999999999" in proc.stderr, proc.stderr


def test_coordinator_bsp_load_goes_through_barriers_without_errors():
    with running_server(coordinator(), metrics=True) as (port, _):
        result = run_json([LOADGEN, f"--target=127.0.0.1:{port}", "--mode=coordinator",
                           "--workers=20", "--duration=1s", "--policy=bsp",
                           "--job=smoke-bsp", "--json"])
    assert_clean_load(result)
    # Every BSP report says SYNC_NOW, so workers keep meeting at barriers.
    assert result["blocking_ok"] > 0, result


def test_coordinator_registration_only_run_reports_nothing_and_leaves():
    with running_server(coordinator(), metrics=True) as (port, _):
        result = run_json([LOADGEN, f"--target=127.0.0.1:{port}", "--mode=coordinator",
                           "--workers=30", "--duration=0s", "--job=smoke-register", "--json"])
    assert result["reports_ok"] == 0, result
    assert result["drained"] == 0, result
    assert result["errors_total"] == 0, result
    assert result["leave_errors"] == 0, result


def test_coordinator_refusing_registration_fails_the_run_with_the_code():
    with running_server(coordinator(), ["--max_workers_per_job=5"], metrics=True) as (port, _):
        proc = subprocess.run([LOADGEN, f"--target=127.0.0.1:{port}", "--mode=coordinator",
                               "--workers=8", "--duration=1s", "--job=smoke-full"],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc
    assert "RESOURCE_EXHAUSTED" in proc.stderr, proc.stderr
    assert "in job smoke-full" in proc.stderr, proc.stderr


def test_barrier_bench_releases_200_waiting_workers():
    with running_server(coordinator(), metrics=True) as (port, _):
        result = run_json([BARRIER_BENCH, f"--target=127.0.0.1:{port}", "--workers=200",
                           "--rounds=2", "--job=smoke-barrier", "--json"])
    assert result["workers"] == 200
    assert [r["round"] for r in result["rounds"]] == [
        result["rounds"][0]["round"], result["rounds"][0]["round"] + 1]
    for r in result["rounds"]:
        assert 0 < r["first_response_ms"] <= r["release_ms"], result
    assert 0 < result["median_release_ms"] <= result["max_release_ms"], result


def test_coordinator_churn_leaves_rejoins_and_evicts_only_the_silent():
    # Lease 2 s: silent workers are evicted within seconds; the others
    # heartbeat while a barrier waits for that.
    with ServerProcess(coordinator(), ["--heartbeat_timeout=2s"], metrics=True) as server:
        result = run_json([LOADGEN, f"--target={server.target}", "--mode=coordinator",
                           "--workers=200", "--duration=8s", "--policy=ebsp:R=4",
                           "--churn_interval=1s", "--churn_workers=4", "--lease=2s",
                           "--job=smoke-churn", "--json"])
        churn = result["churn"]
        # The last silent workers are evicted within a lease plus a tick.
        def evictions():
            text = urllib.request.urlopen(
                f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10).read().decode()
            return sum(float(v) for v in re.findall(
                r'^ebsp_evictions_total\{[^}]*training_job="smoke-churn"[^}]*\} (\S+)$', text,
                re.M))
        wait_until(lambda: evictions() == churn["silenced"] or None, 10,
                   f"{churn['silenced']} evictions", poll_seconds=0.2)
    assert result["errors_total"] == 0, result
    assert result["leave_errors"] == 0 and result["workers_retired"] == 0, result
    assert churn["events"] >= 4, result
    assert churn["leaves"] > 0 and churn["silenced"] > 0, result
    # Left workers come back at the next event, silent ones after two leases.
    assert churn["rejoins"] > churn["leaves"] // 2, result
    assert result["blocking_ok"] > 0 and churn["heartbeats_ok"] > 0, result
