"""Shared helpers for the deploy tests: paths, the Dockerfile's structure, the
rendered Kubernetes manifests, and a real ebsp-coordinator process on 127.0.0.1 with its ports read back from
--ready_file.

Paths come from the environment that tests/deploy/CMakeLists.txt sets:
EBSP_REPO_ROOT, EBSP_BUILD_DIR, EBSP_COORDINATOR_BIN, EBSP_PYTHON_GEN_DIR.

The coordinator runs through the shared tests/support/python/ebsp_test_servers,
put on sys.path here so that dockerfile_lint.py also runs on its own.
"""
import os
import pathlib
import re
import shlex
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support" / "python"))
from ebsp_test_servers import ServerProcess, stop_process, wait_until  # noqa: E402,F401 (for the tests)

REPO_ROOT = pathlib.Path(
    os.environ.get("EBSP_REPO_ROOT",
                   pathlib.Path(__file__).resolve().parents[2]))
DEPLOY_DIR = REPO_ROOT / "deploy"
K8S_DIR = DEPLOY_DIR / "k8s"
DOCKERFILE = REPO_ROOT / "Dockerfile"


def required_env_path(name: str) -> pathlib.Path:
    """The path in environment variable `name`; fails the test if unset/missing."""
    value = os.environ.get(name)
    assert value, f"{name} is not set: run this test through ctest"
    path = pathlib.Path(value)
    assert path.exists(), f"{name}={value} does not exist: build it first"
    return path


def image_binaries() -> Dict[str, pathlib.Path]:
    """name -> built path of each binary the image ships (EBSP_IMAGE_BINARIES,
    "name=path,name=path")."""
    value = os.environ.get("EBSP_IMAGE_BINARIES")
    assert value, "EBSP_IMAGE_BINARIES is not set: run this test through ctest"
    binaries = {}
    for item in value.split(","):
        name, _, path = item.partition("=")
        binaries[name] = pathlib.Path(path)
        assert binaries[name].exists(), f"{path} does not exist: build {name} first"
    return binaries


# ---------------------------------------------------------------------------
# Dockerfile structure


@dataclass
class Instruction:
    keyword: str  # Upper case, e.g. "RUN".
    args: str  # Continuation lines joined, comments inside dropped.
    line: int  # 1-based line of the keyword.


@dataclass
class Stage:
    base: str  # Image reference after FROM.
    name: Optional[str]
    instructions: List[Instruction] = field(default_factory=list)


