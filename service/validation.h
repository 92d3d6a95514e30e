// Checks on request fields that the service makes before touching any state,
// so a malformed request fails with INVALID_ARGUMENT and changes nothing.
// Every message names the field and the offending value.
#ifndef EBSP_SERVICE_VALIDATION_H_
#define EBSP_SERVICE_VALIDATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/core/job/names.h"

namespace ebsp::server {

// Longest heartbeat timeout a job may ask for (proto: at most 3600 s).
inline constexpr absl::Duration kMaxHeartbeatTimeout = absl::Hours(1);

// Job and worker names follow the core's rules (one definition for both).
using core::ValidateJobName;
using core::ValidateRequestId;
using core::ValidateWorkerName;
// Worker ids are never 0 (0 is the proto default of an unset field).
absl::Status ValidateWorkerId(uint64_t id);
// A duration in seconds from the wire: finite and >= 0. `field` names it in
// the error.
absl::StatusOr<absl::Duration> ValidateSeconds(absl::string_view field, double seconds);

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_VALIDATION_H_
