#include "service/validation.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ebsp::server {

absl::Status ValidateWorkerId(uint64_t id) {
  if (id == 0) {
    return absl::InvalidArgumentError("worker_id is 0 (unset); use the id Register returned");
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ValidateSeconds(absl::string_view field, double seconds) {
  if (std::isnan(seconds)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is NaN"));
  }
  if (std::isinf(seconds)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is infinite (", seconds, ")"));
  }
  if (seconds < 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is negative (", seconds, ")"));
  }
  return absl::Seconds(seconds);
}

}  // namespace ebsp::server
