"""A real Prometheus server (Debian's /usr/bin/prometheus) on 127.0.0.1 for
tests: scrapes given targets every second with our recording rules loaded,
and answers instant queries through its HTTP API."""
import contextlib
import json
import math
import os
import pathlib
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Iterator, List, Optional, Sequence, TypeVar

import yaml

import deploy_testlib

HTTP_TIMEOUT_S = 5.0
# The scrape and rule evaluation interval of prometheus() below.
INTERVAL_S = 1.0

T = TypeVar("T")


class Prometheus:
    def __init__(self, port: int, process: subprocess.Popen, log_path: pathlib.Path):
        self.port = port
        self.process = process
        self.log_path = log_path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, **params) -> dict:
        query = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.url}{path}?{query}",
                                    timeout=HTTP_TIMEOUT_S) as response:
            body = json.load(response)
        assert body.get("status") == "success", body
        return body["data"]

    def query(self, expr: str) -> List[dict]:
        """Instant query at the current time; the result vector."""
        data = self.get("/api/v1/query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"prometheus exited with {self.process.returncode}:\n{self.log()}")
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=HTTP_TIMEOUT_S) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def still_without_data(self, items: Sequence[T], expr_of: Callable[[T], str],
                           timeout_s: float) -> List[T]:
        """Asks for each item's expression once an interval until one pass sees
        data for all of them, or `timeout_s` passes; the items the last pass
        found without data (empty: all have data)."""
        deadline = time.monotonic() + timeout_s
        while True:
            empty = [item for item in items if not has_data(self.query(expr_of(item)))]
            if not empty or time.monotonic() >= deadline:
                return empty
            time.sleep(INTERVAL_S)  # Nothing changes before the next scrape/evaluation.


def has_data(result: List[dict]) -> bool:
    """True if some sample is a number (Grafana draws nothing for NaN)."""
    for sample in result:
        value = float(sample["value"][1])
        if not math.isnan(value):
            return True
    return False


@contextlib.contextmanager
def prometheus(scrape_targets: List[str], rule_files: List[pathlib.Path],
               job_name: str = "ebsp-coordinator",
               binary: Optional[str] = None) -> Iterator[Prometheus]:
    """Runs Prometheus scraping `scrape_targets` (host:port) every second."""
    binary = binary or os.environ.get("EBSP_PROMETHEUS", "/usr/bin/prometheus")
    with tempfile.TemporaryDirectory(prefix="ebsp-prometheus-") as tmp:
        tmpdir = pathlib.Path(tmp)
        interval = f"{INTERVAL_S:g}s"
        config = {
            "global": {"scrape_interval": interval, "scrape_timeout": interval,
                       "evaluation_interval": interval},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [{
                # Default honor_labels (false), as with the ServiceMonitor:
                # every series gets job=<job_name> and instance=<target>.
                "job_name": job_name,
                "static_configs": [{"targets": scrape_targets}],
            }],
        }
        config_path = tmpdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        log_path = tmpdir / "prometheus.log"
        # No way to ask Prometheus for port 0 and read it back: take a free
        # port and retry on the rare race with another process.
        for _ in range(3):
            port = deploy_testlib.free_tcp_port()
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    [binary, f"--config.file={config_path}",
                     f"--storage.tsdb.path={tmpdir / 'data'}",
                     f"--web.listen-address=127.0.0.1:{port}",
                     "--log.level=warn"],
                    stdout=log, stderr=subprocess.STDOUT)
            server = Prometheus(port, process, log_path)
            try:
                deploy_testlib.wait_until(server.ready, 30.0, "prometheus /-/ready", 0.1)
                break
            except AssertionError:
                deploy_testlib.stop_process(process)
                if "address already in use" not in server.log():
                    raise
        else:
            raise AssertionError("prometheus found no free port in 3 tries")
        try:
            yield server
        finally:
            deploy_testlib.stop_process(process)