def parse_dockerfile(text: str) -> List[Instruction]:
    """Splits a Dockerfile into instructions (backslash continuations joined)."""
    instructions = []
    pending: List[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # Comment lines inside a continuation are ignored.
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(part for part in pending if part)
        keyword, _, args = joined.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        pending = []
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


def dockerfile_stages(text: str) -> List[Stage]:
    stages: List[Stage] = []
    for instruction in parse_dockerfile(text):
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = None
            if len(words) >= 3 and words[1].upper() == "AS":
                name = words[2]
            stages.append(Stage(base=words[0], name=name))
        elif stages:
            stages[-1].instructions.append(instruction)
    return stages


def image_stages() -> List[Stage]:
    """The stages of the repository's Dockerfile: the build stage first, the
    runtime stage last."""
    stages = dockerfile_stages(DOCKERFILE.read_text())
    assert len(stages) >= 2, "the Dockerfile must be multi-stage"
    return stages


def apt_installed_packages(stage: Stage) -> List[str]:
    """Package names passed to `apt-get install` in the stage's RUN commands."""
    packages = []
    for instruction in stage.instructions:
        if instruction.keyword != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", instruction.args):
            words = shlex.split(command)
            if len(words) >= 2 and words[0] == "apt-get" and "install" in words:
                after = words[words.index("install") + 1:]
                packages += [w for w in after if not w.startswith("-")]
    return packages


# ---------------------------------------------------------------------------
# A real coordinator


def free_tcp_port() -> int:
    """A port free on 127.0.0.1 right now (for programs that cannot take :0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def coordinator(extra_flags: List[str] = (),
                ready_timeout_s: float = 20.0) -> ServerProcess:
    """ebsp-coordinator on 127.0.0.1:0, for a `with` block (stopped with
    SIGTERM at its end); the test's addresses win over extra_flags."""
    return ServerProcess(required_env_path("EBSP_COORDINATOR_BIN"), extra_flags,
                         ready_timeout_s=ready_timeout_s)


# ---------------------------------------------------------------------------
# Kubernetes manifests


def kustomize(directory: pathlib.Path) -> List[dict]:
    """The objects `kubectl kustomize <directory>` renders."""
    import yaml
    out = subprocess.run(["kubectl", "kustomize", str(directory)], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def coordinator_flags_text(objects: List[dict]) -> str:
    """The coordinator's flag file (coordinator.flags) in the one rendered
    ConfigMap."""
    configmaps = [o for o in objects if o["kind"] == "ConfigMap"]
    assert len(configmaps) == 1, f"expected one ConfigMap, got {len(configmaps)}"
    return configmaps[0]["data"]["coordinator.flags"]


def parse_flags(text: str) -> Dict[str, str]:
    """flag name -> value of an Abseil flag file (`--name=value` a line;
    blank lines and `#` comments skipped)."""
    flags = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.lstrip("-").partition("=")
        flags[name] = value
    return flags


# ---------------------------------------------------------------------------
# Grafana dashboard and metric names

DASHBOARD = DEPLOY_DIR / "grafana" / "ebsp-coordinator.json"
RULES = DEPLOY_DIR / "prometheus" / "ebsp-rules.yml"
METRICS_DOC = REPO_ROOT / "docs" / "metrics.md"


@dataclass
class PanelQuery:
    panel: str  # Panel title.
    ref_id: str
    expr: str


def dashboard_queries(dashboard: dict) -> List[PanelQuery]:
    """Every target expression of every panel (rows' nested panels included)."""
    queries = []
    panels = list(dashboard["panels"])
    while panels:
        panel = panels.pop(0)
        panels += panel.get("panels", [])
        for target in panel.get("targets", []):
            queries.append(PanelQuery(panel["title"], target.get("refId", "?"),
                                      target.get("expr", "")))
    return queries


def substitute_grafana_variables(expr: str, training_job: str, interval: str,
                                 rate_interval: str) -> str:
    """What Grafana sends for a panel query, given the template variables."""
    for name, value in (("$__rate_interval", rate_interval),
                        ("${__rate_interval}", rate_interval),
                        ("$__interval", interval), ("${__interval}", interval),
                        ("${training_job}", training_job),
                        ("$training_job", training_job)):
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unsubstituted variable left in {expr}"
    return expr


def documented_metrics() -> Dict[str, List[str]]:
    """metric name -> label names, from the table in docs/metrics.md."""
    metrics = {}
    for line in METRICS_DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`ebsp_\w+`", cells[0]):
            labels = re.findall(r"`(\w+)`", cells[2])
            metrics[cells[0].strip("`")] = labels
    assert metrics, f"no metric table found in {METRICS_DOC}"
    return metrics


def load_rules() -> dict:
    """deploy/prometheus/ebsp-rules.yml, parsed."""
    import yaml
    return yaml.safe_load(RULES.read_text())


def recording_rule_names() -> List[str]:
    return [rule["record"] for group in load_rules()["groups"]
            for rule in group["rules"] if "record" in rule]


METRIC_NAME = re.compile(r"(?<![\w:$\"'])([a-z_]+:[a-z0-9_:]+|ebsp_[a-z0-9_]+)")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


LABEL_MATCHER = re.compile(r"(?<![\w.])([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*[\"']")
LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
TEMPLATE_LABEL = re.compile(r"\$labels\.(\w+)")


def label_names(expr: str) -> List[str]:
    """Label names an expression (or alert template) matches on, groups by,
    or prints: `{l="v"}`, `by (l, m)`, `on (l)`, `$labels.l`."""
    names = LABEL_MATCHER.findall(expr) + TEMPLATE_LABEL.findall(expr)
    for group in LABEL_LIST.findall(expr):
        names += [n.strip() for n in group.split(",") if n.strip()]
    return names


def metric_names(expr: str) -> List[str]:
    """Metric and recording-rule names an expression selects, histogram
    series mapped back to their family (ebsp_x_bucket -> ebsp_x)."""
    names = []
    for name in METRIC_NAME.findall(expr):
        if ":" not in name:
            for suffix in HISTOGRAM_SUFFIXES:
                if name.endswith(suffix):
                    name = name[: -len(suffix)]
        names.append(name)
    return names
