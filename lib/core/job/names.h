// The naming rules of jobs and workers, as the proto states them. The core
// enforces them on Register; the service checks them before it touches any
// state (so a bad name never auto-creates a job). One definition for both.
#ifndef EBSP_LIB_CORE_JOB_NAMES_H_
#define EBSP_LIB_CORE_JOB_NAMES_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ebsp::core {

inline constexpr size_t kMaxNameLength = 128;

// 1..128 characters of [A-Za-z0-9._-]; INVALID_ARGUMENT naming the
// offending length or character otherwise.
absl::Status ValidateJobName(absl::string_view name);
// 1..128 characters of [A-Za-z0-9._:-] (worker names are usually host:rank).
absl::Status ValidateWorkerName(absl::string_view name);

inline constexpr size_t kMaxRequestIdLength = 64;
// An idempotency key (CreateJob, Register): empty (no deduplication) or 1..64
// characters of [A-Za-z0-9._:-], e.g. a UUID.
absl::Status ValidateRequestId(absl::string_view request_id);

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_NAMES_H_
