// Membership: the live workers of one job, their names, Register request
// ids and leases, the membership fingerprint, and the memory of the ones
// that left. It answers "who is in the job" and "whose
// lease ran out"; it knows nothing of rounds, clocks or policies (JobState
// does the accounting of those before it removes a worker).
//
// Internal to ebsp_core. Not thread-safe; the owning JobState serializes calls.
#ifndef EBSP_LIB_CORE_JOB_MEMBERSHIP_H_
#define EBSP_LIB_CORE_JOB_MEMBERSHIP_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/core/job/departures.h"
#include "lib/core/job/worker_record.h"
#include "lib/core/types.h"

namespace ebsp::core {

class Membership {
 public:
  Membership(std::string job_name, int max_workers, absl::Duration heartbeat_timeout)
      : job_name_(std::move(job_name)),
        max_workers_(max_workers),
        heartbeat_timeout_(heartbeat_timeout) {}

  // Whether `id` and `name` may join: INVALID_ARGUMENT for a bad name,
  // ALREADY_EXISTS if the id or the name is live, RESOURCE_EXHAUSTED at
  // max_workers. Changes nothing.
  absl::Status CheckJoin(WorkerId id, std::string_view name) const;
  // Adds a worker that passed CheckJoin; bumps the epoch and the
  // fingerprint.
  WorkerRecord& Add(WorkerRecord worker);
  // Keys `worker`'s Register request id (non-empty) to it, for retries.
  void KeepRequestId(WorkerRecord& worker, std::string request_id);
  // Removes a live worker, remembering how and `why` it went for its later
  // calls; bumps the epoch and the fingerprint.
  void Remove(WorkerId id, DepartureKind kind, std::string why);

  // The live worker a Register with `request_id` added, or null.
  WorkerRecord* FindByRequestId(std::string_view request_id);
  // True if `id` is remembered as having left (not evicted).
  bool Left(WorkerId id) const { return departures_.Left(id); }
  // The live names, sorted.
  std::vector<std::string> LiveNames() const;
  bool IsLiveName(const std::string& name) const { return ids_by_name_.count(name) > 0; }

  // The live worker, or NOT_FOUND saying why not (never joined, left,
  // evicted).
  absl::StatusOr<WorkerRecord*> Find(WorkerId id);

  // Workers whose lease (last_seen + heartbeat timeout) ended before `now`.
  std::vector<WorkerId> Expired(absl::Time now) const;
  std::optional<absl::Time> NextLeaseExpiry() const;
  absl::Duration LeaseRemaining(const WorkerRecord& worker, absl::Time now) const;
  void CountEviction() { ++evictions_total_; }

  // Ordered by id: snapshots list workers sorted.
  std::map<WorkerId, WorkerRecord>& workers() { return workers_; }
  const std::map<WorkerId, WorkerRecord>& workers() const { return workers_; }
  bool Contains(WorkerId id) const { return workers_.count(id) > 0; }
  int size() const { return static_cast<int>(workers_.size()); }
  bool empty() const { return workers_.empty(); }
  // Bumps on every join, leave and eviction.
  uint64_t epoch() const { return epoch_; }
  // Sum of NameFingerprint over the live names (membership_fingerprint.h).
  uint64_t fingerprint() const { return fingerprint_; }
  uint64_t evictions_total() const { return evictions_total_; }
  int max_workers() const { return max_workers_; }
  absl::Duration heartbeat_timeout() const { return heartbeat_timeout_; }

 private:
  const std::string job_name_;
  const int max_workers_;
  const absl::Duration heartbeat_timeout_;
  std::map<WorkerId, WorkerRecord> workers_;
  absl::flat_hash_map<std::string, WorkerId> ids_by_name_;
  // Register idempotency keys of live workers (WorkerRecord has the answer).
  absl::flat_hash_map<std::string, WorkerId> ids_by_request_;
  Departures departures_;
  uint64_t epoch_ = 0;
  uint64_t fingerprint_ = 0;
  uint64_t evictions_total_ = 0;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_MEMBERSHIP_H_
