// libFuzzer target: event sequences decoded from the input into the core's
// JobState, under every policy, with every invariant of
// tests/core/job_invariants.h checked after every event. A broken invariant
// aborts with what broke, so libFuzzer keeps the input as a crash.
//
// Input: byte 0 picks the policy (kPolicies); then per event one byte picks
// the event, one moves virtual time, one picks the worker (ids 1..8, so
// unknown and departed ids come up), and the event's own bytes follow
// (iteration and round offsets, compute time, a policy for UpdatePolicy).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/time/time.h"
#include "lib/core/job/job_state.h"
#include "lib/core/policy/policy_config.h"
#include "tests/core/job_invariants.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/fuzz_policies.h"

namespace ebsp::fuzz {
namespace {

using core::Effects;
using core::JobSnapshot;
using core::JobState;
using core::WorkerId;

constexpr int kMaxEvents = 400;
constexpr WorkerId kMaxId = 8;

core::PolicyConfig Policy(int index) { return *core::ParsePolicy(kPolicies[index]); }

// One event; its status, and its effects when it succeeded.
absl::Status RunEvent(FuzzInput& in, JobState& job, const JobSnapshot& snap, absl::Time now,
                      Effects& effects) {
  const WorkerId id = 1 + static_cast<WorkerId>(in.Below(kMaxId));
  int done = 0;
  for (const core::WorkerSnapshot& w : snap.workers) {
    if (w.worker == id) done = w.iterations_in_round;
  }
  switch (in.Below(12)) {
    case 0:
    case 1: {
      // Mostly the worker's own name; now and then one that may be taken.
      const std::string name = in.Below(8) == 0 ? "w1" : "w" + std::to_string(id);
      absl::StatusOr<core::RegisterResult> r = job.Register(id, name, now);
      if (r.ok()) effects = r->effects;
      return r.status();
    }
    case 2:
    case 3:
    case 4:
    case 5: {
      // Offsets centred on the expected values: -1, 0 (most), +1.
      const uint8_t shape = in.Byte();
      const int iteration = done + 1 + (shape % 8 == 0 ? -1 : shape % 8 == 1 ? 1 : 0);
      const uint64_t round = snap.round + (shape % 16 == 2 ? 1 : 0);
      const absl::Duration compute =
          shape % 32 == 3 ? absl::Seconds(-1)
                          : (shape % 32 == 4 ? absl::InfiniteDuration()
                                             : absl::Milliseconds(1 + in.Below(250) * 12));
      absl::StatusOr<core::ReportResult> r =
          job.ReportIteration(id, round, iteration, compute, now);
      if (r.ok()) effects = r->effects;
      return r.status();
    }
    case 6:
    case 7: {
      const uint8_t shape = in.Byte();
      const uint64_t round =
          shape % 8 == 0 && snap.round > 0 ? snap.round - 1 : snap.round + (shape % 8 == 1);
      absl::StatusOr<Effects> r = job.ArriveAtBarrier(id, round, now);
      if (r.ok()) effects = *r;
      return r.status();
    }
    case 8: {
      absl::StatusOr<Effects> r = job.WaitForClock(id, now);
      if (r.ok()) effects = *r;
      return r.status();
    }
    case 9: {
      if (in.Below(2) == 0) return job.Heartbeat(id, now).status();
      absl::StatusOr<Effects> r = job.Leave(id, now);
      if (r.ok()) effects = *r;
      return r.status();
    }
    case 10:
      return job.UpdatePolicy(Policy(in.Below(kPolicyCount)), now);
    default:
      effects = job.Tick(now);
      return absl::OkStatus();
  }
}

}  // namespace
}  // namespace ebsp::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ebsp;  // NOLINT: the entry point is outside the namespace.
  fuzz::FuzzInput in(data, size);
  core::JobOptions options;
  options.policy = fuzz::Policy(in.Below(fuzz::kPolicyCount));
  options.heartbeat_timeout = absl::Seconds(10);
  options.max_workers = 6;
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  core::JobState job("fuzz", options, now);
  for (int event = 0; event < fuzz::kMaxEvents && !in.done(); ++event) {
    // Up to 3.8 s per step: leases of 10 s expire now and then.
    now += absl::Milliseconds(in.Below(20) * 200);
    const absl::Time look = now + absl::Seconds(1);
    const core::JobSnapshot before = job.Snapshot(look);
    core::Effects effects;
    const absl::Status status = fuzz::RunEvent(in, job, job.Snapshot(now), now, effects);
    const core::JobSnapshot after = job.Snapshot(look);
    // Checked against the policy the job runs after the event (UpdatePolicy
    // may have switched it).
    const std::string broken =
        core::testing::CheckInvariants(job.policy(), job, {before, after, status, effects});
    if (!broken.empty()) {
      std::fprintf(stderr, "invariant broken after event %d (%s): %s\n", event,
                   status.ToString().c_str(), broken.c_str());
      std::abort();
    }
  }
  return 0;
}
