"""The newcomer's path: a fresh virtual environment, `pip install` of the
Python client from the repository, import and train from a directory outside
the repository, with no PYTHONPATH.

The venv sees Debian's grpcio, protobuf and torch (--system-site-packages);
nothing is fetched (pip --no-index --no-build-isolation). The package build
generates the elasticbsp.v1 stubs from protos/ (clients/python/setup.py).
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PACKAGE = os.path.join(REPO, "clients", "python")
DEBIAN_PYTHON = "/usr/bin/python3"


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PIP_NO_INDEX="1", PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def run(cmd, cwd, timeout, env=None):
    proc = subprocess.run(cmd, cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def version():
    with open(os.path.join(REPO, "VERSION")) as f:
        return f.read().strip()


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh venv with the package pip-installed from the repository."""
    root = tmp_path_factory.mktemp("newcomer")
    env_dir = root / "venv"
    run([DEBIAN_PYTHON, "-m", "venv", "--system-site-packages", str(env_dir)], cwd=root,
        timeout=120)
    python = str(env_dir / "bin" / "python")
    run([python, "-m", "pip", "install", "--no-index", "--no-build-isolation", PACKAGE],
        cwd=root, timeout=300)
    workdir = root / "work"
    workdir.mkdir()
    return python, workdir


def test_the_installed_package_imports_outside_the_repository(venv):
    python, workdir = venv
    out = run([python, "-c",
               "import json, ebsp, elasticbsp.v1.coordinator_pb2 as pb;"
               "print(json.dumps({'version': ebsp.__version__, 'ebsp': ebsp.__file__,"
               " 'stubs': pb.__file__, 'client': hasattr(ebsp, 'Client')}))"],
              cwd=workdir, timeout=60)
    info = json.loads(out)
    assert info["version"] == version()
    assert info["client"]
    for module in ("ebsp", "stubs"):
        assert "site-packages" in info[module], info
        assert not info[module].startswith(REPO), f"{module} imported from the repository: {info}"


def test_a_wheel_builds_with_the_generated_stubs_and_the_version(tmp_path):
    run([DEBIAN_PYTHON, "-m", "pip", "wheel", "--no-index", "--no-build-isolation", "--no-deps",
         "-w", str(tmp_path), PACKAGE], cwd=tmp_path, timeout=300)
    wheels = list(tmp_path.glob("ebsp-*.whl"))
    assert [w.name for w in wheels] == [f"ebsp-{version()}-py3-none-any.whl"]
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        assert {"ebsp/__init__.py", "ebsp/client.py", "ebsp/_version.py",
                "elasticbsp/v1/coordinator_pb2.py",
                "elasticbsp/v1/coordinator_pb2_grpc.py"} <= names, sorted(names)
        assert wheel.read("ebsp/_version.py").decode() == f'__version__ = "{version()}"\n'
        metadata = wheel.read(f"ebsp-{version()}.dist-info/METADATA").decode()
        assert "Requires-Dist: grpcio" in metadata and "Requires-Dist: protobuf" in metadata


def test_the_example_trains_from_outside_the_repository(venv):
    python, workdir = venv
    example = workdir / "train_digits.py"
    shutil.copy(os.path.join(REPO, "examples", "train_digits.py"), example)
    summary_path = workdir / "summary.json"
    run([python, str(example), f"--coordinator_binary={os.environ['EBSP_COORDINATOR']}",
         "--policy=ebsp:R=4", "--workers=2", "--target_accuracy=0.9", "--max_seconds=40",
         f"--summary_json={summary_path}"], cwd=workdir, timeout=150)
    summary = json.loads(summary_path.read_text())
    assert summary["test_accuracy"] >= 0.85, summary
    assert summary["coordinator_rounds"] > 0, summary


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
