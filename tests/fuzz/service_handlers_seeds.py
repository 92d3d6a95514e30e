#!/usr/bin/env python3
"""Writes the seed corpus of the service_handlers fuzz target.

Each seed is a scenario in the target's input format (see the header of
service_handlers_fuzz.cc): a job created or auto-created, workers registered,
then reports, barriers, clock waits, heartbeats, leaves, policy changes,
deletes and ticks that reach the deep states of every policy, plus single
raw request messages. Run it after changing the input format:

    python3 tests/fuzz/service_handlers_seeds.py tests/fuzz/corpus/service_handlers
"""
import os
import re
import struct
import sys

# Indices of the target's tables (kRequests, kPolicies, flags).
CREATE, GET, LIST, UPDATE, DELETE, REGISTER, REPORT, BARRIER, CLOCK, HEARTBEAT, LEAVE = (
    0, 1, 2, 3, 4, 5, 7, 10, 12, 13, 14)
TICK = 15
RESTART_KILL, RESTART_GRACEFUL = 14, 15  # high nibbles of op 15


def read_policies():
    """kPolicies of tests/fuzz/fuzz_policies.h, in its order (inputs pick a
    policy by index), read from the header so that the two cannot differ."""
    header = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_policies.h")
    with open(header) as f:
        text = f.read()
    table = text[text.index("kPolicies[] = {"):]
    return re.findall(r'"([^"]*)"', table[:table.index("};")])


POLICIES = read_policies()
SET_JOB, SET_WORKER, SET_PROGRESS, SET_TOKEN, SET_REQUEST_ID, SET_SPEC, STORE_FAILS = (
    1, 2, 4, 8, 16, 32, 64)
# Caller byte: bit 0 loopback; (c >> 1) % 6: 0 none, 1 admin token, 2 the
# job's token, 3 another token, 4 malformed, 5 raw bytes.
LOOPBACK, ADMIN, OWN_TOKEN, OTHER_TOKEN, MALFORMED = 1, 1 << 1, 2 << 1, 3 << 1, 4 << 1


def config(policy, auto_create=False, admin_token=False, deadline=0):
    return bytes([(policy << 4) | (deadline << 2) | (admin_token << 1) | auto_create])


def op(request, flags=0, value=0, caller=None, message=b"", quarter_seconds=0):
    out = bytes([(quarter_seconds << 4) | request, len(message)]) + message
    out += bytes([flags, value])
    if caller is not None:
        out += bytes([caller])
    return out


def tick(seconds):
    assert seconds < RESTART_KILL
    return bytes([(seconds << 4) | TICK])


def restart(graceful=True):
    return bytes([((RESTART_GRACEFUL if graceful else RESTART_KILL) << 4) | TICK])


def create(job=0, policy=0, token=0, caller=LOOPBACK, spec=False):
    flags = SET_JOB | SET_PROGRESS | (SET_TOKEN if token else 0) | (SET_SPEC if spec else 0)
    # value: job = v % 4, policy = (v >> 2) % 9, token = (v >> 4) % 3.
    value = job | (policy << 2)
    if token:
        value = (value & 0x0F) | (token << 4)
    return op(CREATE, flags, value, caller)


def register(name, job=0, token=0, creates=False, caller=LOOPBACK, request_id=False):
    flags = SET_JOB | SET_WORKER | (SET_TOKEN if token else 0)
    flags |= SET_REQUEST_ID if request_id else 0
    value = job | (name << 2)  # name = (v >> 2) % 6
    if token:
        value = (value & 0x0F) | (token << 4)
    return op(REGISTER, flags, value, caller if creates else None)


def report(worker, compute=1, quarter_seconds=2):
    # value: known worker = (v >> 2) % known, compute = 0.05 + 0.05 * (v & 3).
    return op(REPORT, SET_WORKER | SET_PROGRESS, (worker << 2) | compute,
              quarter_seconds=quarter_seconds)


def barrier(worker, previous_round=False):
    return op(BARRIER, SET_WORKER | SET_PROGRESS, (worker << 2) | int(previous_round))


def clock_wait(worker):
    return op(CLOCK, SET_WORKER, worker << 2)


def worker_call(request, worker):
    return op(request, SET_WORKER, worker << 2)


def round_scenario(policy, workers=2, rounds=3, reports=3):
    out = config(policy) + create(policy=policy)
    for w in range(workers):
        out += register(w)
    for _ in range(rounds):
        for w in range(workers):
            for i in range(reports):
                out += report(w, compute=(w + i) % 4)
            out += barrier(w)
    return out


