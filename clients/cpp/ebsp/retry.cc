#include "clients/cpp/ebsp/retry.h"

#include <algorithm>

#include "absl/random/distributions.h"

namespace ebsp::client {

Backoff::Backoff(const RetryPolicy& policy, absl::BitGenRef gen)
    : policy_(policy), gen_(gen), base_(policy.initial_backoff) {}

absl::Duration Backoff::Next() {
  const absl::Duration base = std::min(base_, policy_.max_backoff);
  base_ = std::min(base_ * policy_.multiplier, policy_.max_backoff);
  const double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  if (jitter == 0) return base;
  const double factor = absl::Uniform(gen_, 1.0 - jitter, 1.0 + jitter);
  return std::max(base * factor, absl::ZeroDuration());
}

bool IsRetryable(const absl::Status& status, bool channel_connected) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled:
      return true;
    case absl::StatusCode::kDeadlineExceeded:
      return !channel_connected;
    default:
      return false;
  }
}

}  // namespace ebsp::client
