// ReportLoad: simulated workers that call ReportIteration (or the echo
// baseline's Echo) back to back as fast as the server answers, for
// ebsp-loadgen. Every worker is a small state machine driven by gRPC's
// callback API: no thread per worker, a few channels shared by all.
//
// Coordinator mode: each worker registers first (not measured), then loops
// report -> follow the directive (SYNC_NOW: Barrier; WAIT: WaitForClock) ->
// report. Only ReportIteration latency goes into the report histogram; the
// blocking calls have their own. Echo mode: the same loop against Echo.
//
// Bounded: the measured phase ends after `duration` (or `max_requests`
// reports); waiting calls are then cancelled, reports in flight finish or
// hit their `rpc_timeout`, so the run returns within `rpc_timeout` of the
// end (in practice milliseconds), plus the Leave calls.
//
// Churn (coordinator mode, `churn_interval` > 0): every interval,
// `churn_workers` running workers leave (Leave) and as many go silent (no
// call at all, so the coordinator evicts them when their lease expires);
// workers that left register again under the same name at the next churn
// event, silent ones once twice the lease has passed (they are evicted by
// then). Running workers heartbeat when they made no call for a quarter of
// the lease (a barrier held back by a silent worker lasts up to a lease).
// Every status but OK is unexpected and counted as an error.
#ifndef EBSP_TOOLS_LOADGEN_REPORT_LOAD_H_
#define EBSP_TOOLS_LOADGEN_REPORT_LOAD_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/cpp/ebsp/channel.h"
#include "elasticbsp/v1/coordinator.pb.h"
#include "tools/loadgen/latency_histogram.h"

namespace ebsp::loadgen {

enum class LoadMode { kCoordinator, kEcho };

struct LoadOptions {
  std::string target;             // host:port
  client::TlsChannelOptions tls;  // Plaintext unless tls.enabled.
  LoadMode mode = LoadMode::kCoordinator;
  int workers = 1000;
  // Zero (with no max_requests): register, then stop without reporting.
  absl::Duration duration = absl::Seconds(10);
  int64_t max_requests = 0;  // Reports; 0 means only `duration` bounds.
  std::string job = "loadgen";
  elasticbsp::v1::Policy policy;  // Used if Register creates the job.
  // Most reports in flight at once; 0 means one per worker.
  int concurrency = 0;
  int channels = 4;
  // The compute time each simulated iteration reports.
  absl::Duration compute = absl::Milliseconds(1);
  // A worker waits this long before each report (its iteration), so N
  // workers send about N / think reports per second; zero: back to back.
  absl::Duration think = absl::ZeroDuration();
  absl::Duration rpc_timeout = absl::Seconds(10);
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration drain_timeout = absl::Seconds(2);
  // Coordinator mode: Leave every worker at the end, so the job does not keep
  // them until their leases expire.
  bool leave_at_end = true;
  // Churn (see above); zero interval: none.
  absl::Duration churn_interval = absl::ZeroDuration();
  int churn_workers = 10;
  absl::Duration lease = absl::Seconds(10);  // The job's heartbeat timeout.
  uint64_t seed = 1;                         // Which workers churn.
  // > 0: the server's process on this machine; its CPU time (/proc/PID/stat)
  // is read when the measured phase starts and when it stops.
  int server_pid = 0;
};

struct LoadResult {
  absl::Duration register_elapsed;
  absl::Duration measured;  // The measured phase's wall time.
  int64_t reports_ok = 0;   // Completed OK within the measured phase.
  LatencyHistogram report_latency;
  int64_t blocking_ok = 0;            // Barrier and WaitForClock calls.
  LatencyHistogram blocking_latency;  // Includes the wait.
  // Failed calls of the measured phase by gRPC code name.
  std::map<std::string, int64_t> errors_by_code;
  int64_t errors_total = 0;
  // Calls that completed after the measured phase ended (cut short or not);
  // they count neither as throughput nor as errors.
  int64_t drained = 0;
  // Workers that stopped after an error (the rest kept going).
  int64_t workers_retired = 0;
  int64_t leave_errors = 0;
  // Churn: events run, workers that left, went silent (to be evicted),
  // registered again; heartbeats answered OK.
  int64_t churn_events = 0;
  int64_t churn_leaves = 0;
  int64_t churn_silenced = 0;
  int64_t churn_rejoins = 0;
  int64_t heartbeats_ok = 0;
  // CPU seconds the server_pid process used during the measured phase; < 0
  // when not measured.
  double server_cpu_seconds = -1;

  double reports_per_second() const;
};

// FAILED_PRECONDITION / UNAVAILABLE with the reason when the run could not
// start (target unreachable, registration refused); the result otherwise,
// errors included.
absl::StatusOr<LoadResult> RunReportLoad(const LoadOptions& options);

std::string LoadModeName(LoadMode mode);  // "coordinator", "echo"

// LoadMode as an absl flag type (--mode=coordinator|echo), for the tools'
// main()s: found by argument-dependent lookup.
bool AbslParseFlag(absl::string_view text, LoadMode* mode, std::string* error);
std::string AbslUnparseFlag(LoadMode mode);

// Human-readable summary, or one JSON object when `json`.
std::string FormatLoadResult(const LoadOptions& options, const LoadResult& result, bool json);

}  // namespace ebsp::loadgen

#endif  // EBSP_TOOLS_LOADGEN_REPORT_LOAD_H_
