// Reads and writes traces as CSV, so recorded iteration times (or an
// exported synthetic trace) can be replayed by the simulator.
//
// Format: a header line `worker,iteration,seconds`, then one row per
// iteration: worker index (0-based), iteration index (0-based), compute time
// in seconds (decimal, positive). Rows may come in any order, but workers
// must be numbered 0..W-1 and each worker's iterations 0..N-1 without gaps
// or repeats. Blank lines and lines starting with '#' are ignored. Errors
// name the source and the line ("trace.csv:7: ...").
//
// Times are kept to the nanosecond: writing then reading a trace whose
// durations are whole nanoseconds gives back the identical trace.
#ifndef EBSP_TOOLS_SIM_TRACE_CSV_H_
#define EBSP_TOOLS_SIM_TRACE_CSV_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tools/sim/trace.h"

namespace ebsp::sim {

// `source` names the text in error messages (usually the file path); the
// trace is named after it too.
absl::StatusOr<Trace> ParseTraceCsv(absl::string_view text, absl::string_view source);
absl::StatusOr<Trace> ReadTraceCsv(const std::string& path);

std::string FormatTraceCsv(const Trace& trace);
// Writes to `path` + ".tmp" and renames, so a reader never sees half a file.
absl::Status WriteTraceCsv(const Trace& trace, const std::string& path);

}  // namespace ebsp::sim

#endif  // EBSP_TOOLS_SIM_TRACE_CSV_H_
