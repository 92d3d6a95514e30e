#include "tools/sim/report.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "tools/sim/engine.h"

namespace ebsp::sim {

void SetThroughputVsAsp(double asp_throughput, std::vector<SimRow>& rows) {
  for (SimRow& row : rows) {
    row.throughput_vs_asp =
        asp_throughput > 0 ? row.metrics.throughput_iters_per_s / asp_throughput : 0;
  }
}

std::string FormatTable(const std::vector<SimRow>& rows) {
  if (rows.empty()) return "";
  size_t width = 6;  // "policy"
  for (const SimRow& row : rows) width = std::max(width, row.policy.size());
  const int w = static_cast<int>(width);
  std::string out =
      absl::StrFormat("trace %s, %d workers\n", rows[0].trace, rows[0].metrics.workers);
  absl::StrAppendFormat(&out, "%-*s %10s %9s %7s %6s %10s %6s %7s\n", w, "policy", "iters",
                        "iters/s", "vs_asp", "idle", "mean_wait", "stale", "rounds");
  for (const SimRow& row : rows) {
    const SimMetrics& m = row.metrics;
    absl::StrAppendFormat(&out, "%-*s %10d %9.1f %7.3f %6.3f %9.4fs %6d %7d\n", w, row.policy,
                          m.iterations_total, m.throughput_iters_per_s, row.throughput_vs_asp,
                          m.idle_fraction, m.mean_wait_s, m.max_staleness, m.rounds);
  }
  return out;
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string FormatJsonLine(const SimRow& row) {
  const SimMetrics& m = row.metrics;
  return absl::StrFormat(
      "{\"trace\":%s,\"policy\":%s,\"workers\":%d,\"iterations_total\":%d,"
      "\"throughput_iters_per_s\":%.6g,\"throughput_vs_asp\":%.6g,"
      "\"idle_fraction\":%.6g,\"mean_wait_s\":%.6g,\"max_staleness\":%d,"
      "\"max_total_lead\":%d,\"rounds\":%d,\"round_wait_s_total\":%.6g,"
      "\"round_predicted_wait_s_total\":%.6g,\"events\":%d}",
      JsonString(row.trace), JsonString(row.policy), m.workers, m.iterations_total,
      m.throughput_iters_per_s, row.throughput_vs_asp, m.idle_fraction, m.mean_wait_s,
      m.max_staleness, m.max_total_lead, m.rounds, m.round_wait_s_total,
      m.round_predicted_wait_s_total, m.events);
}

namespace {

// A CSV field in double quotes, inner quotes doubled (RFC 4180).
std::string CsvQuoted(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string FormatRoundsCsv(const SimRow& row) {
  const std::string prefix = absl::StrCat(CsvQuoted(row.trace), ",", CsvQuoted(row.policy), ",");
  std::string out;
  for (const RoundRecord& r : row.metrics.round_log) {
    absl::StrAppendFormat(&out, "%s%d,%.6f,%.6f,%d,%d,%.6f,%.6f\n", prefix, r.round, r.began_s,
                          r.released_s, r.members, r.plans, r.predicted_wait_s, r.actual_wait_s);
  }
  return out;
}

}  // namespace ebsp::sim
