#include "tests/fuzz/service_checks.h"

#include <cmath>
#include <initializer_list>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "lib/core/job/membership_fingerprint.h"
#include "service/validation.h"

namespace ebsp::fuzz {
namespace {

using Code = absl::StatusCode;

bool OneOf(Code code, std::initializer_list<Code> codes) {
  for (Code c : codes) {
    if (c == code) return true;
  }
  return false;
}

// Finite and >= 0: every duration and fraction the service reports.
bool Seconds(double s) { return std::isfinite(s) && s >= 0; }

}  // namespace

const char* RequestName(Request request) {
  switch (request) {
    case Request::kCreateJob:
      return "CreateJob";
    case Request::kGetJob:
      return "GetJob";
    case Request::kListJobs:
      return "ListJobs";
    case Request::kUpdatePolicy:
      return "UpdatePolicy";
    case Request::kDeleteJob:
      return "DeleteJob";
    case Request::kRegister:
      return "Register";
    case Request::kReport:
      return "ReportIteration";
    case Request::kBarrier:
      return "Barrier";
    case Request::kWaitForClock:
      return "WaitForClock";
    case Request::kHeartbeat:
      return "Heartbeat";
    case Request::kLeave:
      return "Leave";
  }
  return "?";
}

std::string CheckStatus(Request request, Answer answer, const absl::Status& status) {
  if (status.ok()) return "";
  if (status.message().empty()) return absl::StrCat(RequestName(request), ": empty error message");
  const Code code = status.code();
  bool documented = false;
  switch (request) {
    case Request::kCreateJob:
      // UNAVAILABLE: the job store cannot write the new job.
      documented =
          OneOf(code, {Code::kInvalidArgument, Code::kAlreadyExists, Code::kResourceExhausted,
                       Code::kUnauthenticated, Code::kPermissionDenied, Code::kUnavailable});
      break;
    case Request::kGetJob:
    case Request::kHeartbeat:
    case Request::kLeave:
      documented = OneOf(code, {Code::kInvalidArgument, Code::kNotFound});
      break;
    case Request::kListJobs:
      break;  // "No errors."
    case Request::kUpdatePolicy:
      documented = OneOf(code, {Code::kInvalidArgument, Code::kNotFound, Code::kFailedPrecondition,
                                Code::kUnauthenticated, Code::kPermissionDenied});
      break;
    case Request::kDeleteJob:
      // UNAVAILABLE: the job store cannot delete its record (nothing deleted).
      documented = OneOf(code, {Code::kInvalidArgument, Code::kNotFound, Code::kUnauthenticated,
                                Code::kPermissionDenied, Code::kUnavailable});
      break;
    case Request::kRegister:
      documented =
          OneOf(code, {Code::kInvalidArgument, Code::kNotFound, Code::kPermissionDenied,
                       Code::kUnauthenticated, Code::kAlreadyExists, Code::kResourceExhausted,
                       // The job store cannot write the job it would create.
                       Code::kUnavailable});
      break;
    case Request::kReport:
      documented =
          OneOf(code, {Code::kInvalidArgument, Code::kNotFound, Code::kFailedPrecondition});
      break;
    case Request::kBarrier:
    case Request::kWaitForClock:
      switch (answer) {
        case Answer::kImmediate:
          // A retry of a released wait is answered at once (OK); a wait
          // that cannot park fails at once.
          documented =
              OneOf(code, {Code::kInvalidArgument, Code::kNotFound, Code::kFailedPrecondition});
          break;
        case Answer::kParked:
          // Evicted, left or deleted while parked; deadline; superseded by
          // a newer wait of the same worker (CANCELLED).
          documented = OneOf(code, {Code::kNotFound, Code::kDeadlineExceeded, Code::kCancelled});
          break;
        case Answer::kShutdown:
          documented = code == Code::kUnavailable;
          break;
      }
      break;
  }
  if (documented) return "";
  return absl::StrCat(RequestName(request), " answered an undocumented ", status.ToString());
}

uint64_t FingerprintOf(const v1::Job& job) {
  uint64_t sum = 0;
  for (const v1::WorkerStatus& w : job.workers()) sum += core::NameFingerprint(w.name());
  return sum;
}

std::string CheckJob(const v1::Job& job) {
  const std::string& name = job.spec().job();
  auto broken = [&](auto&&... what) { return absl::StrCat("job \"", name, "\": ", what...); };
  if (!server::ValidateJobName(name).ok()) return broken("invalid name in its view");
  if (job.spec().max_workers() == 0) return broken("max_workers 0");
  if (static_cast<uint32_t>(job.workers_size()) > job.spec().max_workers()) {
    return broken(job.workers_size(), " workers, max_workers ", job.spec().max_workers());
  }
  if (!Seconds(job.spec().heartbeat_timeout_seconds()) ||
      job.spec().heartbeat_timeout_seconds() == 0) {
    return broken("heartbeat timeout ", job.spec().heartbeat_timeout_seconds());
  }
  if (!Seconds(job.idle_fraction()) || job.idle_fraction() > 1) {
    return broken("idle fraction ", job.idle_fraction());
  }
  absl::flat_hash_set<uint64_t> ids;
  absl::flat_hash_set<std::string> names;
  for (const v1::WorkerStatus& w : job.workers()) {
    if (w.worker_id() == 0) return broken("worker id 0");
    if (!ids.insert(w.worker_id()).second) return broken("worker id ", w.worker_id(), " twice");
    if (!names.insert(w.name()).second) return broken("worker name ", w.name(), " twice");
    if (!server::ValidateWorkerName(w.name()).ok()) return broken("invalid worker name");
    if (w.state() == v1::WORKER_STATE_UNSPECIFIED) return broken(w.name(), " has no state");
    if (!Seconds(w.last_compute_seconds()) || !Seconds(w.predicted_interval_seconds()) ||
        !Seconds(w.seconds_since_last_seen()) || !Seconds(w.lease_remaining_seconds())) {
      return broken(w.name(), " has a negative or non-finite time");
    }
    if (w.iterations_in_round() > w.iterations_total()) {
      return broken(w.name(), " has ", w.iterations_in_round(), " iterations in the round of ",
                    w.iterations_total());
    }
  }
  if (job.membership_fingerprint() != FingerprintOf(job)) {
    return broken("membership fingerprint ", job.membership_fingerprint(), ", its names make ",
                  FingerprintOf(job));
  }
  const v1::BarrierStatus& barrier = job.barrier();
  if (barrier.round() != job.round()) return broken("barrier of round ", barrier.round());
  if (barrier.missing_worker_ids_size() != barrier.missing_worker_names_size()) {
    return broken("missing ids and names differ in number");
  }
  absl::flat_hash_set<uint64_t> arrived;
  for (uint64_t id : barrier.arrived_worker_ids()) {
    if (!ids.contains(id)) return broken("arrived worker ", id, " is not a worker");
    if (!arrived.insert(id).second) return broken("worker ", id, " arrived twice");
  }
  for (uint64_t id : barrier.missing_worker_ids()) {
    if (!ids.contains(id)) return broken("missing worker ", id, " is not a worker");
    if (arrived.contains(id)) return broken("worker ", id, " both arrived and missing");
  }
  for (const std::string& missing : barrier.missing_worker_names()) {
    if (!names.contains(missing)) return broken("missing name ", missing, " is not a worker");
  }
  if (!Seconds(barrier.planned_sync_after_seconds()) ||
      !Seconds(barrier.seconds_since_first_arrival())) {
    return broken("barrier has a negative or non-finite time");
  }
  return "";
}

std::string CheckJobs(const v1::ListJobsResponse& jobs, int max_jobs) {
  if (jobs.jobs_size() > max_jobs) return absl::StrCat(jobs.jobs_size(), " jobs of ", max_jobs);
  for (int i = 0; i < jobs.jobs_size(); ++i) {
    if (i > 0 && !(jobs.jobs(i - 1).spec().job() < jobs.jobs(i).spec().job())) {
      return absl::StrCat("ListJobs not sorted or not unique at ", jobs.jobs(i).spec().job());
    }
    if (std::string broken = CheckJob(jobs.jobs(i)); !broken.empty()) return broken;
  }
  return "";
}

}  // namespace ebsp::fuzz
