"""The Dockerfile's build stage does what the project does here: it installs
the compile-time part of scripts/setup.sh's package list, builds with
scripts/build.sh, and takes the binary from where that build puts it."""
import fnmatch
import json
import os
import pathlib
import re
import shutil
import shlex
import subprocess
from dataclasses import dataclass
from typing import List, Optional

import pytest

import deploy_testlib

# Not compile-time needs in setup.sh's list: Python libraries, torch and
# friends for examples, prometheus/yamllint/kubectl for the deploy tests.
# python3 itself is needed: the root CMakeLists.txt requires /usr/bin/python3.
BUILD_ONLY_EXTRAS = {"python3"}


def setup_sh_packages():
    text = (deploy_testlib.REPO_ROOT / "scripts" / "setup.sh").read_text()
    match = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M)
    assert match, "scripts/setup.sh no longer has a packages=( ... ) list"
    body = "\n".join(line.split("#", 1)[0] for line in match.group(1).splitlines())
    return set(shlex.split(body))


# -dev packages setup.sh installs for tests only, never linked into the
# shipped binaries: the sanitizer runtime of the fuzz targets (scripts/fuzz.sh).
TEST_ONLY_DEV = {"libclang-rt-14-dev"}


def is_compile_time(package: str) -> bool:
    return package not in TEST_ONLY_DEV and (package.endswith("-dev")
            or package in {"build-essential", "cmake", "ninja-build", "pkg-config"}
            or package.startswith("protobuf-compiler"))


@pytest.fixture(scope="module")
def stages():
    return deploy_testlib.image_stages()


@pytest.fixture(scope="module")
def build_stage(stages):
    return stages[0]


def build_runs(build_stage):
    return [i.args for i in build_stage.instructions if i.keyword == "RUN"]


def workdir(stage) -> pathlib.PurePosixPath:
    dirs = [i.args for i in stage.instructions if i.keyword == "WORKDIR"]
    assert dirs, "the build stage sets no WORKDIR"
    return pathlib.PurePosixPath(dirs[-1])


def test_build_stage_packages_are_setup_sh_compile_packages(build_stage):
    installed = set(deploy_testlib.apt_installed_packages(build_stage))
    known = setup_sh_packages()
    unknown = installed - known - BUILD_ONLY_EXTRAS
    assert not unknown, f"build stage installs packages setup.sh does not: {sorted(unknown)}"
    needed = {p for p in known if is_compile_time(p)}
    missing = needed - installed
    assert not missing, f"setup.sh's compile-time packages missing from the build stage: {sorted(missing)}"


def test_build_stage_runs_the_project_build_script(build_stage):
    runs = " ".join(build_runs(build_stage))
    assert re.search(r"(^|\s)scripts/build\.sh\b", runs), runs
    build_sh = (deploy_testlib.REPO_ROOT / "scripts" / "build.sh").read_text()
    assert "BUILD_DIR" in build_sh, "scripts/build.sh no longer honours BUILD_DIR"


def test_scripts_the_dockerfile_runs_exist_and_parse(build_stage):
    scripts = set()
    for run in build_runs(build_stage):
        scripts |= set(re.findall(r"(scripts/[\w.-]+\.sh)", run))
    assert scripts, "the build stage runs none of the project's scripts"
    for script in sorted(scripts):
        path = deploy_testlib.REPO_ROOT / script
        assert path.is_file(), f"{script} does not exist"
        assert os.access(path, os.X_OK), f"{script} is not executable"
        subprocess.run(["bash", "-n", str(path)], check=True, timeout=30)


@dataclass
class Copy:
    line: int
    from_stage: Optional[str]  # --from=<stage>; None: from the build context.
    sources: List[str]
    destination: str


def copies(stage) -> List[Copy]:
    """The stage's COPY instructions, options (--from, --chown...) apart."""
    found = []
    for instruction in stage.instructions:
        if instruction.keyword != "COPY":
            continue
        words = instruction.args.split()
        paths = [w for w in words if not w.startswith("--")]
        from_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
        found.append(Copy(instruction.line, from_stage, paths[:-1], paths[-1]))
    return found


def test_binaries_are_taken_from_where_the_build_puts_them(stages, build_stage):
    binaries = deploy_testlib.image_binaries()
    build_dir = deploy_testlib.required_env_path("EBSP_BUILD_DIR")
    runs = " ".join(build_runs(build_stage))
    match = re.search(r"BUILD_DIR=(\S+)", runs)
    assert match, "the build stage does not set BUILD_DIR for scripts/build.sh"
    image_build_dir = workdir(build_stage) / match.group(1)
    extracted = re.findall(r"objcopy\s+--strip-debug\s+(\S+)\s+(\S+)", runs)
    assert sorted(pathlib.PurePosixPath(dst).name for _, dst in extracted) == sorted(binaries), (
        f"the build stage extracts {extracted}, the image should ship {sorted(binaries)}")
    copied = {source for copy in copies(stages[-1]) if copy.from_stage == build_stage.name
              for source in copy.sources}
    for source, destination in extracted:
        name = pathlib.PurePosixPath(destination).name
        expected = image_build_dir / os.path.relpath(binaries[name], build_dir)
        actual = workdir(build_stage) / source
        assert os.path.normpath(actual) == os.path.normpath(expected), (
            f"the build stage takes {actual}, the build puts {name} at {expected}")
        assert destination in copied, f"the runtime stage does not COPY {destination}"


