"""The ebsp-sim command line: output formats, CSV export/replay, errors.

Run by ctest with EBSP_SIM set to the binary; everything is virtual time,
so each call takes well under a second.
"""
import csv
import json
import os
import subprocess

import pytest

SIM = os.environ.get("EBSP_SIM", "")
REQUIRED_KEYS = {
    "trace", "policy", "workers", "iterations_total", "throughput_iters_per_s",
    "idle_fraction", "mean_wait_s", "max_staleness", "throughput_vs_asp",
}


def run(*args, check=True):
    if not SIM:
        pytest.fail("EBSP_SIM is not set to the ebsp-sim binary")
    result = subprocess.run([SIM, "--progress=false", *args], capture_output=True,
                            text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def json_rows(*args):
    return [json.loads(line) for line in run("--json", *args).stdout.splitlines()]


def test_json_has_one_object_per_policy_with_every_required_key():
    rows = json_rows("--trace=static", "--workers=6", "--duration=20s",
                     "--policies=bsp,asp,ebsp:R=4")
    assert [r["policy"] for r in rows] == [
        "bsp", "asp", "ebsp:R=4", "ebsp-oracle:R=4,objective=idle_rate"]
    for row in rows:
        assert REQUIRED_KEYS <= row.keys()
        assert row["trace"] == "static" and row["workers"] == 6
    by_policy = {r["policy"]: r for r in rows}
    assert by_policy["asp"]["throughput_vs_asp"] == 1
    assert by_policy["bsp"]["throughput_vs_asp"] < 1
    assert by_policy["bsp"]["max_staleness"] == 1


def test_ratio_to_asp_is_reported_even_without_an_asp_row():
    rows = json_rows("--trace=static", "--workers=3", "--duration=20s",
                     "--policies=bsp", "--oracle=false")
    assert len(rows) == 1
    # 100/130/200 ms workers: BSP runs 3 per 200 ms, ASP 10 + 7.69 + 5 per s.
    assert rows[0]["throughput_vs_asp"] == pytest.approx(15 / (10 + 1 / 0.13 + 5),
                                                         rel=0.01)


def test_table_has_a_row_per_policy_for_every_trace():
    out = run("--trace=static,noise", "--workers=4", "--duration=10s",
              "--policies=bsp,asp", "--oracle=false").stdout
    assert out.count("trace static, 4 workers") == 1
    assert out.count("trace noise, 4 workers") == 1
    rows = [line.split()[0] for line in out.splitlines()
            if line.startswith(("bsp ", "asp "))]
    assert rows == ["bsp", "asp", "bsp", "asp"]


def test_rounds_csv_has_a_line_per_round_of_every_run(tmp_path):
    path = tmp_path / "rounds.csv"
    rows = json_rows("--trace=static,noise", "--workers=4", "--duration=10s",
                     "--policies=bsp,asp,ebsp:R=4,objective=total_wait", "--oracle=false",
                     f"--rounds_csv={path}")
    with open(path, newline="") as f:
        lines = list(csv.DictReader(f))
    assert open(path).readline() == (
        "trace,policy,round,began_s,released_s,members,plans,predicted_wait_s,actual_wait_s\n")
    for row in rows:
        mine = [r for r in lines if (r["trace"], r["policy"]) == (row["trace"], row["policy"])]
        assert len(mine) == row["rounds"], row["policy"]
        assert [int(r["round"]) for r in mine] == list(range(len(mine)))
        assert sum(float(r["actual_wait_s"]) for r in mine) == pytest.approx(
            row["round_wait_s_total"], rel=1e-4, abs=1e-5)
        assert sum(float(r["predicted_wait_s"]) for r in mine) == pytest.approx(
            row["round_predicted_wait_s_total"], rel=1e-4, abs=1e-5)
        if row["policy"] == "bsp":  # BSP never plans.
            assert all(r["plans"] == "0" for r in mine)
    assert {r["policy"] for r in lines} == {"bsp", "ebsp:R=4,objective=total_wait"}
    # Once every worker has history, every ElasticBSP round is planned.
    for trace in ("static", "noise"):
        ebsp = [r for r in lines if r["policy"].startswith("ebsp") and r["trace"] == trace]
        assert len(ebsp) > 3
        assert all(int(r["plans"]) >= 1 for r in ebsp[2:]), trace


def test_rounds_csv_that_cannot_be_written_is_an_error(tmp_path):
    result = run("--trace=static", "--workers=2", "--duration=1s", "--policies=bsp",
                 f"--rounds_csv={tmp_path}/missing/dir/rounds.csv", check=False)
    assert result.returncode == 1
    assert "--rounds_csv: cannot write" in result.stderr and "missing/dir" in result.stderr


def test_exported_trace_replays_to_the_same_results(tmp_path):
    csv = tmp_path / "noise.csv"
    common = ["--duration=15s", "--policies=bsp,ssp:s=1,ebsp:R=5"]
    synthetic = json_rows("--trace=noise", "--workers=5", "--seed=9",
                          f"--write_trace_csv={csv}", *common)
    assert csv.read_text().startswith("worker,iteration,seconds\n")
    replayed = json_rows(f"--trace_csv={csv}", *common)
    assert len(replayed) == len(synthetic)
    for a, b in zip(synthetic, replayed):
        assert b["trace"] == str(csv)
        a.pop("trace")
        b.pop("trace")
        assert a == b


def test_bad_csv_fails_naming_file_and_line(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("worker,iteration,seconds\n0,0,0.1\n0,1,soon\n")
    result = run(f"--trace_csv={csv}", check=False)
    assert result.returncode == 1
    assert f"{csv}:3: seconds 'soon'" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--policies=ebsp:R=0"], "ebsp:R=0"),
    (["--trace=bursty"], "unknown trace 'bursty'"),
    (["--write_trace_csv=/tmp/never.csv"], "exactly one trace"),
    (["--trace=static", "--workers=0"], "got 0"),
])
def test_bad_flags_fail_with_a_message(args, message):
    result = run(*args, check=False)
    assert result.returncode == 1
    assert message in result.stderr
