// CPU time of a process on this machine, from /proc/PID/stat: what
// ebsp-loadgen --server_pid reads at the start and end of its measured phase
// to report the server's CPU per report (tools/loadgen/README.md). Linux only;
// the server must run on the same machine as the load.
#ifndef EBSP_TOOLS_LOADGEN_PROC_CPU_H_
#define EBSP_TOOLS_LOADGEN_PROC_CPU_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ebsp::loadgen {

// utime + stime in clock ticks from the text of a /proc/PID/stat file. The
// command name (field 2) is in parentheses and may itself contain spaces and
// ')', so fields are counted after the last ')'. INVALID_ARGUMENT naming the
// text when it is not such a line.
absl::StatusOr<uint64_t> ParseProcStatCpuTicks(absl::string_view stat);

// User plus system CPU seconds process `pid` has used so far. NOT_FOUND when
// there is no such process (or it cannot be read), naming the pid.
absl::StatusOr<double> ProcessCpuSeconds(int pid);

}  // namespace ebsp::loadgen

#endif  // EBSP_TOOLS_LOADGEN_PROC_CPU_H_
