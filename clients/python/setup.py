"""Builds the ebsp package: generates the elasticbsp.v1 stubs from the
repository's proto into the build tree, next to the ebsp package.

Metadata lives in pyproject.toml; this file only adds what it cannot say:
the version (read from the repository's VERSION file) and the code
generation step. The generator is, in order:
  1. protoc + grpc_python_plugin on PATH (Debian: protobuf-compiler,
     protobuf-compiler-grpc; the same versions as python3-protobuf/-grpcio),
  2. grpc_tools.protoc (pip's grpcio-tools) when protoc is not installed.
EBSP_PROTO_DIR overrides where the .proto files are (default ../../protos).
"""

import os
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
PROTO_DIR = os.environ.get("EBSP_PROTO_DIR", os.path.join(REPO, "protos"))
PROTOS = ["elasticbsp/v1/coordinator.proto"]


def read_version():
    with open(os.path.join(REPO, "VERSION")) as f:
        return f.read().strip()


def protoc_command(out_dir):
    protoc = shutil.which("protoc")
    plugin = shutil.which("grpc_python_plugin")
    if protoc and plugin:
        return [protoc, f"--plugin=protoc-gen-grpc_python={plugin}", f"-I{PROTO_DIR}",
                f"--python_out={out_dir}", f"--grpc_python_out={out_dir}"]
    try:
        import grpc_tools  # noqa: F401
    except ImportError:
        sys.exit("ebsp: building the package needs protoc and grpc_python_plugin on PATH "
                 "(Debian: apt-get install protobuf-compiler protobuf-compiler-grpc) or the "
                 "grpcio-tools Python package")
    return [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}",
            f"--python_out={out_dir}", f"--grpc_python_out={out_dir}"]


class BuildPyWithStubs(build_py):
    """build_py, then protoc over PROTOS into the build directory."""

    def run(self):
        super().run()
        for proto in PROTOS:
            if not os.path.exists(os.path.join(PROTO_DIR, proto)):
                sys.exit(f"ebsp: {proto} not found under {PROTO_DIR} (set EBSP_PROTO_DIR)")
        subprocess.run(protoc_command(self.build_lib) + PROTOS, check=True)
        # Regular packages, so the stubs import the same with or without a
        # namespace-package-aware importer.
        for pkg in ("elasticbsp", os.path.join("elasticbsp", "v1")):
            open(os.path.join(self.build_lib, pkg, "__init__.py"), "a").close()
        with open(os.path.join(self.build_lib, "ebsp", "_version.py"), "w") as f:
            f.write(f'__version__ = "{read_version()}"\n')


setup(version=read_version(), cmdclass={"build_py": BuildPyWithStubs})
