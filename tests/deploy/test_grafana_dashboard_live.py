"""Every panel of the Grafana dashboard shows data for a real job: a real
ebsp-coordinator on 127.0.0.1:0 runs a small ElasticBSP job (worker threads
of load_driver.py, one of which flaps), a real Prometheus scrapes it every
second with our recording rules, and each panel query (with $training_job,
$__interval and $__rate_interval replaced as Grafana would) must return a
number through /api/v1/query while the job runs. Bounded: the load stops
once the checks are done, after 60 s at most."""
import json

import grpc
import pytest

import deploy_testlib
import load_driver
import prometheus_runner

JOB = "dashboard-live"
# The job runs until the checks are done; this only bounds it.
MAX_LOAD_SECONDS = 60.0
# What Grafana substitutes for a short time range with a 1 s scrape interval
# ($__rate_interval is at least four scrape intervals).
INTERVAL = "5s"
RATE_INTERVAL = "10s"
QUERY_DEADLINE_S = 45.0


@pytest.fixture(scope="module")
def stack():
    # Short lease so the driver's flapping worker is evicted within seconds.
    flags = ["--heartbeat_timeout=2s", "--tick_interval=100ms",
             "--default_policy=ebsp:R=4"]
    with deploy_testlib.coordinator(flags) as coordinator:
        with prometheus_runner.prometheus(
                [f"127.0.0.1:{coordinator.metrics_port}"],
                [deploy_testlib.RULES]) as prom:
            driver = load_driver.LoadDriver(coordinator.target, JOB, workers=4,
                                            duration_s=MAX_LOAD_SECONDS)
            driver.start()
            try:
                yield coordinator, prom, driver
            finally:
                print(f"driver: {driver.stop()}")


def panel_queries():
    dashboard = json.loads(deploy_testlib.DASHBOARD.read_text())
    return [(q, deploy_testlib.substitute_grafana_variables(q.expr, JOB, INTERVAL, RATE_INTERVAL))
            for q in deploy_testlib.dashboard_queries(dashboard)]


def test_every_panel_query_returns_data(stack):
    coordinator, prom, driver = stack
    deploy_testlib.wait_until(
        lambda: prometheus_runner.has_data(prom.query('up{job="ebsp-coordinator"} == 1')),
        30.0, "Prometheus to scrape the coordinator", 0.5)
    # The training_job template variable offers our job.
    deploy_testlib.wait_until(
        lambda: JOB in prom.get("/api/v1/label/training_job/values",
                                **{"match[]": "ebsp_job_live_workers"}),
        30.0, f"job {JOB} in label_values(ebsp_job_live_workers, training_job)", 0.5)

    # Metrics appear as the job runs (evictions only after the flap), so ask
    # again each second until one pass sees data everywhere, or time is up.
    empty = prom.still_without_data(panel_queries(), lambda query: query[1],
                                    QUERY_DEADLINE_S)
    assert not empty, (
        "panels without data:\n" + "\n".join(f"  {q.panel} [{q.ref_id}]: {e}" for q, e in empty)
        + f"\ndriver: {driver.stats}\ncoordinator log:\n{coordinator.log()[-3000:]}")


def test_every_recording_rule_yields_data(stack):
    coordinator, prom, driver = stack
    # The error rules need one error: a policy out of range is INVALID_ARGUMENT.
    with grpc.insecure_channel(coordinator.target) as channel:
        stub = load_driver.pb_grpc.CoordinatorStub(channel)
        bad = load_driver.pb.JobSpec(job="bad-policy", policy=load_driver.pb.Policy(
            kind=load_driver.pb.POLICY_KIND_ELASTIC_BSP, lookahead=100000))
        with pytest.raises(grpc.RpcError) as error:
            stub.CreateJob(load_driver.pb.CreateJobRequest(spec=bad), timeout=5)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    empty = prom.still_without_data(deploy_testlib.recording_rule_names(),
                                    lambda record: record, QUERY_DEADLINE_S)
    assert not empty, f"recording rules without data: {empty}\ndriver: {driver.stats}"


def test_the_job_really_ran_and_flapped(stack):
    coordinator, prom, driver = stack
    deploy_testlib.wait_until(
        lambda: prometheus_runner.has_data(
            prom.query(f'ebsp_evictions_total{{training_job="{JOB}"}} >= 1')),
        30.0, "the flapping worker's eviction in Prometheus", 0.5)
    rounds = prom.query(f'ebsp_job_rounds_total{{training_job="{JOB}"}}')
    assert rounds and float(rounds[0]["value"][1]) >= 3, rounds
    stats = driver.stop()
    assert stats.errors == [], stats.errors
    assert stats.barriers >= 10, stats
    # Four first registrations and the flapping worker's second one: the
    # others, heartbeating, kept their leases while it was silent.
    assert stats.flaps == 1 and stats.registrations == 5, stats


def test_series_keep_the_scrape_job_beside_the_training_job(stack):
    coordinator, prom, driver = stack
    # Scraped with Prometheus' default honor_labels: false, nothing of the
    # coordinator's is renamed to exported_*, and each series carries both the
    # scrape job and the training job.
    live = deploy_testlib.wait_until(
        lambda: prom.query(f'ebsp_job_live_workers{{training_job="{JOB}"}}'),
        30.0, "the job's live-workers series in Prometheus", 0.5)
    assert [s["metric"].get("job") for s in live] == ["ebsp-coordinator"], live
    assert [s["metric"]["instance"] for s in live] == [
        f"127.0.0.1:{coordinator.metrics_port}"], live
    label_names = prom.get("/api/v1/labels", **{"match[]": '{__name__=~"ebsp_.+"}'})
    assert "training_job" in label_names
    assert not [n for n in label_names if n.startswith("exported_")], label_names
