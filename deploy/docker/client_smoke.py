#!/usr/bin/python3
"""A short ElasticBSP job of real Python clients against a coordinator.

Used by deploy/docker/build_and_test.sh against the container image: three
workers of different speeds (one thread each, each its own ebsp.Client with
its own channel and heartbeat thread) run ElasticBSP until every one of them
has passed ROUNDS barriers, then leave. Checks that the job was created with
the ElasticBSP policy, that every worker passed its barriers, and that the
workers released from the same barrier agree on the round.

Usage: client_smoke.py HOST:PORT [JOB]. Needs PYTHONPATH with
clients/python and the build's protos/python. Prints one summary line;
exits 1 on any failed check.
"""
import sys
import threading
import time

import ebsp

ROUNDS = 4
# Iteration times in seconds: different speeds give ElasticBSP different targets.
SPEEDS = {"w0": 0.01, "w1": 0.02, "w2": 0.04}
# Bounds: no worker runs more iterations than this, nor longer than this.
MAX_ITERATIONS = 400
DEADLINE_S = 60.0


def run_worker(target, job, name, speed, registered, results, errors):
    try:
        rounds = []
        with ebsp.Client(target, job=job, worker_name=name, auth_token=JOB_TOKEN,
                         call_timeout=10.0) as coord:
            # All register before any iterates, so all take part in every barrier.
            registered.wait(DEADLINE_S)
            started = time.monotonic()
            for _ in range(MAX_ITERATIONS):
                if len(rounds) >= ROUNDS or time.monotonic() - started > DEADLINE_S:
                    break
                time.sleep(speed)
                if coord.step_done(compute_seconds=speed):
                    rounds.append(coord.sync().round)
        results[name] = rounds
    except Exception as err:  # reported by the main thread
        errors[name] = repr(err)


JOB_TOKEN = "image-smoke-job-token-0123456789"


def main():
    target = sys.argv[1]
    job = sys.argv[2] if len(sys.argv) > 2 else "image-smoke"
    # The container sees the test's connection come from podman's network,
    # not from loopback, so (no admin credential configured) the job is
    # created the way a team without admin rights does: with its own token.
    with ebsp.AdminClient(target, token=JOB_TOKEN) as admin:
        admin.create_job(job, policy="ebsp:R=4", auth_token=JOB_TOKEN)
        created = admin.get_job(job)
    results, errors = {}, {}
    registered = threading.Barrier(len(SPEEDS))
    threads = [threading.Thread(target=run_worker,
                                args=(target, job, n, s, registered, results, errors))
               for n, s in SPEEDS.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S + 30)
    failures = [f"{n}: {e}" for n, e in sorted(errors.items())]
    failures += [f"{t.name} still running" for t in threads if t.is_alive()]
    policy = ebsp.format_policy(created.spec.policy)
    if not policy.startswith("ebsp"):
        failures.append(f"job policy is {policy!r}, not ElasticBSP")
    for name in SPEEDS:
        rounds = results.get(name, [])
        if len(rounds) < ROUNDS:
            failures.append(f"{name} passed {len(rounds)} barriers, expected {ROUNDS}")
    # Every worker joined before the first barrier, so the k-th barrier of each
    # worker is the same release: they must agree on its round.
    for k in range(ROUNDS):
        seen = {results.get(n, [None] * ROUNDS)[k] if len(results.get(n, [])) > k else None
                for n in SPEEDS}
        if len(seen) != 1:
            failures.append(f"barrier {k + 1}: workers disagree on the round: {sorted(map(str, seen))}")
    summary = ", ".join(f"{n} rounds {results.get(n)}" for n in SPEEDS)
    if failures:
        print("client job: FAILED: " + "; ".join(failures) + f" ({summary})")
        return 1
    print(f"client job: {len(SPEEDS)} Python workers, policy {policy}, {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
