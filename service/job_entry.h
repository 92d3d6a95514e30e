// JobEntry: one job as the service holds it: the core JobState behind the
// job's private mutex, the calls parked at its barrier, its metric series and
// the worker-slot table that bounds the per-worker series.
//
// The only way in is Lock(), which returns a JobEntry::Locked guard:
//
//   JobEntry::Locked job = entry->Lock();
//   if (absl::Status s = job.status(); !s.ok()) return s;   // deleted
//   absl::StatusOr<core::Effects> effects = job.state().Leave(worker, now);
//   ...
//   job.ApplyEffects(*effects, event_time);
//   return absl::OkStatus();  // ~Locked: unlock, then finish parked calls
//
// The guard owns the three things every handler needs in this order: the
// lock, the deleted check (status()), and the Completions of parked calls,
// which its destructor runs after unlocking, so no gRPC call is ever finished
// under a job lock. Lock order is registry mutex before job mutex.
// Thread-safe.
#ifndef EBSP_SERVICE_JOB_ENTRY_H_
#define EBSP_SERVICE_JOB_ENTRY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/job/job_state.h"
#include "service/auth/token_hash.h"
#include "service/metrics.h"
#include "service/store/job_store.h"
#include "service/waiting_call.h"

namespace ebsp::server {

// How a job came to be; kept for CreateJob retries and the job store.
struct JobOrigin {
  auth::TokenHash token;  // Empty: no token required.
  bool auto_created = false;
  std::string create_request_id;  // CreateJob's request_id; may be empty.
};

// A job record to write, numbered under the job lock so that an older
// record never overwrites a newer one (JobEntry::Persist).
struct NumberedRecord {
  JobRecord record;
  uint64_t seq = 0;
};

class JobEntry {
 public:
  class Locked;

  JobEntry(std::string name, core::JobOptions options, JobOrigin origin, absl::Time now,
           std::unique_ptr<JobMetrics> metrics);
  ~JobEntry();
  JobEntry(const JobEntry&) = delete;
  JobEntry& operator=(const JobEntry&) = delete;

  const std::string& name() const { return name_; }
  // Constant-time comparison of hashes; a job without a token accepts any
  // presented one.
  bool TokenMatches(absl::string_view presented) const { return origin_.token.Matches(presented); }
  bool has_token() const { return !origin_.token.empty(); }
  // The SHA-256 of the job's token (empty: none); the token itself is not kept.
  const auth::TokenHash& token_hash() const { return origin_.token; }
  const JobOrigin& origin() const { return origin_; }
  absl::Duration heartbeat_timeout() const { return heartbeat_timeout_; }

  // Writes `record` to `store` unless a record with a higher seq was written
  // already or the job was removed from the store. Serialized per job by
  // its own mutex, never under the job lock (file I/O).
  absl::Status Persist(JobStore& store, const NumberedRecord& record);
  // Removes the job's record; once that succeeded, later Persist calls of
  // this entry do nothing (a record that stays is still kept up to date).
  absl::Status Unpersist(JobStore& store);

  // Locks the job until the returned guard goes out of scope. The entry must
  // outlive the guard (handlers hold the registry's shared_ptr).
  Locked Lock();

