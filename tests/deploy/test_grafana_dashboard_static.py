"""The Grafana dashboard is importable and consistent with what the
coordinator exports: every query parses (promtool), names only metrics of
docs/metrics.md or our recording rules, filters job-scoped metrics by
$training_job, never uses the scrape job's `job` label for the training job,
and the promised panels are there. test_grafana_dashboard_live.py runs the
same queries against real data."""
import json
import subprocess
import tempfile

import pytest
import yaml

import deploy_testlib


@pytest.fixture(scope="module")
def dashboard():
    return json.loads(deploy_testlib.DASHBOARD.read_text())


@pytest.fixture(scope="module")
def queries(dashboard):
    found = deploy_testlib.dashboard_queries(dashboard)
    assert found, "the dashboard has no queries"
    return found


def test_dashboard_has_datasource_and_training_job_variables(dashboard):
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    training_job = variables["training_job"]
    assert training_job["type"] == "query"
    assert training_job["query"]["query"] == "label_values(ebsp_job_live_workers, training_job)"
    assert training_job["definition"] == training_job["query"]["query"]
    assert dashboard["uid"] and dashboard["title"]


def test_every_panel_has_a_query_on_the_datasource_variable(dashboard):
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in dashboard["panels"]:
        assert panel.get("targets"), f"panel {panel['title']!r} has no query"
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target.get("expr", "").strip(), f"panel {panel['title']!r} has an empty query"


def test_panels_do_not_overlap(dashboard):
    cells = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


def test_queries_name_only_exported_metrics_or_recording_rules(queries):
    known = set(deploy_testlib.documented_metrics()) | set(deploy_testlib.recording_rule_names())
    for query in queries:
        names = deploy_testlib.metric_names(query.expr)
        assert names or "up{" in query.expr, f"{query.panel}: no metric in {query.expr}"
        unknown = [n for n in names if n not in known]
        assert not unknown, f"panel {query.panel!r} uses unknown metrics {unknown}"


def test_job_scoped_queries_filter_by_the_training_job_variable(queries):
    metrics = deploy_testlib.documented_metrics()
    for query in queries:
        scoped = [n for n in deploy_testlib.metric_names(query.expr)
                  if "training_job" in metrics.get(n, []) or n.startswith("training_job:")]
        if scoped:
            assert 'training_job=~"$training_job"' in query.expr, (
                f"panel {query.panel!r} ignores $training_job: {query.expr}")


# `job` is the scrape job's label; its one use is finding the coordinator's
# targets.
SCRAPE_JOB_SELECTOR = 'up{job="ebsp-coordinator"}'


def assert_job_label_only_selects_the_scrape_job(what: str, text: str):
    rest = text.replace(SCRAPE_JOB_SELECTOR, "up")
    assert "job" not in deploy_testlib.label_names(rest), (
        f"{what} uses the scrape job's `job` label (the training job is `training_job`): {text}")
    assert "exported_job" not in text, what


def test_queries_use_job_only_for_the_scrape_job(queries):
    for query in queries:
        assert_job_label_only_selects_the_scrape_job(f"panel {query.panel!r}", query.expr)


def test_rules_use_job_only_for_the_scrape_job():
    for group in deploy_testlib.load_rules()["groups"]:
        for rule in group["rules"]:
            name = rule.get("record") or rule.get("alert")
            assert_job_label_only_selects_the_scrape_job(name, rule["expr"])
            for text in rule.get("annotations", {}).values():
                assert_job_label_only_selects_the_scrape_job(name, text)
            if "record" in rule and rule["record"].startswith("training_job:"):
                assert "by (training_job" in rule["expr"], (
                    f"{name} is named for a training_job aggregation: {rule['expr']}")


def test_rules_name_only_exported_metrics():
    known = set(deploy_testlib.documented_metrics()) | set(deploy_testlib.recording_rule_names())
    for group in deploy_testlib.load_rules()["groups"]:
        for rule in group["rules"]:
            unknown = [n for n in deploy_testlib.metric_names(rule["expr"]) if n not in known]
            assert not unknown, f"{rule.get('record') or rule.get('alert')} uses unknown metrics {unknown}"


def test_every_query_parses(queries):
    # promtool parses PromQL when it checks rules: one recording rule a query.
    rules = [{"record": f"dashboard:query_{i}:check",
              "expr": deploy_testlib.substitute_grafana_variables(q.expr, "j", "15s", "1m")}
             for i, q in enumerate(queries)]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        f.flush()
        result = subprocess.run(["promtool", "check", "rules", f.name],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("what, metric", [
    ("live workers", "ebsp_job_live_workers"),
    ("rounds per second", "ebsp_job_rounds_total"),
    ("idle fraction", "training_job:ebsp_idle_fraction:rate5m"),
    ("targets per worker", "ebsp_worker_target"),
    ("actual wait", "ebsp_round_wait_seconds_total"),
    ("predicted wait", "ebsp_round_predicted_wait_seconds_total"),
    ("evictions", "ebsp_evictions_total"),
    ("RPC rate", "ebsp_rpc_total"),
    ("RPC latency", "ebsp_rpc_latency_seconds"),
    ("slowest workers", "ebsp_straggler_ratio"),
])
def test_promised_panel_is_there(queries, what, metric):
    assert any(metric in deploy_testlib.metric_names(q.expr) for q in queries), what


def test_iteration_time_is_a_heatmap_of_the_histogram(dashboard):
    heatmaps = [p for p in dashboard["panels"] if p["type"] == "heatmap"]
    assert any(t.get("format") == "heatmap" and "ebsp_iteration_seconds_bucket" in t["expr"]
               for p in heatmaps for t in p["targets"])
