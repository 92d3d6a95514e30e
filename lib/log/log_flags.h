// --log_level and --log_format, shared by every binary that logs events
// (lib/log/log.h). Link ebsp_log_flags and call ApplyLogFlags() after
// absl::ParseCommandLine.
#ifndef EBSP_LIB_LOG_LOG_FLAGS_H_
#define EBSP_LIB_LOG_LOG_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"
#include "absl/status/status.h"

ABSL_DECLARE_FLAG(std::string, log_level);
ABSL_DECLARE_FLAG(std::string, log_format);

namespace ebsp::log {

// Sets the process-wide level and format from the flags; INVALID_ARGUMENT
// naming the flag and its value when one is not recognised.
absl::Status ApplyLogFlags();

}  // namespace ebsp::log

#endif  // EBSP_LIB_LOG_LOG_FLAGS_H_
