"""The runtime stage of the Dockerfile installs exactly the Debian packages
that provide the shared libraries the real built binaries it ships
(ebsp-coordinator, ebsp-status) load: `ldd` lists them, `dpkg -S` names their
packages (libc6 comes with the base image and is left out)."""
import os
import re
import subprocess
from typing import Dict

import pytest

import deploy_testlib

# The C library's package is part of every Debian image.
BASE_IMAGE_PACKAGES = {"libc6"}


def loaded_libraries(binary) -> Dict[str, str]:
    """soname -> resolved path, for every library ldd resolves."""
    out = subprocess.run(["ldd", str(binary)], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    libraries = {}
    for line in out.splitlines():
        line = line.strip()
        assert "not found" not in line, f"ldd: {line}"
        match = re.match(r"(\S+) => (/\S+) \(0x", line) or re.match(r"(/\S+) \(0x", line)
        if match:
            libraries[os.path.basename(match.group(1))] = match.groups()[-1]
    return libraries


def usrmerge_aliases(path: str):
    """The names dpkg may know a library by: as given, resolved, with and
    without the /usr prefix (Debian 12 merges /lib into /usr/lib)."""
    names = []
    for p in (path, os.path.realpath(path)):
        names += [p, p[len("/usr"):] if p.startswith("/usr/") else "/usr" + p]
    return list(dict.fromkeys(names))


def owning_packages(paths) -> Dict[str, str]:
    """path -> the Debian package that ships it, with one dpkg -S call."""
    aliases = {path: usrmerge_aliases(path) for path in paths}
    query = sorted({alias for names in aliases.values() for alias in names})
    # dpkg -S exits 1 when some alias is unknown; the known ones still print.
    out = subprocess.run(["dpkg", "-S", *query], capture_output=True, text=True,
                         timeout=60).stdout
    owner = {}
    for line in out.splitlines():
        packages, _, owned = line.partition(": ")
        owner[owned.strip()] = packages.split(",")[0].split(":")[0].strip()
    result = {}
    for path, names in aliases.items():
        found = [owner[n] for n in names if n in owner]
        assert found, f"no Debian package owns {path} (tried {names})"
        result[path] = found[0]
    return result


@pytest.fixture(scope="module")
def runtime_packages():
    packages = deploy_testlib.apt_installed_packages(deploy_testlib.image_stages()[-1])
    assert packages, "the runtime stage installs no package"
    return packages


@pytest.fixture(scope="module")
def library_packages():
    libraries = {}
    for name, binary in deploy_testlib.image_binaries().items():
        loaded = loaded_libraries(binary)
        assert loaded, f"ldd lists no library for {binary}"
        libraries.update(loaded)
    owners = owning_packages(libraries.values())
    return {soname: owners[path] for soname, path in libraries.items()}


def test_runtime_stage_is_debian_12_slim():
    stages = deploy_testlib.image_stages()
    assert re.fullmatch(r"debian:12(\.\d+)?-slim", stages[-1].base), stages[-1].base
    assert re.fullmatch(r"debian:12(\.\d+)?", stages[0].base), stages[0].base


def test_every_loaded_library_comes_from_an_installed_package(
        runtime_packages, library_packages):
    missing = {soname: package for soname, package in library_packages.items()
               if package not in runtime_packages and package not in BASE_IMAGE_PACKAGES}
    assert not missing, (
        "the runtime stage lacks the packages of these libraries "
        f"(soname: package): {missing}")


def test_runtime_stage_installs_no_package_the_binary_does_not_load(
        runtime_packages, library_packages):
    needed = set(library_packages.values())
    extra = sorted(set(runtime_packages) - needed)
    assert not extra, f"the runtime stage installs packages no loaded library needs: {extra}"


def test_runtime_stage_installs_each_package_once(runtime_packages):
    duplicates = sorted({p for p in runtime_packages if runtime_packages.count(p) > 1})
    assert not duplicates, duplicates
