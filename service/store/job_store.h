// JobStore: where the coordinator keeps what a restart must not lose: the
// jobs (their spec, the hash of their token) and the names of each job's
// live workers (its roster, for the restart hold; docs/restart.md).
//
// The interface is deliberately narrow so that other backends (a file per
// job: file_job_store.h; etcd for HA: service/ha/etcd_job_store.h) fit behind it: load everything,
// put one job, delete one job. What the service relies on:
// - LoadAll runs when this process starts to lead: at start without HA, in
//   the elector's on_elected with HA (every election, after the jobs of an
//   earlier term were dropped). No call is admitted while it runs.
// - Put replaces the job's record atomically and durably before it returns:
//   a reader after a crash sees the old record or the new one, never a mix.
//   The service calls it (never under a job lock) when a job is created,
//   when its policy changes, for its roster at most once per
//   ServerOptions::roster_write_interval (1 s), and at shutdown or before
//   resigning the leadership.
//   Records of one job are written in order (JobEntry::Persist drops an
//   older one); different jobs may be written concurrently.
// - Delete only on DeleteJob. Losing the leadership, shutting down or
//   dropping jobs never deletes a record: they are the next leader's jobs.
// - Nothing else: no watch, no listing by prefix, no transactions across
//   jobs. A backend shared by replicas (etcd) must itself refuse writes of a
//   replica that no longer leads (fencing), since a call admitted just
//   before a deposition may still Put.
// Implementations are thread-safe.
#ifndef EBSP_SERVICE_STORE_JOB_STORE_H_
#define EBSP_SERVICE_STORE_JOB_STORE_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "elasticbsp/store/v1/job_record.pb.h"

namespace ebsp::server {

using JobRecord = ::elasticbsp::store::v1::JobRecord;

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Every stored job. Any record that cannot be read or parsed fails the
  // whole load with a status naming it and why: a coordinator must not
  // start with a job silently missing.
  virtual absl::StatusOr<std::vector<JobRecord>> LoadAll() = 0;
  // Creates or replaces the record of `record.job()`, durably.
  virtual absl::Status Put(const JobRecord& record) = 0;
  // Removes the record; OK if there is none.
  virtual absl::Status Delete(absl::string_view job) = 0;
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_STORE_JOB_STORE_H_