def clock_scenario(policy, workers=3, steps=6):
    out = config(policy) + create(policy=policy)
    for w in range(workers):
        out += register(w)
    for i in range(steps):
        for w in range(workers):
            if w == 0 or i % 2 == 0:  # worker 0 runs ahead
                out += report(w, compute=w)
        out += clock_wait(0)
    return out


# --- protobuf wire encoding, enough for the request messages -------------


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field_varint(number, n):
    return varint(number << 3) + varint(n)


def field_bytes(number, data):
    if isinstance(data, str):
        data = data.encode()
    return varint((number << 3) | 2) + varint(len(data)) + data


def field_double(number, x):
    return varint((number << 3) | 1) + struct.pack("<d", x)


def policy_message(kind, lookahead=0, staleness=0, local_steps=0, objective=0, predictor=0,
                   staleness_range=0):
    out = field_varint(1, kind)
    for number, value in ((2, lookahead), (3, staleness), (4, local_steps), (5, objective),
                          (6, predictor), (7, staleness_range)):
        if value:
            out += field_varint(number, value)
    return out


def single(request, message, auto_create=True):
    """One raw request: byte 0 with bits 2-3 set, byte 1 the request."""
    return config(5, auto_create=auto_create, deadline=3) + bytes([request]) + message


def seeds():
    s = {}
    for i, name in enumerate(POLICIES):
        safe = name.replace(":", "_").replace(",", "_").replace("=", "")
        if name in ("asp", "ssp:s=0", "ssp:s=2", "dssp:s=1,r=3"):
            s[f"clock-{safe}"] = clock_scenario(i)
        else:
            s[f"rounds-{safe}"] = round_scenario(i)
    # BSP with a late joiner (PENDING, barrier of the previous round).
    out = config(0) + create(policy=0) + register(0) + register(1)
    out += report(0) + report(1) + register(2) + barrier(0) + barrier(2, previous_round=True)
    out += barrier(1) + report(2) + barrier(2)
    s["pending-joiner-bsp"] = out
    # Auto-created job with a token; a second worker with the wrong token.
    out = config(5, auto_create=True) + register(0, token=1, creates=True, caller=LOOPBACK)
    out += register(1, token=2) + register(1, token=1) + report(0) + report(1)
    s["auto-create-token"] = out
    # Admin token configured: remote callers without, with a wrong, with the
    # admin token; the job's own token for UpdatePolicy.
    out = config(0, admin_token=True) + create(policy=0, caller=0)
    out += create(policy=0, caller=OTHER_TOKEN) + create(policy=0, token=1, caller=ADMIN)
    out += register(0, token=1) + op(UPDATE, SET_JOB | SET_PROGRESS, 5 << 2, OWN_TOKEN)
    out += op(UPDATE, SET_JOB | SET_PROGRESS, 1 << 2, MALFORMED)
    out += op(DELETE, SET_JOB, 0, OTHER_TOKEN) + op(DELETE, SET_JOB, 0, ADMIN)
    s["admin-token"] = out
    # A parked barrier of a job deleted under it.
    out = config(0) + create(policy=0) + register(0) + register(1) + report(0) + barrier(0)
    out += op(DELETE, SET_JOB, 0, LOOPBACK) + op(GET, SET_JOB, 0) + op(LIST)
    s["delete-with-parked-barrier"] = out
    # A parked barrier past the deadline (20 s), then its worker evicted.
    out = config(0) + create(policy=0) + register(0) + register(1) + report(0) + barrier(0)
    out += tick(8) + worker_call(HEARTBEAT, 0) + tick(8) + tick(8) + tick(13)
    s["deadline-then-eviction"] = out
    # The same wait twice (the first is superseded); Leave while parked.
    out = config(3) + create(policy=3) + register(0) + register(1)
    out += report(0) + report(0) + report(0) + report(0) + clock_wait(0) + clock_wait(0)
    out += worker_call(LEAVE, 0) + worker_call(LEAVE, 0) + report(1)
    s["clock-superseded-then-leave"] = out
    # Policy changes mid-round and between round and roundless policies.
    out = config(5) + create(policy=5) + register(0) + register(1) + report(0)
    out += op(UPDATE, SET_JOB | SET_PROGRESS, 0 << 2, LOOPBACK)
    out += op(UPDATE, SET_JOB | SET_PROGRESS, 3 << 2, LOOPBACK)
    out += report(1) + barrier(0) + barrier(1) + report(0) + report(1)
    s["policy-change-mid-round"] = out
    # Limits: max jobs (3) and a job's max_workers (spec), retried requests.
    out = config(0) + create(job=0) + create(job=1) + create(job=2) + create(job=3)
    out += create(job=0) + create(job=1, spec=True)
    for w in range(6):
        out += register(w)
    out += register(0, request_id=True) + register(0, request_id=True)
    out += report(0) + report(0)
    s["limits-and-retries"] = out
    # Restarts: the jobs come back holding their first barrier for their
    # roster; the same names register again (request ids too), one late.
    out = config(5) + create(policy=5, token=1) + register(0, token=1, request_id=True)
    out += register(1, token=1) + report(0) + report(1) + tick(2) + restart(graceful=True)
    out += register(0, token=1, request_id=True) + report(0) + barrier(0) + register(1, token=1)
    out += report(1) + barrier(1) + tick(11) + restart(graceful=False) + op(LIST)
    s["restart-hold"] = out
    # The store refuses writes: CreateJob, an auto-create Register, a policy
    # change, a delete; then restarts.
    out = config(0, auto_create=True) + op(CREATE, SET_JOB | SET_PROGRESS | STORE_FAILS, 0,
                                           LOOPBACK)
    out += op(REGISTER, SET_JOB | SET_WORKER | STORE_FAILS, 1, LOOPBACK) + create(job=2)
    out += register(0, job=2) + op(UPDATE, SET_JOB | SET_PROGRESS | STORE_FAILS, 2 | (5 << 2),
                                   LOOPBACK)
    out += restart(graceful=False) + create(job=3) + op(DELETE, SET_JOB | STORE_FAILS, 3,
                                                        LOOPBACK)
    out += restart(graceful=True) + op(LIST)
    s["store-fails"] = out
    # Single raw messages of every request.
    s["raw-create"] = single(CREATE, field_bytes(1, field_bytes(1, "job-1") + field_bytes(
        2, policy_message(4, lookahead=8)) + field_double(3, 5.0) + field_varint(4, 4)))
    s["raw-create-nan"] = single(CREATE, field_bytes(1, field_bytes(1, "x") + field_double(
        3, float("nan"))))
    s["raw-create-heartbeat"] = single(CREATE, field_bytes(1, field_bytes(1, "j") + field_double(
        3, 4000.0)))
    s["raw-create-max-workers"] = single(CREATE, field_bytes(1, field_bytes(1, "j") + field_varint(
        4, 6)))
    s["raw-create-token"] = single(CREATE, field_bytes(1, field_bytes(1, "j") + field_bytes(
        5, "t" * 1100)))
    s["raw-get"] = single(GET, field_bytes(1, "job-1"))
    s["raw-list"] = single(LIST, b"")
    s["raw-update"] = single(UPDATE, field_bytes(1, "j") + field_bytes(
        2, policy_message(6, staleness=1, staleness_range=5000)))
    s["raw-delete"] = single(DELETE, field_bytes(1, "j"))
    s["raw-register"] = single(REGISTER, field_bytes(1, "job.2") + field_bytes(2, "host:0") +
                               field_bytes(4, policy_message(3, staleness=2)))
    s["raw-register-bad-name"] = single(REGISTER, field_bytes(1, "job 2") + field_bytes(2, "h"))
    s["raw-report"] = single(REPORT, field_bytes(1, "j") + field_varint(2, 7) + field_varint(
        4, 1) + field_double(5, -1.0))
    s["raw-report-iteration-max"] = single(REPORT, field_bytes(1, "j") + field_varint(2, 7) +
                                           field_varint(4, 0xFFFFFFFF))
    s["raw-barrier"] = single(BARRIER, field_bytes(1, "j") + field_varint(2, 1) + field_varint(
        3, 2**64 - 1))
    s["raw-clock"] = single(CLOCK, field_bytes(1, "j") + field_varint(2, 0))
    s["raw-heartbeat"] = single(HEARTBEAT, field_bytes(1, "j") + field_varint(2, 3))
    s["raw-leave"] = single(LEAVE, field_bytes(1, "j" * 200) + field_varint(2, 3))
    return s


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    print(f"{len(seeds())} seeds in {out_dir}")


if __name__ == "__main__":
    main()