 private:
  // The operations behind Locked; each needs the job lock.
  void ApplyEffects(const core::Effects& effects, absl::Duration event_time, Completions* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Park(WaitingCall* call, Completions* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Unpark(WaitingCall* call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnRegistered(const core::RegisterResult& result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnReported(core::WorkerId worker, int target, absl::Duration compute)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ExpireWaits(absl::Time now, absl::Duration deadline, Completions* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RefreshGauges(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailParked(core::WorkerId worker, const absl::Status& status, Completions* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DrainWaits(const absl::Status& status, Completions* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkDeleted(Completions* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotePolicyRequested(const core::PolicyConfig& requested) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckPolicyApplied(std::optional<uint64_t> from_round) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DeletedStatus() const;

  void AssignSlot(core::WorkerId worker, int target) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FreeSlot(core::WorkerId worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetTarget(core::WorkerId worker, int target) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateWaitingGauge() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string name_;
  const JobOrigin origin_;
  const absl::Duration heartbeat_timeout_;
  absl::Mutex mu_;
  // The live names changed since the roster was last handed out for writing.
  bool roster_dirty_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time roster_taken_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t record_seq_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex persist_mu_ ABSL_ACQUIRED_AFTER(mu_);
  uint64_t persisted_seq_ ABSL_GUARDED_BY(persist_mu_) = 0;
  bool unpersisted_ ABSL_GUARDED_BY(persist_mu_) = false;
  core::JobState state_ ABSL_GUARDED_BY(mu_);
  // Set once by DeleteJob; a handler that found the entry before the delete
  // answers NOT_FOUND.
  bool deleted_ ABSL_GUARDED_BY(mu_) = false;
  // Null once the job is deleted.
  std::unique_ptr<JobMetrics> metrics_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<core::WorkerId, WaitingCall*> waiting_ ABSL_GUARDED_BY(mu_);
  // Worker -> metric slot (w0..w{max-1}); slot_used_[i] marks taken slots.
  absl::flat_hash_map<core::WorkerId, int> slot_of_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> slot_used_ ABSL_GUARDED_BY(mu_);
  // The text of a policy UpdatePolicy accepted that has not taken effect yet
  // (it does at a round boundary); logged as policy_applied when it does.
  std::optional<std::string> pending_policy_ ABSL_GUARDED_BY(mu_);
};

// A job while its lock is held. Made only by JobEntry::Lock(); neither
// copyable nor movable, so it lives in exactly one scope. Its destructor
// unlocks the job and then finishes every call collected in completions().
class JobEntry::Locked {
 public:
  // Unlocks, then runs completions(). The analysis cannot follow a lock
  // owned by an object returned from a function, so the guard's methods
  // assert the lock (Mutex::AssertHeld) instead.
  ~Locked() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

  // OK while the job exists; NOT_FOUND ("job \"x\" was deleted") once
  // DeleteJob removed it, and then the handler must answer with it and touch
  // nothing else.
  absl::Status status() const;

  const std::string& name() const { return entry_.name(); }
  core::JobState& state();
  int waiting_calls() const;

  // Calls finished after unlocking. A handler adds a call it answers at once
  // (so that it, too, is finished without the lock).
  Completions& completions() { return completions_; }

  // Turns core Effects into calls to finish and metric updates, in O(size
  // of the effects): replies read the core's O(1) membership epoch and the
  // clocks each Release carries, never a snapshot. `event_time` is the wall
  // time the core event took (counted as planning time when the core ran
  // ZipLine).
  void ApplyEffects(const core::Effects& effects, absl::Duration event_time);

  // Parks `call` for its worker. A call of the same worker already parked
  // (a retry the server has not seen cancelled yet) is superseded: it ends
  // with CANCELLED.
  void Park(WaitingCall* call);
  // Removes `call` if it is still parked; true means the caller now owns
  // finishing it.
  bool Unpark(WaitingCall* call);

  // Bookkeeping after a successful Register, report and Leave.
  void OnRegistered(const core::RegisterResult& result);
  void OnReported(core::WorkerId worker, int target, absl::Duration compute);
  void OnLeft(core::WorkerId worker);

  // Fails parked calls older than `deadline` with DEADLINE_EXCEEDED naming
  // the missing workers, and refreshes the waiting-call gauges.
  void ExpireWaits(absl::Time now, absl::Duration deadline);
  // Refreshes gauges that need a snapshot (idle fraction, staleness, epoch).
  void RefreshGauges(absl::Time now);
  // Fails the parked call of `worker`, if any, with `status` (it left).
  void FailParked(core::WorkerId worker, const absl::Status& status);
  // Finishes every parked call with `status` (shutdown).
  void DrainWaits(const absl::Status& status);
  // Marks the job deleted and drops its metric series; parked calls end
  // with NOT_FOUND.
  void MarkDeleted();
  // After a successful core UpdatePolicy: logs the request, and logs
  // policy_applied when the policy is in force (now or at a round boundary).
  void NotePolicyRequested(const core::PolicyConfig& requested);

  // The job's record as the store keeps it (spec, token hash, roster = live
  // names plus names a restart hold still awaits). O(workers).
  NumberedRecord Record(absl::Time now);
  // The record if the live names changed and the last roster was taken at
  // least `interval` ago (coalescing: rosters are never written per event).
  std::optional<NumberedRecord> TakeRosterIfDue(absl::Time now, absl::Duration interval);
  // After a failed write: try again at the next due time.
  void MarkRosterDirty();

 private:
  friend class JobEntry;
  explicit Locked(JobEntry& entry) ABSL_NO_THREAD_SAFETY_ANALYSIS;

  JobEntry& entry_;
  Completions completions_;
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_JOB_ENTRY_H_
