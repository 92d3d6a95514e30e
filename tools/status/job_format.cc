#include "tools/status/job_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/cpp/ebsp/policy_text.h"
#include "google/protobuf/util/json_util.h"
#include "lib/core/job/stragglers.h"

namespace ebsp::status {
namespace {

namespace v1 = ::elasticbsp::v1;

std::string StateName(v1::WorkerState state) {
  switch (state) {
    case v1::WORKER_STATE_PENDING:
      return "PENDING";
    case v1::WORKER_STATE_RUNNING:
      return "RUNNING";
    case v1::WORKER_STATE_AT_BARRIER:
      return "AT_BARRIER";
    case v1::WORKER_STATE_WAITING_CLOCK:
      return "WAITING_CLOCK";
    default:
      return "UNSPECIFIED";
  }
}

std::string Seconds(double s) { return absl::StrFormat("%.3fs", s); }

void AppendBarrier(const v1::Job& job, const TextOptions& options, std::string& out) {
  const v1::BarrierStatus& b = job.barrier();
  absl::StrAppendFormat(&out, "  barrier of round %d: %d arrived, %d missing", b.round(),
                        b.arrived_worker_ids_size(), b.missing_worker_ids_size());
  if (b.missing_worker_ids_size() > 0) {
    std::vector<std::string> missing;
    const int shown = options.max_missing_names > 0
                          ? std::min(options.max_missing_names, b.missing_worker_ids_size())
                          : b.missing_worker_ids_size();
    for (int i = 0; i < shown; ++i) {
      const std::string name =
          i < b.missing_worker_names_size() ? b.missing_worker_names(i) : std::string("?");
      missing.push_back(absl::StrCat(name, " (", b.missing_worker_ids(i), ")"));
    }
    absl::StrAppend(&out, ": ", absl::StrJoin(missing, ", "));
    if (shown < b.missing_worker_ids_size()) {
      absl::StrAppend(&out, " ... and ", b.missing_worker_ids_size() - shown, " more");
    }
  }
  if (b.arrived_worker_ids_size() > 0) {
    absl::StrAppend(&out, "; first arrival ", Seconds(b.seconds_since_first_arrival()), " ago");
  }
  if (b.planned_sync_after_seconds() > 0) {
    absl::StrAppend(&out, "; planned sync ", Seconds(b.planned_sync_after_seconds()),
                    " after the round began");
  }
  absl::StrAppend(&out, "\n");
}

// The same ranking as the coordinator's ebsp_straggler_* series.
void AppendSlowest(const v1::Job& job, std::string& out) {
  std::vector<core::WorkerInterval> intervals;
  intervals.reserve(job.workers_size());
  for (const v1::WorkerStatus& w : job.workers()) {
    intervals.push_back({w.worker_id(), w.name(), absl::Seconds(w.last_compute_seconds())});
  }
  const std::vector<core::Straggler> slowest = core::SlowestWorkers(std::move(intervals), 3);
  if (slowest.empty()) return;
  std::vector<std::string> shown;
  for (const core::Straggler& s : slowest) {
    shown.push_back(absl::StrFormat("%s %s (%.2fx median)", s.name,
                                    Seconds(absl::ToDoubleSeconds(s.interval)), s.ratio_to_median));
  }
  absl::StrAppend(&out, "  slowest: ", absl::StrJoin(shown, ", "), "\n");
}

}  // namespace

std::string FormatJobText(const v1::Job& job, const TextOptions& options) {
  std::string out =
      absl::StrFormat("job %s  policy %s  round %d (%d completed)  membership epoch %d\n",
                      job.spec().job(), client::PolicyToText(job.spec().policy()), job.round(),
                      job.rounds_completed(), job.membership_epoch());
  absl::StrAppendFormat(&out, "  %d workers, idle %.1f%%, %d evictions", job.workers_size(),
                        100.0 * job.idle_fraction(), job.evictions_total());
  if (job.has_pending_policy() && job.pending_policy().kind() != v1::POLICY_KIND_UNSPECIFIED) {
    absl::StrAppend(&out, ", next round's policy ", client::PolicyToText(job.pending_policy()));
  }
  absl::StrAppend(&out, "\n");
  if (client::HasRounds(job.spec().policy())) AppendBarrier(job, options, out);
  AppendSlowest(job, out);
  if (job.workers_size() == 0) return out;

  absl::StrAppendFormat(&out, "  %-20s %-24s %-13s %9s %10s %10s %10s %9s %9s\n", "ID", "NAME",
                        "STATE", "ITER/TGT", "TOTAL", "LAST_ITER", "INTERVAL", "SEEN_AGO", "LEASE");
  const int shown = options.max_workers > 0 ? std::min(options.max_workers, job.workers_size())
                                            : job.workers_size();
  for (int i = 0; i < shown; ++i) {
    const v1::WorkerStatus& w = job.workers(i);
    absl::StrAppendFormat(
        &out, "  %-20d %-24s %-13s %9s %10d %10s %10s %9s %9s\n", w.worker_id(), w.name(),
        StateName(w.state()), absl::StrCat(w.iterations_in_round(), "/", w.target()),
        w.iterations_total(), Seconds(w.last_compute_seconds()),
        Seconds(w.predicted_interval_seconds()), Seconds(w.seconds_since_last_seen()),
        Seconds(w.lease_remaining_seconds()));
  }
  if (shown < job.workers_size()) {
    absl::StrAppendFormat(&out, "  ... %d more workers (--max_workers=0 or --json lists all)\n",
                          job.workers_size() - shown);
  }
  return out;
}

std::string FormatJobsText(const v1::ListJobsResponse& jobs, const TextOptions& options) {
  if (jobs.jobs_size() == 0) return "no jobs\n";
  std::string out;
  for (int i = 0; i < jobs.jobs_size(); ++i) {
    if (i > 0) absl::StrAppend(&out, "\n");
    absl::StrAppend(&out, FormatJobText(jobs.jobs(i), options));
  }
  return out;
}

std::string FormatJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions json_options;
  json_options.preserve_proto_field_names = true;
  json_options.always_print_primitive_fields = true;
  json_options.always_print_enums_as_ints = false;
  std::string out;
  // Only fails for malformed Any fields, which the API does not have.
  (void)google::protobuf::util::MessageToJsonString(message, &out, json_options);
  return out;
}

}  // namespace ebsp::status
