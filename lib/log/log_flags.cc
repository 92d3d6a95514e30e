#include "lib/log/log_flags.h"

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lib/log/log.h"

ABSL_FLAG(std::string, log_level, "info",
          "Least severe event logged to stderr: debug, info, warning or error");
ABSL_FLAG(std::string, log_format, "text",
          "Event log lines on stderr: text (timestamp LEVEL event key=value ...) or json (one "
          "object per line, for log collectors)");

namespace ebsp::log {

absl::Status ApplyLogFlags() {
  absl::StatusOr<Level> level = ParseLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok())
    return absl::InvalidArgumentError(absl::StrCat("--log_level: ", level.status().message()));
  absl::StatusOr<Format> format = ParseFormat(absl::GetFlag(FLAGS_log_format));
  if (!format.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--log_format: ", format.status().message()));
  }
  SetMinLevel(*level);
  SetFormat(*format);
  return absl::OkStatus();
}

}  // namespace ebsp::log