def installed_paths(stage):
    """Absolute paths of the files the stage copies in."""
    paths = set()
    for copy in copies(stage):
        for source in copy.sources:
            if copy.destination.endswith("/"):
                paths.add(copy.destination + pathlib.PurePosixPath(source).name)
            else:
                paths.add(copy.destination)
    return paths


def test_entrypoint_and_healthcheck_run_files_the_image_contains(stages):
    paths = installed_paths(stages[-1])
    for keyword in ("ENTRYPOINT", "HEALTHCHECK"):
        instruction = [i for i in stages[-1].instructions if i.keyword == keyword][-1]
        command = json.loads(instruction.args[instruction.args.index("["):])
        assert command[0] in paths, f"{keyword} runs {command[0]}, not copied into the image"


def test_runtime_user_and_group_have_the_ids_user_runs_as(stages):
    # useradd --user-group would give the group the next free system gid, so
    # USER uid:gid would run with a group that has no name in the image.
    user = [i.args for i in stages[-1].instructions if i.keyword == "USER"][-1]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit(), f"USER {user} is not numeric uid:gid"
    runs = " ".join(i.args for i in stages[-1].instructions if i.keyword == "RUN")
    group = re.search(r"groupadd\s[^&;|]*--gid\s+(\d+)\s+(\S+)", runs)
    assert group and group.group(1) == gid, f"no groupadd --gid {gid} in the runtime stage"
    useradd = re.search(r"useradd\s[^&;|]*", runs)
    assert useradd, "no useradd in the runtime stage"
    assert re.search(rf"--uid\s+{uid}\b", useradd.group(0)), useradd.group(0)
    assert re.search(rf"--gid\s+({gid}|{group.group(2)})\b", useradd.group(0)), useradd.group(0)
    assert "--user-group" not in useradd.group(0), useradd.group(0)


def test_local_files_copied_into_the_image_exist(stages):
    for stage in stages:
        for copy in copies(stage):
            if copy.from_stage is not None:
                continue
            for source in copy.sources:
                if source == ".":
                    continue
                path = deploy_testlib.REPO_ROOT / source
                assert path.exists(), f"line {copy.line}: COPY {source}: no such file"
                if "/bin/" in copy.destination:
                    # COPY keeps the mode: a program must be executable here.
                    assert os.access(path, os.X_OK), f"{source} is copied to a bin dir but not executable"


def dockerignore_excludes(path: str) -> bool:
    patterns = [line.strip() for line in
                (deploy_testlib.REPO_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            excluded = not negate
    return excluded


@pytest.mark.parametrize("path", [
    "CMakeLists.txt", "scripts/build.sh", "scripts/setup.sh",
    "protos/elasticbsp/v1/coordinator.proto", "service/CMakeLists.txt",
    "deploy/docker/healthcheck.sh"])
def test_dockerignore_keeps_sources(path):
    assert not dockerignore_excludes(path)


@pytest.mark.parametrize("path", [".git/config", "build/build.ninja",
                                  "clients/python/ebsp/__pycache__/x.pyc"])
def test_dockerignore_drops_build_trees_and_caches(path):
    assert dockerignore_excludes(path)


def cmake_required_programs():
    """Programs any CMakeLists.txt of the tree requires at configure time."""
    programs = set()
    for path in deploy_testlib.REPO_ROOT.rglob("CMakeLists.txt"):
        if any(part.startswith("build") for part in path.relative_to(deploy_testlib.REPO_ROOT).parts):
            continue
        for call in re.findall(r"find_program\s*\(([^)]*)\)", path.read_text()):
            words = call.split()
            if "REQUIRED" in words:
                names = [w for w in words[1:] if w not in ("REQUIRED", "NO_DEFAULT_PATH")]
                programs.add((str(path.relative_to(deploy_testlib.REPO_ROOT)), names[0]))
    return programs


def package_of(program: str) -> str:
    found = shutil.which(program)
    assert found, f"{program} is not installed here"
    for candidate in dict.fromkeys([found, os.path.realpath(found)]):
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True,
                                timeout=30)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].strip()
    raise AssertionError(f"no Debian package ships {found}")


def direct_dependencies(package: str):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", package],
                         capture_output=True, text=True, timeout=30).stdout
    return {alt.strip().split()[0].split(":")[0]
            for item in out.split(",") if item.strip() for alt in item.split("|")}


def test_build_stage_provides_every_program_cmake_requires(build_stage):
    installed = set(deploy_testlib.apt_installed_packages(build_stage))
    provided = installed | {d for p in installed for d in direct_dependencies(p)}
    programs = cmake_required_programs()
    assert programs, "found no find_program(... REQUIRED) at all"
    for where, program in sorted(programs):
        package = package_of(program)
        assert package in provided, (
            f"{where} requires {program} (Debian package {package}) at configure time, "
            "but the image's build stage does not install it")
