"""A chaos worker on the Python client: runs ElasticBSP (or any policy's)
iterations against a real coordinator and records its history as JSON lines.

No training stack: an "iteration" sleeps for --iter_ms, jittered by
±--jitter. The history (one JSON object per line, flushed at once, so a
kill -9 loses at most the line being written) is what tests/chaos's invariant
checker reads; tools/chaos/chaos_worker.cc writes the same events:

  start, register_start, registered {round, target, epoch, live, registrations}
  compute_start {round, iteration}   held {round}    (an iteration, a hold)
  report {sent, round, iteration, target, directive, rejoined, now_round}
  join_barrier {round}               (registered mid-round: to that round's barrier)
  sync_start {round}
  release {from_round, round, target, epoch, fingerprint, live, changed, waited, rejoined,
           synchronized}
  client_log {level, message}        (the client's own warnings: outages, re-registrations)
  error {message}                    stop {reason}

Every event carries t (CLOCK_MONOTONIC seconds, comparable across the
processes of one machine), client, job, worker, pid.

The driver steers it through files in --control_dir: `go` (with --wait_go:
start iterating only once it exists), `hold.<worker>` (pause inside the
current iteration while it exists: a straggler, or a worker caught
mid-iteration), `stop` (leave and exit 0 at the next iteration). Every wait
is bounded by --max_runtime_s; exit status 0 after a requested stop, 1 after
a client error, 3 when the runtime bound ran out.
"""

import argparse
import json
import logging
import os
import random
import sys
import time


class History:
    """Appends one JSON line per event; flushed per line."""

    def __init__(self, path, fixed):
        self._file = open(path, "a", buffering=1)
        self._fixed = fixed

    def write(self, event, **fields):
        record = {"t": time.monotonic(), "ev": event, **self._fixed, **fields}
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()


class _ClientLogHandler(logging.Handler):
    """Records the client library's warnings (outage start/end, re-registration)."""

    def __init__(self, history):
        super().__init__(level=logging.INFO)
        self._history = history

    def emit(self, record):
        self._history.write("client_log", level=record.levelname, message=record.getMessage())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--job", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--policy", default="ebsp:R=4")
    parser.add_argument("--iter_ms", type=float, default=50.0)
    parser.add_argument("--jitter", type=float, default=0.3)
    parser.add_argument("--history", required=True)
    parser.add_argument("--control_dir", required=True)
    parser.add_argument("--wait_go", action="store_true")
    parser.add_argument("--max_runtime_s", type=float, default=300.0)
    args = parser.parse_args(argv)

    import ebsp  # After argument parsing: a usage error needs no grpc import.

    history = History(args.history, {"client": "py", "job": args.job, "worker": args.name,
                                     "pid": os.getpid()})
    logging.getLogger("ebsp").addHandler(_ClientLogHandler(history))
    logging.getLogger("ebsp").setLevel(logging.INFO)
    deadline = time.monotonic() + args.max_runtime_s
    rng = random.Random()
    stop_file = os.path.join(args.control_dir, "stop")
    go_file = os.path.join(args.control_dir, "go")
    hold_file = os.path.join(args.control_dir, f"hold.{args.name}")

    def out_of_time():
        return time.monotonic() > deadline

    def wait_while_held(round_):
        if not os.path.exists(hold_file):
            return
        history.write("held", round=round_)
        while os.path.exists(hold_file) and not out_of_time():
            time.sleep(0.01)

    history.write("start", policy=args.policy, iter_ms=args.iter_ms)
    client = None
    try:
        history.write("register_start")
        client = ebsp.Client(args.target, job=args.job, worker_name=args.name,
                             policy=args.policy)
        history.write("registered", round=client.round, target=client.target,
                      epoch=client.membership_epoch, live=client.live_workers,
                      registrations=client.registrations, pending=client.pending)
        if args.wait_go:
            while not os.path.exists(go_file) and not out_of_time():
                time.sleep(0.01)
        while True:
            if os.path.exists(stop_file):
                history.write("stop", reason="requested")
                client.leave()
                return 0
            if out_of_time():
                history.write("stop", reason="max_runtime")
                client.leave()
                return 3
            round_ = client.round
            history.write("compute_start", round=round_, iteration=client.iteration + 1)
            wait_while_held(round_)
            compute = args.iter_ms / 1000.0 * (1 + args.jitter * rng.uniform(-1, 1))
            time.sleep(compute)
            registrations = client.registrations
            was_pending = client.pending
            sent = time.monotonic()
            sync_now = client.step_done(compute)
            if was_pending:
                # Registered mid-round: step_done reported nothing and sends
                # this worker to the running round's barrier.
                history.write("join_barrier", round=client.round - 1)
            else:
                history.write("report", sent=sent, round=round_, iteration=client.iteration,
                              target=client.target,
                              directive="sync" if sync_now else "continue",
                              rejoined=client.registrations != registrations,
                              now_round=client.round)
            if not sync_now:
                continue
            # A pending worker waits at the barrier of the round before the
            # one it runs next.
            from_round = client.round - 1 if client.pending else client.round
            registrations = client.registrations
            history.write("sync_start", round=from_round)
            result = client.sync()
            history.write("release", from_round=from_round, round=result.round,
                          target=result.target, epoch=result.membership_epoch,
                          fingerprint=getattr(result, "membership_fingerprint", None),
                          live=result.live_workers, changed=result.membership_changed,
                          waited=result.waited_seconds,
                          rejoined=client.registrations != registrations,
                          synchronized=getattr(result, "synchronized", True))
    except Exception as err:  # Recorded for the driver, then the exit status says it.
        history.write("error", message=f"{type(err).__name__}: {err}")
        print(f"chaos_worker {args.name}: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
