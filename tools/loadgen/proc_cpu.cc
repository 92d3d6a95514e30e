#include "tools/loadgen/proc_cpu.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ebsp::loadgen {

absl::StatusOr<uint64_t> ParseProcStatCpuTicks(absl::string_view stat) {
  const size_t close = stat.rfind(')');
  if (close == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a /proc/PID/stat line (no ')' after the command): '", stat, "'"));
  }
  // After "pid (comm)": field 3 (state) onwards; utime and stime are fields
  // 14 and 15, i.e. indices 11 and 12 here.
  std::vector<absl::string_view> fields =
      absl::StrSplit(stat.substr(close + 1), ' ', absl::SkipWhitespace());
  uint64_t utime = 0;
  uint64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InvalidArgumentError(
        absl::StrCat("no utime/stime (fields 14, 15) in /proc/PID/stat line '", stat, "'"));
  }
  return utime + stime;
}

absl::StatusOr<double> ProcessCpuSeconds(int pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/stat");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (pid <= 0 || !in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": no process ", pid));
  }
  absl::StatusOr<uint64_t> ticks = ParseProcStatCpuTicks(text.str());
  if (!ticks.ok()) return ticks.status();
  return static_cast<double>(*ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace ebsp::loadgen
