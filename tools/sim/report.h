// Presents simulator results: a fixed-width table per trace for people, and
// one JSON object per line per (trace, policy) for scripts.
#ifndef EBSP_TOOLS_SIM_REPORT_H_
#define EBSP_TOOLS_SIM_REPORT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tools/sim/engine.h"

namespace ebsp::sim {

struct SimRow {
  std::string trace;
  std::string policy;  // The label, e.g. "ebsp:R=15" or "ebsp-oracle:R=15,...".
  SimMetrics metrics;
  // Throughput over ASP's on the same trace (ASP never waits: the limit).
  double throughput_vs_asp = 0;
};

// Sets throughput_vs_asp of every row from `asp_throughput` (rows of one
// trace). A zero ASP throughput leaves the ratios at 0.
void SetThroughputVsAsp(double asp_throughput, std::vector<SimRow>& rows);

// Header line naming the trace, column titles, one line per row.
std::string FormatTable(const std::vector<SimRow>& rows);

// One line, no trailing newline; keys: trace, policy, workers,
// iterations_total, throughput_iters_per_s, throughput_vs_asp,
// idle_fraction, mean_wait_s, max_staleness, max_total_lead, rounds,
// round_wait_s_total, round_predicted_wait_s_total, events.
std::string FormatJsonLine(const SimRow& row);

// --rounds_csv: the header line, then one line per recorded round of `row`
// (SimMetrics::round_log), each ending in a newline. Columns: trace, policy,
// round, began_s, released_s, members, plans, predicted_wait_s, actual_wait_s;
// the
// trace and policy are quoted (policy labels contain commas).
inline constexpr absl::string_view kRoundsCsvHeader =
    "trace,policy,round,began_s,released_s,members,plans,predicted_wait_s,actual_wait_s\n";
std::string FormatRoundsCsv(const SimRow& row);

// `text` as a JSON string literal, quotes included.
std::string JsonString(absl::string_view text);

}  // namespace ebsp::sim

#endif  // EBSP_TOOLS_SIM_REPORT_H_
