#!/usr/bin/python3
"""A small Dockerfile linter for the rules this project holds its image to.

hadolint is not packaged in Debian, so these are the rules of it (and of the
Docker best-practices guide) that matter here, each with an id:

  base-pinned        FROM names an explicit version tag or digest, never
                     `latest` or no tag (stage names aside).
  apt-update-install apt-get update and apt-get install share one RUN (a
                     cached update layer otherwise installs stale versions).
  apt-yes            apt-get install runs with -y (builds are unattended).
  apt-no-recommends  apt-get install uses --no-install-recommends.
  apt-lists-removed  a RUN that installs with apt-get removes
                     /var/lib/apt/lists/* in the same layer.
  no-apt             `apt` (the interactive front end) is not used in RUN.
  no-sudo            no sudo in RUN (the build runs as root until USER).
  no-add             ADD is not used (COPY for files; no ADD of URLs).
  user-non-root      the final stage switches to a USER other than root/0.
  healthcheck        the final stage has a HEALTHCHECK (not NONE).
  expose             the final stage EXPOSEs its ports.
  exec-form          ENTRYPOINT and CMD use the JSON (exec) form, so signals
                     reach the process (graceful SIGTERM shutdown).
  workdir-absolute   WORKDIR paths are absolute.

Usage: dockerfile_lint.py [Dockerfile]; prints one finding a line, exits 1
if there is any.
"""
import json
import pathlib
import re
import sys
from typing import List

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import deploy_testlib  # noqa: E402


def _is_exec_form(args: str) -> bool:
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return False
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_base(args: str, stage_names: List[str]) -> List[str]:
    words = [w for w in args.split() if not w.startswith("--platform")]
    image = words[0]
    if image in stage_names or image == "scratch":
        return []
    if "@sha256:" in image:
        return []
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # No tag at all (the colon was a registry port).
        return [f"base-pinned: {image} has no tag (means latest)"]
    if tag == "latest" or not re.search(r"\d", tag):
        return [f"base-pinned: {image} is not pinned to a version"]
    return []


def lint(text: str) -> List[str]:
    findings: List[str] = []
    instructions = deploy_testlib.parse_dockerfile(text)
    stage_names: List[str] = []
    final_stage: List[deploy_testlib.Instruction] = []

    def report(instruction, message):
        findings.append(f"line {instruction.line}: {message}")

    for instruction in instructions:
        keyword, args = instruction.keyword, instruction.args
        if keyword == "FROM":
            for message in _check_base(args, stage_names):
                report(instruction, message)
            words = args.split()
            if len(words) >= 3 and words[-2].upper() == "AS":
                stage_names.append(words[-1])
            final_stage = []
            continue
        final_stage.append(instruction)
        if keyword == "RUN":
            commands = re.split(r"&&|;|\|\|", args)
            installs = [c for c in commands if re.search(r"\bapt-get\s.*\binstall\b", c)]
            has_update = any(re.search(r"\bapt-get\s+(\S+\s+)*update\b", c) for c in commands)
            if installs and not has_update:
                report(instruction, "apt-update-install: apt-get install without apt-get update in the same RUN")
            if has_update and not installs:
                report(instruction, "apt-update-install: apt-get update without apt-get install in the same RUN")
            for command in installs:
                if not re.search(r"(^|\s)(-y|--yes|--assume-yes|-\w*y\w*)(\s|$)", command):
                    report(instruction, "apt-yes: apt-get install without -y")
                if "--no-install-recommends" not in command:
                    report(instruction, "apt-no-recommends: apt-get install without --no-install-recommends")
            if installs and not re.search(r"rm\s+-(rf|fr|r)\s+/var/lib/apt/lists/\*?", args):
                report(instruction, "apt-lists-removed: RUN installs packages but keeps /var/lib/apt/lists")
            if re.search(r"(^|[\s;&|])apt\s", args):
                report(instruction, "no-apt: use apt-get, not apt, in scripts")
            if re.search(r"(^|[\s;&|])sudo\s", args):
                report(instruction, "no-sudo: RUN uses sudo")
        elif keyword == "ADD":
            report(instruction, "no-add: use COPY (ADD fetches URLs and unpacks archives implicitly)")
        elif keyword in ("ENTRYPOINT", "CMD"):
            if not _is_exec_form(args):
                report(instruction, f"exec-form: {keyword} is not in JSON exec form")
        elif keyword == "WORKDIR":
            if not args.startswith("/") and not args.startswith("$"):
                report(instruction, f"workdir-absolute: WORKDIR {args} is relative")

    users = [i for i in final_stage if i.keyword == "USER"]
    if not users:
        findings.append("final stage: user-non-root: no USER, the container runs as root")
    else:
        user = users[-1].args.split(":")[0]
        if user in ("root", "0"):
            findings.append(f"line {users[-1].line}: user-non-root: final USER is {user}")
    checks = [i for i in final_stage if i.keyword == "HEALTHCHECK"]
    if not checks or checks[-1].args.strip().upper() == "NONE":
        findings.append("final stage: healthcheck: no HEALTHCHECK")
    if not any(i.keyword == "EXPOSE" for i in final_stage):
        findings.append("final stage: expose: no EXPOSE")
    return findings


def main(argv: List[str]) -> int:
    path = pathlib.Path(argv[1]) if len(argv) > 1 else deploy_testlib.DOCKERFILE
    findings = lint(path.read_text())
    for finding in findings:
        print(f"{path}: {finding}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
