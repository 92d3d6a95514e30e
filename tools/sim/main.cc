// ebsp-sim: compares synchronization policies by replaying iteration-time
// traces through the real coordinator core in virtual time. See
// tools/sim/README.md for the trace suite, the timing model and results.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/cli/usage.h"
#include "lib/core/policy/policy_config.h"
#include "tools/sim/engine.h"
#include "tools/sim/policy_list.h"
#include "tools/sim/report.h"
#include "tools/sim/trace.h"
#include "tools/sim/trace_csv.h"

ABSL_FLAG(std::string, trace, "all",
          "Synthetic trace(s): static, transient, periodic, noise, mix, a "
          "comma-separated list of them, or all.");
ABSL_FLAG(std::string, trace_csv, "",
          "Replay this CSV trace (worker,iteration,seconds) instead of the "
          "synthetic suite.");
ABSL_FLAG(std::string, write_trace_csv, "",
          "Export the (single) selected trace to this CSV path, then simulate.");
ABSL_FLAG(int, workers, 16, "Workers in synthetic traces.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the synthetic traces.");
ABSL_FLAG(absl::Duration, base_iteration, absl::Milliseconds(100),
          "Compute time of one iteration at speed 1 in synthetic traces.");
ABSL_FLAG(std::string, policies, "all",
          "Comma-separated policies as ParsePolicy texts, or all (= "
          "bsp,asp,ssp:s=3,dssp:s=3,r=12,local:H=4,ebsp:R=15,ebsp:R=15,objective=total_wait).");
ABSL_FLAG(bool, oracle, true,
          "Also run every ElasticBSP policy with the clairvoyant predictor "
          "(reported as ebsp-oracle:...).");
ABSL_FLAG(absl::Duration, duration, ebsp::sim::kDefaultSimDuration,
          "Virtual time simulated per (trace, policy).");
ABSL_FLAG(absl::Duration, sync_cost, absl::ZeroDuration(),
          "Virtual time every barrier release costs before the released "
          "workers compute again (the all-reduce after a sync).");
ABSL_FLAG(int64_t, max_events, ebsp::sim::kDefaultMaxEvents,
          "Bound on iteration ends per simulation.");
ABSL_FLAG(bool, json, false,
          "Print one JSON object per line per (trace, policy) instead of "
          "tables.");
ABSL_FLAG(std::string, rounds_csv, "",
          "Also write every completed round (predicted and actual wait) of every run to this "
          "CSV: trace,policy,round,began_s,released_s,members,plans,predicted_wait_s,"
          "actual_wait_s.");
ABSL_FLAG(bool, progress, true, "Print a progress line per run on stderr.");

