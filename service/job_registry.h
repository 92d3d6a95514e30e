// JobRegistry: the coordinator's jobs by name, and the source of worker ids.
//
// Lookups take a reader lock and hand out shared_ptrs, so a handler keeps its
// JobEntry alive even if the job is deleted meanwhile (it then sees
// JobEntry::deleted()). Worker ids are random non-zero 64-bit values from an
// OS-seeded generator: unique across jobs in practice and unpredictable
// across restarts, so an id from before a restart is NOT_FOUND, not someone
// else's. Thread-safe.
#ifndef EBSP_SERVICE_JOB_REGISTRY_H_
#define EBSP_SERVICE_JOB_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/job/job_state.h"
#include "service/job_entry.h"
#include "service/metrics.h"
#include "service/waiting_call.h"

namespace ebsp::server {

class JobRegistry {
 public:
  // `metrics` is borrowed and must outlive the registry.
  JobRegistry(Metrics* metrics, int max_jobs);

  struct Created {
    std::shared_ptr<JobEntry> entry;
    bool created = false;
  };
  // Creates the job. ALREADY_EXISTS if it exists (unless `existing_ok`, which
  // returns the existing one with created=false); RESOURCE_EXHAUSTED at
  // max_jobs.
  absl::StatusOr<Created> Create(const std::string& name, core::JobOptions options,
                                 JobOrigin origin, absl::Time now, bool existing_ok);

  // NOT_FOUND naming the job if it does not exist.
  absl::StatusOr<std::shared_ptr<JobEntry>> Find(absl::string_view name) const;

  // Removes the job; its parked calls are added to `out` with NOT_FOUND, to
  // be finished once the registry lock is released too. NOT_FOUND naming the
  // job if it does not exist.
  absl::Status Delete(absl::string_view name, Completions* out);

  // Removes every job; their parked calls are added to `out` with `status`.
  void Clear(const absl::Status& status, Completions* out);

  // Every job, sorted by name.
  std::vector<std::shared_ptr<JobEntry>> All() const;

  // A fresh random worker id, never 0.
  core::WorkerId NewWorkerId();

 private:
  Metrics* const metrics_;
  const int max_jobs_;
  mutable absl::Mutex mu_;
  absl::btree_map<std::string, std::shared_ptr<JobEntry>, std::less<>> jobs_ ABSL_GUARDED_BY(mu_);
  absl::Mutex id_mu_;
  absl::BitGen id_gen_ ABSL_GUARDED_BY(id_mu_);
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_JOB_REGISTRY_H_
