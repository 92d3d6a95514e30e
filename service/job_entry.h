// JobEntry: one job as the service holds it: the core JobState behind the
// job's mutex, the calls parked at its barrier, its metric series and the
// worker-slot table that bounds the per-worker series.
//
// Every RPC handler locks `mu`, calls the core with the clock's `now`, then
// calls ApplyEffects, which turns the core's Effects into parked calls to
// finish (returned as Completions, run after unlocking) and metric updates.
// Thread-safe through `mu`; lock order is registry mutex before job mutex.
#ifndef EBSP_SERVICE_JOB_ENTRY_H_
#define EBSP_SERVICE_JOB_ENTRY_H_

#include <grpcpp/support/status.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/job/job_state.h"
#include "service/metrics.h"
#include "service/waiting_call.h"

namespace ebsp::server {

class JobEntry {
 public:
  JobEntry(std::string name, core::JobOptions options, std::string auth_token, absl::Time now,
           std::unique_ptr<JobMetrics> metrics);
  ~JobEntry();
  JobEntry(const JobEntry&) = delete;
  JobEntry& operator=(const JobEntry&) = delete;

  const std::string& name() const { return name_; }
  // Constant-time comparison; an empty job token accepts any presented one.
  bool TokenMatches(absl::string_view presented) const;
  bool has_token() const { return !auth_token_.empty(); }

  absl::Mutex mu;

  core::JobState& state() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return state_; }
  // Set once by DeleteJob; a handler that found the entry before the delete
  // answers NOT_FOUND.
  bool deleted() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return deleted_; }
  // NOT_FOUND for calls that reach the job after (or as) it is deleted.
  grpc::Status DeletedStatus() const;

  // Metrics of the job; null once the job is deleted.
  JobMetrics* metrics() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return metrics_.get(); }

  // Turns core Effects into calls to finish and metric updates, in O(size
  // of the effects): replies read the core's O(1) membership epoch and the
  // clocks each Release carries, never a snapshot. `event_time` is the wall
  // time the core event took (counted as planning time when the core ran
  // ZipLine).
  void ApplyEffects(const core::Effects& effects, absl::Duration event_time, Completions* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  absl::Duration heartbeat_timeout() const { return heartbeat_timeout_; }

  // Parks `call` for its worker. A call of the same worker already parked
  // (a retry the server has not seen cancelled yet) is superseded: it goes
  // to `out` with CANCELLED.
  void Park(WaitingCall* call, Completions* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Removes `call` if it is still parked; true means the caller now owns
  // finishing it.
  bool Unpark(WaitingCall* call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Bookkeeping after a successful Register.
  void OnRegistered(const core::RegisterResult& result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Bookkeeping after a successful report of `worker` with its target.
  void OnReported(core::WorkerId worker, int target, absl::Duration compute)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Bookkeeping after a successful Leave.
  void OnLeft(core::WorkerId worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Fails parked calls older than `deadline` with DEADLINE_EXCEEDED naming
  // the missing workers, and refreshes the waiting-call gauges.
  void ExpireWaits(absl::Time now, absl::Duration deadline, Completions* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Refreshes gauges that need a snapshot (idle fraction, staleness, epoch).
  void RefreshGauges(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Fails the parked call of `worker`, if any, with `status` (it left).
  void FailParked(core::WorkerId worker, const grpc::Status& status, Completions* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Finishes every parked call with `status` (shutdown, DeleteJob).
  void DrainWaits(const grpc::Status& status, Completions* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Marks the job deleted and drops its metric series; parked calls end
  // with NOT_FOUND.
  void MarkDeleted(Completions* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  int waiting_calls() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return static_cast<int>(waiting_.size());
  }

 private:
  void AssignSlot(core::WorkerId worker, int target) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void FreeSlot(core::WorkerId worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void SetTarget(core::WorkerId worker, int target) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void UpdateWaitingGauge() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  const std::string name_;
  const std::string auth_token_;
  const absl::Duration heartbeat_timeout_;
  core::JobState state_ ABSL_GUARDED_BY(mu);
  bool deleted_ ABSL_GUARDED_BY(mu) = false;
  std::unique_ptr<JobMetrics> metrics_ ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<core::WorkerId, WaitingCall*> waiting_ ABSL_GUARDED_BY(mu);
  // Worker -> metric slot (w0..w{max-1}); slot_used_[i] marks taken slots.
  absl::flat_hash_map<core::WorkerId, int> slot_of_ ABSL_GUARDED_BY(mu);
  std::vector<bool> slot_used_ ABSL_GUARDED_BY(mu);
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_JOB_ENTRY_H_
