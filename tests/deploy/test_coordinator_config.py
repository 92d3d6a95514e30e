"""What the image and the manifests assume of the real ebsp-coordinator
binary: it accepts the ConfigMap's flag file (and rejects a bad one), it
serves the gRPC health service the Kubernetes probes call, the image's
HEALTHCHECK script sees it up (and sees a dead port down), the Dockerfile's
default flags exist, and SIGTERM stops it promptly."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile

import pytest

import deploy_testlib

sys.path.insert(0, os.environ.get("EBSP_PYTHON_GEN_DIR", ""))
import grpc  # noqa: E402
from elasticbsp.v1 import coordinator_pb2 as pb  # noqa: E402
from elasticbsp.v1 import coordinator_pb2_grpc as pb_grpc  # noqa: E402

HEALTHCHECK = deploy_testlib.DEPLOY_DIR / "docker" / "healthcheck.sh"
# grpc.health.v1.HealthCheckResponse{status: SERVING}: field 1, varint 1.
HEALTH_SERVING = b"\x08\x01"


@pytest.fixture(scope="module")
def configmap_flags_text() -> str:
    return deploy_testlib.coordinator_flags_text(
        deploy_testlib.kustomize(deploy_testlib.K8S_DIR / "base"))


@pytest.fixture(scope="module")
def configmap_flags(configmap_flags_text):
    return deploy_testlib.parse_flags(configmap_flags_text)


@pytest.fixture(scope="module")
def flagfile(configmap_flags_text):
    with tempfile.TemporaryDirectory(prefix="ebsp-flags-") as tmp:
        path = pathlib.Path(tmp) / "coordinator.flags"
        path.write_text(configmap_flags_text)
        yield path


@pytest.fixture(scope="module")
def running(flagfile):
    # The ConfigMap's flags, with the addresses moved to 127.0.0.1:0 and the
    # state directory (a volume in the pod) to a temporary one.
    with tempfile.TemporaryDirectory(prefix="ebsp-state-") as state:
        with deploy_testlib.coordinator([f"--flagfile={flagfile}",
                                         f"--state_dir={state}"]) as coordinator:
            yield coordinator


def test_coordinator_applies_the_configmap_flag_file(running, configmap_flags):
    with grpc.insecure_channel(running.target) as channel:
        stub = pb_grpc.CoordinatorStub(channel)
        reply = stub.Register(pb.RegisterRequest(job="config-check", worker_name="w0"),
                              timeout=5)
        stub.Leave(pb.LeaveRequest(job="config-check", worker_id=reply.worker_id), timeout=5)
    assert reply.heartbeat_timeout_seconds == pytest.approx(
        float(configmap_flags["heartbeat_timeout"].rstrip("s")))
    assert reply.barrier_deadline_seconds == pytest.approx(
        float(configmap_flags["barrier_deadline"].rstrip("s")))
    default_policy = configmap_flags["default_policy"]  # e.g. ebsp:R=15
    assert default_policy.startswith("ebsp:R=")
    assert reply.policy.kind == pb.POLICY_KIND_ELASTIC_BSP
    assert reply.policy.lookahead == int(default_policy.split("R=")[1].split(",")[0])


def test_coordinator_rejects_an_unknown_flag_in_the_flag_file(flagfile, tmp_path):
    bad = tmp_path / "bad.flags"
    bad.write_text(flagfile.read_text() + "--no_such_flag_in_ebsp=1\n")
    binary = deploy_testlib.required_env_path("EBSP_COORDINATOR_BIN")
    result = subprocess.run(
        [str(binary), f"--flagfile={bad}", "--listen_address=127.0.0.1:0",
         "--metrics_address=127.0.0.1:0"],
        capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert "no_such_flag_in_ebsp" in result.stderr


def test_ha_refuses_a_state_dir_beside_etcd(flagfile):
    # With HA the jobs live in etcd: a --state_dir as well would be a second
    # copy on one replica's volume. The refusal comes before any etcd call.
    binary = deploy_testlib.required_env_path("EBSP_COORDINATOR_BIN")
    result = subprocess.run(
        [str(binary), f"--flagfile={flagfile}", "--listen_address=127.0.0.1:0",
         "--metrics_address=127.0.0.1:0", "--ha_etcd_endpoints=127.0.0.1:9"],
        capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert "--state_dir and --ha_etcd_endpoints" in result.stderr


def test_grpc_health_service_reports_serving(running):
    with grpc.insecure_channel(running.target) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=lambda raw: raw,
                                    response_deserializer=lambda raw: raw)
        assert check(b"", timeout=5) == HEALTH_SERVING


def run_healthcheck(port: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, EBSP_METRICS_PORT=str(port), EBSP_METRICS_HOST="127.0.0.1")
    return subprocess.run([str(HEALTHCHECK)], env=env, capture_output=True, text=True,
                          timeout=15)


def test_image_healthcheck_passes_on_a_running_coordinator(running):
    result = run_healthcheck(running.metrics_port)
    assert result.returncode == 0, result.stderr


def test_image_healthcheck_fails_when_nothing_listens():
    result = run_healthcheck(deploy_testlib.free_tcp_port())
    assert result.returncode != 0


def test_image_healthcheck_fails_on_a_server_that_is_not_the_coordinator(running):
    # The gRPC port answers TCP but is no /metrics endpoint.
    result = run_healthcheck(running.grpc_port)
    assert result.returncode != 0


def test_dockerfile_default_flags_are_coordinator_flags():
    stages = deploy_testlib.image_stages()
    cmd = [i for i in stages[-1].instructions if i.keyword == "CMD"]
    assert cmd, "the runtime stage has no CMD"
    names = [arg.lstrip("-").split("=")[0] for arg in json.loads(cmd[-1].args)]
    assert {"listen_address", "metrics_address"} <= set(names)
    binary = deploy_testlib.required_env_path("EBSP_COORDINATOR_BIN")
    help_text = subprocess.run([str(binary), "--helpfull"], capture_output=True,
                               text=True, timeout=20)
    output = help_text.stdout + help_text.stderr
    for name in names:
        assert f"-{name} " in output or f"-{name} (" in output, f"--{name} unknown to the binary"
    expose = [i.args.split() for i in stages[-1].instructions if i.keyword == "EXPOSE"]
    ports = {int(arg.split(":")[-1]) for arg in json.loads(cmd[-1].args) if "address=" in arg}
    assert ports == {int(p) for line in expose for p in line}


def test_sigterm_stops_the_coordinator_within_the_grace_period(flagfile, tmp_path):
    with deploy_testlib.coordinator([f"--flagfile={flagfile}",
                                     f"--state_dir={tmp_path}"]) as coordinator:
        coordinator.process.send_signal(signal.SIGTERM)
        # The Deployment gives 30 s; a healthy shutdown takes far less.
        assert coordinator.process.wait(timeout=10) == 0, coordinator.log()
