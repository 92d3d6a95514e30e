"""deploy/k8s renders with `kubectl kustomize`, and the rendered objects hold
what the deploy guide promises: gRPC health probes on the port the
coordinator's flags listen on, hardened pods, a Service and ServiceMonitor on
the right ports, a PDB and NetworkPolicy that select the coordinator, and an
example training job pointed at the Service."""
import subprocess

import pytest

import deploy_testlib

K8S = deploy_testlib.K8S_DIR


def by_kind(objects, kind):
    found = [o for o in objects if o["kind"] == kind]
    assert found, f"no {kind} rendered"
    return found


def one(objects, kind):
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def flags_of(objects):
    return deploy_testlib.parse_flags(deploy_testlib.coordinator_flags_text(objects))


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def base():
    return deploy_testlib.kustomize(K8S / "base")


@pytest.fixture(scope="module")
def overlay():
    return deploy_testlib.kustomize(K8S / "overlays" / "example-job")


@pytest.fixture(scope="module")
def monitoring():
    return deploy_testlib.kustomize(K8S / "monitoring")


def coordinator_container(objects):
    deployment = one(objects, "Deployment")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return deployment, containers[0]


def test_base_renders_the_promised_kinds(base):
    kinds = sorted(o["kind"] for o in base)
    assert kinds == sorted(["ConfigMap", "Deployment", "NetworkPolicy",
                            "PersistentVolumeClaim", "PodDisruptionBudget", "Service",
                            "ServiceAccount"])


def test_state_dir_is_on_the_claimed_volume(base):
    # Jobs survive a pod restart only if --state_dir is a mounted volume
    # backed by the PersistentVolumeClaim (docs/restart.md).
    flags = flags_of(base)
    state_dir = flags["state_dir"]
    claim = one(base, "PersistentVolumeClaim")["metadata"]["name"]
    pod = one(base, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    assert state_dir in mounts, f"--state_dir={state_dir} is not a mount point"
    volume = volumes[mounts[state_dir]]
    assert volume["persistentVolumeClaim"]["claimName"] == claim


@pytest.fixture(scope="module")
def ha():
    return deploy_testlib.kustomize(K8S / "overlays" / "ha")


def test_ha_overlay_keeps_jobs_in_etcd_not_on_a_volume(ha):
    # Two pods on two nodes cannot share a ReadWriteOnce claim, and the
    # coordinator refuses --state_dir beside --ha_etcd_endpoints: the overlay
    # drops the claim and the mount, and its last --state_dir= is empty.
    assert not [o for o in ha if o["kind"] == "PersistentVolumeClaim"]
    deployment, container = coordinator_container(ha)
    pod = deployment["spec"]["template"]["spec"]
    assert "state" not in {v["name"] for v in pod["volumes"]}
    assert "/var/lib/ebsp" not in {m["mountPath"] for m in container["volumeMounts"]}
    state_args = [a for a in container["args"] if a.startswith("--state_dir")]
    assert state_args == ["--state_dir="]
    flagfiles = [i for i, a in enumerate(container["args"]) if a.startswith("--flagfile=")]
    assert container["args"].index("--state_dir=") > max(flagfiles)


def test_ha_overlay_rolls_two_spread_replicas_without_downtime(ha):
    deployment, _ = coordinator_container(ha)
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    anti = spec["template"]["spec"]["affinity"]["podAntiAffinity"]
    terms = anti["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms[0]["topologyKey"] == "kubernetes.io/hostname"
    assert one(ha, "PodDisruptionBudget")


def test_container_ports_match_the_flag_addresses(base):
    flags = flags_of(base)
    _, container = coordinator_container(base)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": port_of(flags["listen_address"]),
                     "metrics": port_of(flags["metrics_address"])}


def test_container_reads_the_configmap_flags(base):
    deployment, container = coordinator_container(base)
    configmap = one(base, "ConfigMap")["metadata"]["name"]
    flagfile = [a for a in container["args"] if a.startswith("--flagfile=")]
    assert len(flagfile) == 1, container["args"]
    path = flagfile[0].split("=", 1)[1]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    matching = [name for name, v in volumes.items()
                if v.get("configMap", {}).get("name") == configmap]
    assert matching, "no volume mounts the flags ConfigMap"
    assert path == f"{mounts[matching[0]]}/coordinator.flags"


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_probes_use_the_grpc_health_service_on_the_grpc_port(base, probe):
    flags = flags_of(base)
    _, container = coordinator_container(base)
    spec = container[probe]
    assert set(spec) & {"grpc", "httpGet", "tcpSocket", "exec"} == {"grpc"}, spec
    assert spec["grpc"]["port"] == port_of(flags["listen_address"])
    # The coordinator serves the overall health status, service "".
    assert spec["grpc"].get("service", "") == ""


def test_pod_is_hardened(base):
    deployment, container = coordinator_container(base)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "add" not in security["capabilities"]
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]


