#!/usr/bin/python3
"""Runs clang's -Wthread-safety over the server and the C++ client.

GCC ignores ABSL_GUARDED_BY and ABSL_EXCLUSIVE_LOCKS_REQUIRED; clang checks
them. This takes each translation unit under the given folders from the
build's compile_commands.json and reruns it with clang++ -fsyntax-only, so a
field read without its lock fails here. Only thread-safety diagnostics are
errors: other clang warnings in gRPC's headers are not ours to fix.

Usage: check_thread_safety.py BUILD_DIR [FOLDER ...]  (default: service clients/cpp)
"""
import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

CLANG = os.environ.get("CLANGXX", "clang++-14")
FLAGS = ["-fsyntax-only", "-Wthread-safety", "-Wthread-safety-beta",
         "-Werror=thread-safety", "-Werror=thread-safety-beta"]


def clang_command(entry):
    args = entry.get("arguments") or shlex.split(entry["command"])
    out = [CLANG]
    skip = False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a in ("-c",) or a.startswith("-W"):
            continue
        out.append(a)
    return out + FLAGS


def main():
    build = os.path.abspath(sys.argv[1])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folders = sys.argv[2:] or ["service", "clients/cpp"]
    prefixes = [os.path.join(root, f) + os.sep for f in folders]
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = [e for e in json.load(f)
                   if any(os.path.abspath(e["file"]).startswith(p) for p in prefixes)]
    if not entries:
        print(f"check_thread_safety: no translation units under {folders}")
        return 1

    def run(entry):
        cmd = clang_command(entry)
        p = subprocess.run(cmd, cwd=entry["directory"], capture_output=True, text=True)
        return entry["file"], p.returncode, p.stderr

    failed = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for path, rc, err in pool.map(run, entries):
            if rc != 0:
                failed += 1
                print(f"--- {os.path.relpath(path, root)}\n{err}")
    print(f"check_thread_safety: {len(entries) - failed} of {len(entries)} translation units "
          f"pass clang -Wthread-safety ({', '.join(folders)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
