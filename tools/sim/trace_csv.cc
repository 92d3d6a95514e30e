#include "tools/sim/trace_csv.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ebsp::sim {
namespace {

constexpr absl::string_view kHeader = "worker,iteration,seconds";
// Bounds that keep a malformed file from allocating without limit.
constexpr int64_t kMaxWorkers = 100'000;
constexpr int64_t kMaxIterations = 100'000'000;
// One iteration may take at most a day; more is surely a unit mistake.
constexpr double kMaxSeconds = 86'400;

struct Row {
  int64_t worker = 0;
  int64_t iteration = 0;
  int64_t nanos = 0;
  int line = 0;
};

absl::Status LineError(absl::string_view source, int line, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(source, ":", line, ": ", message));
}

}  // namespace

absl::StatusOr<Trace> ParseTraceCsv(absl::string_view text, absl::string_view source) {
  // Rows are collected and sorted rather than placed by index, so memory
  // follows the file's size, not the largest index a row names.
  std::vector<Row> rows;
  bool header_seen = false;
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_number;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#') continue;
    if (!header_seen) {
      if (line != kHeader) {
        return LineError(source, line_number,
                         absl::StrCat("expected the header '", kHeader, "', got '", line, "'"));
      }
      header_seen = true;
      continue;
    }
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    if (fields.size() != 3) {
      return LineError(source, line_number,
                       absl::StrCat("expected 3 fields (worker,iteration,seconds), got ",
                                    fields.size(), " in '", line, "'"));
    }
    for (absl::string_view& field : fields) field = absl::StripAsciiWhitespace(field);
    int64_t worker = 0;
    if (!absl::SimpleAtoi(fields[0], &worker) || worker < 0 || worker >= kMaxWorkers) {
      return LineError(
          source, line_number,
          absl::StrCat("worker '", fields[0], "' is not an integer in [0, ", kMaxWorkers, ")"));
    }
    int64_t iteration = 0;
    if (!absl::SimpleAtoi(fields[1], &iteration) || iteration < 0 || iteration >= kMaxIterations) {
      return LineError(source, line_number,
                       absl::StrCat("iteration '", fields[1], "' is not an integer in [0, ",
                                    kMaxIterations, ")"));
    }
    double seconds = 0;
    if (!absl::SimpleAtod(fields[2], &seconds) || !std::isfinite(seconds)) {
      return LineError(source, line_number,
                       absl::StrCat("seconds '", fields[2], "' is not a finite number"));
    }
    const int64_t nanos = std::llround(seconds * 1e9);
    if (nanos <= 0 || seconds > kMaxSeconds) {
      return LineError(source, line_number,
                       absl::StrCat("seconds ", fields[2],
                                    " is out of range, expected at least 1ns "
                                    "and at most ",
                                    kMaxSeconds));
    }
    if (static_cast<int64_t>(rows.size()) >= kMaxIterations) {
      return LineError(source, line_number, absl::StrCat("more than ", kMaxIterations, " rows"));
    }
    rows.push_back(Row{worker, iteration, nanos, line_number});
  }
  if (!header_seen) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": empty trace, expected the header '", kHeader, "'"));
  }
  if (rows.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": the trace has a header but no rows"));
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.worker != b.worker) return a.worker < b.worker;
    if (a.iteration != b.iteration) return a.iteration < b.iteration;
    return a.line < b.line;
  });
  Trace trace;
  trace.name = std::string(source);
  const int64_t workers = rows.back().worker + 1;
  trace.compute.resize(workers);
  size_t next = 0;
  for (int64_t w = 0; w < workers; ++w) {
    if (next == rows.size() || rows[next].worker != w) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": worker ", w,
                                                     " has no rows (workers must be numbered 0..",
                                                     workers - 1, " without gaps)"));
    }
    std::vector<absl::Duration>& out = trace.compute[w];
    for (; next < rows.size() && rows[next].worker == w; ++next) {
      const Row& row = rows[next];
      const int64_t expected = static_cast<int64_t>(out.size());
      if (row.iteration < expected) {
        return LineError(source, row.line,
                         absl::StrCat("worker ", w, " iteration ", row.iteration,
                                      " was already given on line ", rows[next - 1].line));
      }
      if (row.iteration > expected) {
        return LineError(source, row.line,
                         absl::StrCat("worker ", w, " iteration ", row.iteration,
                                      " follows a gap: no row "
                                      "gives iteration ",
                                      expected));
      }
      out.push_back(absl::Nanoseconds(row.nanos));
    }
  }
  return trace;
}

absl::StatusOr<Trace> ReadTraceCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open trace CSV '", path, "': ", std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("error reading '", path, "'"));
  }
  return ParseTraceCsv(buffer.str(), path);
}

std::string FormatTraceCsv(const Trace& trace) {
  std::string out = absl::StrCat(kHeader, "\n");
  for (size_t w = 0; w < trace.compute.size(); ++w) {
    for (size_t i = 0; i < trace.compute[w].size(); ++i) {
      // Whole nanoseconds, printed exactly: the reader's llround(x * 1e9)
      // recovers them for any time under kMaxSeconds.
      const int64_t nanos = absl::ToInt64Nanoseconds(trace.compute[w][i]);
      absl::StrAppendFormat(&out, "%d,%d,%d.%09d\n", w, i, nanos / 1'000'000'000,
                            nanos % 1'000'000'000);
    }
  }
  return out;
}

absl::Status WriteTraceCsv(const Trace& trace, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write '", tmp, "': ", std::strerror(errno)));
    }
    out << FormatTraceCsv(trace);
    out.flush();
    if (!out) {
      return absl::DataLossError(absl::StrCat("error writing '", tmp, "'"));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot rename '", tmp, "' to '", path, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace ebsp::sim