def test_single_replica_replaced_not_rolled(base):
    deployment = one(base, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_service_exposes_grpc_and_metrics_and_selects_the_pod(base):
    flags = flags_of(base)
    deployment, container = coordinator_container(base)
    service = one(base, "Service")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert set(ports) == {"grpc", "metrics"}
    for name, port in ports.items():
        assert port["targetPort"] in (name, container_ports[name])
    assert ports["grpc"]["port"] == port_of(flags["listen_address"])
    assert ports["metrics"]["port"] == port_of(flags["metrics_address"])


def test_pdb_and_networkpolicy_select_the_coordinator_pod(base):
    deployment = one(base, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    pdb = one(base, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert ("maxUnavailable" in pdb["spec"]) != ("minAvailable" in pdb["spec"])
    policy = one(base, "NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    allowed_ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert allowed_ports == {"grpc", "metrics"}


def test_servicemonitor_scrapes_the_metrics_port_as_job_ebsp_coordinator(base, monitoring):
    service = one(base, "Service")
    monitor = one(monitoring, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    endpoints = monitor["spec"]["endpoints"]
    assert [e["port"] for e in endpoints] == ["metrics"]
    # The coordinator's labels (training_job, ...) never collide with the
    # target labels, so the scrape job must stay Prometheus' own.
    assert endpoints[0].get("honorLabels", False) is False
    # The alerts look for up{job="ebsp-coordinator"}.
    job_label = monitor["spec"]["jobLabel"]
    assert service["metadata"]["labels"][job_label] == "ebsp-coordinator"


def test_prometheusrule_carries_the_rules_file(monitoring):
    rule = one(monitoring, "PrometheusRule")
    assert rule["spec"]["groups"] == deploy_testlib.load_rules()["groups"]


def test_overlay_puts_everything_in_one_namespace(overlay):
    namespace = one(overlay, "Namespace")["metadata"]["name"]
    for obj in overlay:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == namespace, obj["metadata"]["name"]


def test_overlay_workers_point_at_the_coordinator_service(overlay):
    service = one(overlay, "Service")
    grpc_port = {p["name"]: p["port"] for p in service["spec"]["ports"]}["grpc"]
    job = one(overlay, "Job")
    pod = job["spec"]["template"]
    containers = pod["spec"]["containers"]
    for container in containers:
        env = {e["name"]: e.get("value") for e in container["env"]}
        host, _, port = env["EBSP_COORDINATOR"].rpartition(":")
        assert host.split(".")[0] == service["metadata"]["name"], env["EBSP_COORDINATOR"]
        if "." in host:
            assert host.split(".")[1] == service["metadata"]["namespace"]
        assert int(port) == grpc_port
        assert env.get("EBSP_JOB"), "workers need a job name"
    # The coordinator's NetworkPolicy admits the workers.
    policy = one(overlay, "NetworkPolicy")
    grpc_rule = [r for r in policy["spec"]["ingress"]
                 if any(p["port"] == "grpc" for p in r["ports"])][0]
    selectors = [f["podSelector"]["matchLabels"] for f in grpc_rule["from"] if "podSelector" in f]
    assert any(s.items() <= pod["metadata"]["labels"].items() for s in selectors)


def test_yamllint_passes_on_deploy():
    result = subprocess.run(
        ["yamllint", "--strict", "-c", str(deploy_testlib.DEPLOY_DIR / ".yamllint"),
         str(deploy_testlib.DEPLOY_DIR)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
