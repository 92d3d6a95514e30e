#!/usr/bin/python3
"""`BINARY --help` shows the binary's own flags, with defaults and meaning.

Usage: check_help.py BINARY [EXPECTED_FLAG ...]

Checks, against `--helpfull` (every flag the binary knows, by defining file):
- the usage message was set (no "SetProgramUsageMessage() never called") and
  names the program; no "No flags matched";
- every flag defined in this repository's folders appears in --help with its
  meaning and "default:";
- Abseil's own flags (flagfile, fromenv, ...) stay out of --help;
- the EXPECTED_FLAGs given on the command line are among them (so a flag
  filter that matched nothing cannot pass);
- --version prints the program name and a version.
"""
import os
import re
import subprocess
import sys

OUR_FOLDERS = ("service/", "tools/", "lib/", "clients/", "bench/", "examples/", "tests/")


def run(binary, flag):
    proc = subprocess.run([binary, flag], capture_output=True, text=True, timeout=30)
    return proc.returncode, proc.stdout + proc.stderr


def flags_by_file(text):
    """{defining file: [flag names]} from absl's usage output."""
    result, current = {}, None
    for line in text.splitlines():
        m = re.match(r"\s+Flags from (.+):$", line)
        if m:
            current = m.group(1)
            result.setdefault(current, [])
            continue
        m = re.match(r"\s+--([A-Za-z0-9_]+) \(", line)
        if m and current is not None:
            result[current].append(m.group(1))
    return result


def ours(path):
    return any(path.startswith(f) or f"/{f}" in path for f in OUR_FOLDERS)


def main():
    binary, expected = sys.argv[1], set(sys.argv[2:])
    program = os.path.basename(binary)
    failures = []
    _, help_text = run(binary, "--help")
    _, full_text = run(binary, "--helpfull")
    for bad in ("SetProgramUsageMessage() never called", "No flags matched"):
        if bad in help_text:
            failures.append(f"--help says {bad!r}")
    if not help_text.startswith(f"{program}: "):
        failures.append(f"--help does not open with '{program}: <what it does>'")
    if f"Usage: {program} [flags]" not in help_text:
        failures.append("--help has no 'Usage:' line")
    full = flags_by_file(full_text)
    own = {name for path, names in full.items() if ours(path) for name in names}
    foreign = {name for path, names in full.items() if not ours(path) for name in names}
    shown = {name for names in flags_by_file(help_text).values() for name in names}
    if not own:
        failures.append("--helpfull lists no flag from this repository")
    for name in sorted(own - shown):
        failures.append(f"--{name} (ours) is missing from --help")
    for name in sorted(foreign & shown):
        failures.append(f"--{name} (not ours) is shown by --help")
    for name in sorted(expected - own):
        failures.append(f"--{name} expected among the binary's own flags")
    # Every shown flag has a meaning and a default: absl prints
    # "--name (meaning); default: value;" (possibly wrapped over lines).
    for m in re.finditer(r"--([A-Za-z0-9_]+) \((.*?)\);\s+default:", help_text, re.S):
        if not m.group(2).strip():
            failures.append(f"--{m.group(1)} has no meaning")
    described = set(re.findall(r"--([A-Za-z0-9_]+) \(.*?\);\s+default:", help_text, re.S))
    for name in sorted(own - described):
        failures.append(f"--{name} shows no 'default:'")
    code, version = run(binary, "--version")
    if code != 0 or not re.match(rf"{re.escape(program)} \d+\.\d+\.\d+", version):
        failures.append(f"--version printed {version!r} (exit {code})")
    if failures:
        print(help_text)
        print("\n".join(f"FAIL: {f}" for f in failures))
        return 1
    print(f"{program} --help: {len(own)} own flags, all shown with meaning and default; "
          f"{len(foreign)} library flags left to --helpfull")
    return 0


if __name__ == "__main__":
    sys.exit(main())