namespace ebsp::sim {
namespace {

absl::StatusOr<std::vector<Trace>> LoadTraces() {
  std::vector<Trace> traces;
  const std::string csv = absl::GetFlag(FLAGS_trace_csv);
  if (!csv.empty()) {
    absl::StatusOr<Trace> trace = ReadTraceCsv(csv);
    if (!trace.ok()) return trace.status();
    traces.push_back(*std::move(trace));
    return traces;
  }
  SuiteOptions suite;
  suite.workers = absl::GetFlag(FLAGS_workers);
  suite.seed = absl::GetFlag(FLAGS_seed);
  suite.base_iteration = absl::GetFlag(FLAGS_base_iteration);
  // A worker computes at most `duration` in a run, so the trace never wraps.
  suite.length = absl::GetFlag(FLAGS_duration);
  std::vector<TraceKind> kinds;
  const std::string names = absl::GetFlag(FLAGS_trace);
  if (names == "all") {
    kinds.assign(std::begin(kAllTraceKinds), std::end(kAllTraceKinds));
  } else {
    for (absl::string_view name : absl::StrSplit(names, ',')) {
      absl::StatusOr<TraceKind> kind = ParseTraceKind(name);
      if (!kind.ok()) return kind.status();
      kinds.push_back(*kind);
    }
  }
  for (TraceKind kind : kinds) {
    absl::StatusOr<Trace> trace = MakeSuiteTrace(kind, suite);
    if (!trace.ok()) return trace.status();
    traces.push_back(*std::move(trace));
  }
  return traces;
}

absl::StatusOr<SimRow> RunOne(const Trace& trace, const SimPolicy& policy) {
  SimOptions options;
  options.policy = policy.config;
  options.oracle = policy.oracle;
  options.duration = absl::GetFlag(FLAGS_duration);
  options.sync_cost = absl::GetFlag(FLAGS_sync_cost);
  options.max_events = absl::GetFlag(FLAGS_max_events);
  options.record_rounds = !absl::GetFlag(FLAGS_rounds_csv).empty();
  const absl::Time began = absl::Now();
  absl::StatusOr<SimMetrics> metrics = Simulate(trace, options);
  if (!metrics.ok()) return metrics.status();
  if (absl::GetFlag(FLAGS_progress)) {
    absl::FPrintF(stderr, "ebsp-sim: %s / %s: %d iterations, %d events in %s\n", trace.name,
                  policy.label, metrics->iterations_total, metrics->events,
                  absl::FormatDuration(absl::Trunc(absl::Now() - began, absl::Milliseconds(1))));
  }
  return SimRow{trace.name, policy.label, *metrics, 0};
}

absl::Status Run() {
  absl::StatusOr<std::vector<SimPolicy>> policies =
      ParsePolicyList(absl::GetFlag(FLAGS_policies), absl::GetFlag(FLAGS_oracle));
  if (!policies.ok()) return policies.status();
  absl::StatusOr<std::vector<Trace>> traces = LoadTraces();
  if (!traces.ok()) return traces.status();

  const std::string export_path = absl::GetFlag(FLAGS_write_trace_csv);
  if (!export_path.empty()) {
    if (traces->size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--write_trace_csv needs exactly one trace, --trace selects ", traces->size()));
    }
    if (absl::Status s = WriteTraceCsv(traces->front(), export_path); !s.ok()) {
      return s;
    }
  }

  std::ofstream rounds_csv;
  if (const std::string path = absl::GetFlag(FLAGS_rounds_csv); !path.empty()) {
    rounds_csv.open(path, std::ios::out | std::ios::trunc);
    if (!rounds_csv) {
      return absl::InvalidArgumentError(absl::StrCat("--rounds_csv: cannot write '", path, "'"));
    }
    rounds_csv << kRoundsCsvHeader;
  }

  const SimPolicy asp_baseline{"asp", core::PolicyConfig{core::PolicyKind::kAsp}, false};
  for (const Trace& trace : *traces) {
    std::vector<SimRow> rows;
    double asp_throughput = -1;
    for (const SimPolicy& policy : *policies) {
      absl::StatusOr<SimRow> row = RunOne(trace, policy);
      if (!row.ok()) return row.status();
      if (policy.config.kind == core::PolicyKind::kAsp && asp_throughput < 0) {
        asp_throughput = row->metrics.throughput_iters_per_s;
      }
      rows.push_back(*std::move(row));
    }
    if (asp_throughput < 0) {
      // Not asked for, but every row is reported relative to it.
      absl::StatusOr<SimRow> asp = RunOne(trace, asp_baseline);
      if (!asp.ok()) return asp.status();
      asp_throughput = asp->metrics.throughput_iters_per_s;
    }
    SetThroughputVsAsp(asp_throughput, rows);
    if (rounds_csv.is_open()) {
      for (const SimRow& row : rows) rounds_csv << FormatRoundsCsv(row);
      rounds_csv.flush();
      if (!rounds_csv) {
        return absl::DataLossError(
            absl::StrCat("--rounds_csv: writing '", absl::GetFlag(FLAGS_rounds_csv), "' failed"));
      }
    }
    if (absl::GetFlag(FLAGS_json)) {
      for (const SimRow& row : rows) {
        absl::PrintF("%s\n", FormatJsonLine(row));
      }
    } else {
      absl::PrintF("%s\n", FormatTable(rows));
    }
    std::fflush(stdout);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace ebsp::sim

int main(int argc, char** argv) {
  ebsp::cli::InitUsage("ebsp-sim",
                       "Compares synchronization policies (BSP, ASP, SSP, local steps, "
                       "ElasticBSP) on iteration-time traces, in virtual time, through the "
                       "coordinator's core. Example: ebsp-sim --trace=all --workers=16");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    absl::FPrintF(stderr, "ebsp-sim: unexpected argument '%s'\n", rest[1]);
    return 2;
  }
  if (absl::Status s = ebsp::sim::Run(); !s.ok()) {
    absl::FPrintF(stderr, "ebsp-sim: %s\n", s.ToString());
    return 1;
  }
  return 0;
}
