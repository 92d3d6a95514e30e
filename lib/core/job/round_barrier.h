// RoundBarrier: the round counter and the barrier's bookkeeping of one job
// under a policy with rounds (BSP, ElasticBSP, LOCAL_STEPS): which round
// runs, since when, how many live workers are pending, at the barrier or
// have made progress (counts, so that no event scans the workers), and what
// the round's plan predicted. It decides nothing about targets (the policy
// does) and holds no worker; JobState tells it what happened.
//
// Also the RoundMember views a policy sees of the workers.
//
// Internal to ebsp_core. Not thread-safe; the owning JobState serializes calls.
#ifndef EBSP_LIB_CORE_JOB_ROUND_BARRIER_H_
#define EBSP_LIB_CORE_JOB_ROUND_BARRIER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "lib/core/job/worker_record.h"
#include "lib/core/policy/policy.h"
#include "lib/core/types.h"

namespace ebsp::core {

class RoundBarrier {
 public:
  explicit RoundBarrier(absl::Time now) : began_(now) {}

  uint64_t round() const { return round_; }
  absl::Time began() const { return began_; }
  uint64_t completed() const { return completed_; }

  // A round is in progress once a live member has finished an iteration in
  // it (a member at the barrier has, since every target is at least 1).
  bool InProgress() const { return members_with_progress_ > 0; }
  // Every live member (a live worker that is not pending) has arrived.
  bool AllArrived(size_t live_workers) const {
    return arrived_members_ >= live_workers - pending_workers_;
  }

  void OnPendingJoined() { ++pending_workers_; }
  void OnFirstIteration() { ++members_with_progress_; }
  void OnArrived() { ++arrived_members_; }
  // `worker` is about to be removed; `rounds` says whether the job's policy
  // has rounds (progress is only counted then).
  void OnRemoved(const WorkerRecord& worker, bool rounds);

  // The barrier released at `now`: the next round begins, nobody is pending,
  // arrived or has progress in it.
  void Advance(absl::Time now);
  // A switch to a roundless policy (the job is empty): round 0 from `now`.
  void ResetToRoundZero(absl::Time now);

  // What the current round's plan said (ElasticBSP), for snapshots and the
  // round summary.
  void SetPlan(std::optional<absl::Time> sync_time, absl::Duration predicted_wait) {
    planned_sync_time_ = sync_time;
    predicted_wait_ = predicted_wait;
  }
  void ClearPlan() { SetPlan(std::nullopt, absl::ZeroDuration()); }
  const std::optional<absl::Time>& planned_sync_time() const { return planned_sync_time_; }
  absl::Duration predicted_wait() const { return predicted_wait_; }

 private:
  uint64_t round_ = 0;
  absl::Time began_;
  uint64_t completed_ = 0;
  size_t pending_workers_ = 0;
  size_t arrived_members_ = 0;        // Members at the barrier.
  size_t members_with_progress_ = 0;  // Members with done > 0.
  std::optional<absl::Time> planned_sync_time_;
  absl::Duration predicted_wait_;
};

// How a policy sees `worker` in the current round.
RoundMember ViewOf(const WorkerRecord& worker);
std::vector<RoundMember> ViewsOf(const std::vector<WorkerRecord*>& members);

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_ROUND_BARRIER_H_
