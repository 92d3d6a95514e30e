#include "tests/core/job_invariants.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/core/test_support.h"

namespace ebsp::core::testing {

std::string CheckInvariants(const PolicyConfig& policy, const JobState& job,
                            const CheckedEvent& event) {
  const JobSnapshot& before = event.before;
  const JobSnapshot& after = event.after;
  if (job.membership_epoch() != after.membership_epoch) {
    return absl::StrCat("membership_epoch() ", job.membership_epoch(), " but the snapshot says ",
                        after.membership_epoch);
  }
  if (!event.status.ok()) {
    if (event.status.code() == absl::StatusCode::kInternal) {
      return absl::StrCat("INTERNAL error: ", event.status.ToString());
    }
    if (event.status.message().empty()) return "an error without a message";
    ::testing::AssertionResult same = SnapshotsEqual(before, after);
    if (!same) {
      return absl::StrCat("rejected event (", event.status.ToString(),
                          ") changed the state: ", same.message());
    }
    return "";
  }
  size_t members = 0;
  size_t pending = 0;
  for (const WorkerSnapshot& w : after.workers) {
    if (w.phase == WorkerPhase::kPending) {
      ++pending;
      continue;
    }
    ++members;
    if (policy.HasRounds()) {
      const int most = policy.kind == PolicyKind::kElasticBsp   ? policy.lookahead
                       : policy.kind == PolicyKind::kLocalSteps ? policy.local_steps
                                                                : 1;
      if (w.target < 1 || w.target > most) {
        return absl::StrCat("worker ", w.worker, " has target ", w.target, ", outside [1, ", most,
                            "]");
      }
      if (w.iterations_in_round > w.target) {
        return absl::StrCat("worker ", w.worker, " did ", w.iterations_in_round,
                            " iterations, beyond its target ", w.target);
      }
    } else if (w.phase == WorkerPhase::kAtBarrier) {
      return absl::StrCat("worker ", w.worker, " is at a barrier under a roundless policy");
    }
  }
  // Late binding: a worker trains up to its target through a coordinator
  // outage, so once it has reported in a round its target never moves down
  // (docs/planning.md). A release or a policy change starts a new round.
  if (policy.kind == PolicyKind::kElasticBsp && policy.binding == TargetBinding::kLate &&
      before.round == after.round && PolicyConfigsEqual(before.options.policy, policy)) {
    for (const WorkerSnapshot& b : before.workers) {
      if (b.phase == WorkerPhase::kPending || b.iterations_in_round < 1) continue;
      for (const WorkerSnapshot& a : after.workers) {
        if (a.worker == b.worker && a.target < b.target) {
          return absl::StrCat("worker ", a.worker, "'s target moved down from ", b.target, " to ",
                              a.target, " in round ", after.round);
        }
      }
    }
  }
  // A barrier releases only when every member still live has arrived.
  for (const RoundSummary& summary : event.effects.rounds_completed) {
    std::vector<WorkerId> expected;
    for (const WorkerSnapshot& w : before.workers) {
      if (w.phase != WorkerPhase::kPending && job.IsMember(w.worker)) {
        expected.push_back(w.worker);
      }
    }
    std::vector<WorkerId> arrived;
    for (const RoundSummary::Member& m : summary.members) arrived.push_back(m.worker);
    if (arrived != expected) {
      return absl::StrCat("round ", summary.round, " released with ", arrived.size(),
                          " members, expected the ", expected.size(), " live members");
    }
  }
  for (const Release& r : event.effects.releases) {
    if (!job.IsMember(r.worker)) return absl::StrCat("released departed worker ", r.worker);
    if (r.waited < absl::ZeroDuration()) {
      return absl::StrCat("worker ", r.worker, " waited ", absl::FormatDuration(r.waited));
    }
    if (r.kind == WaitKind::kClock && policy.HasClocks()) {
      // Released only within the bound of the slowest clock (s + r_max under
      // DSSP).
      const int bound =
          policy.staleness + (policy.kind == PolicyKind::kDssp ? policy.staleness_range : 0);
      if (r.own_clock < r.slowest_clock ||
          r.own_clock > r.slowest_clock + static_cast<uint64_t>(bound)) {
        return absl::StrCat("worker ", r.worker, " released at clock ", r.own_clock,
                            " with the slowest at ", r.slowest_clock, " and bound ", bound);
      }
    }
  }
  if (policy.HasRounds()) {
    // Nobody waits at a barrier that everyone reached, and pending workers
    // are never left behind without members.
    if (members > 0 && after.missing.empty()) {
      return absl::StrCat(members, " members and nobody missing, but no release");
    }
    if (pending > 0 && members == 0) {
      return absl::StrCat(pending, " pending workers and no member to release them");
    }
    // Every member is either arrived or missing; pending workers appear only
    // among the arrived, once they called Barrier.
    size_t arrived_members = 0;
    for (WorkerId a : after.arrived) {
      for (const WorkerSnapshot& w : after.workers) {
        if (w.worker == a && w.phase != WorkerPhase::kPending) ++arrived_members;
      }
    }
    if (arrived_members + after.missing.size() != members) {
      return absl::StrCat(arrived_members, " arrived + ", after.missing.size(),
                          " missing != ", members, " members");
    }
  }
  if (after.idle_fraction < 0.0 || after.idle_fraction > 1.0) {
    return absl::StrCat("idle fraction ", after.idle_fraction);
  }
  return "";
}

}  // namespace ebsp::core::testing
