"""A training worker for the HA tests: runs ElasticBSP iterations of a fixed
length through the real Python client and appends one JSON line per
finished iteration and per sync to its history file, until its stop file
appears. The test reads the histories to measure each failover's pause.

Usage: ha_worker.py TARGET JOB NAME ITERATION_SECONDS HISTORY STOP_FILE
"""

import json
import os
import sys
import time

import ebsp


def main() -> int:
    target, job, name, iteration, history, stop_file = sys.argv[1:7]
    iteration = float(iteration)
    with open(history, "a", buffering=1) as out, \
            ebsp.Client(target, job=job, worker_name=name, policy="ebsp:R=8") as coord:
        def record(event, **fields):
            out.write(json.dumps({"t": time.time(), "event": event, **fields}) + "\n")

        record("registered")
        while not os.path.exists(stop_file):
            time.sleep(iteration)
            if coord.step_done(compute_seconds=iteration):
                result = coord.sync()
                record("sync", round=result.round, target=result.target,
                       membership_changed=result.membership_changed)
            record("step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
