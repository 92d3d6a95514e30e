// Retry policy of the coordinator client: which failures are worth another
// attempt, and how long to back off before it (exponential, with jitter,
// capped at a few seconds), and the outage budget: how long a worker waits
// for an unreachable coordinator before a call fails.
//
// Only transport-level failures are retried: UNAVAILABLE (no coordinator,
// or one that is shutting down), CANCELLED (the client never cancels the
// calls it retries, so this is a coordinator cancelling in-flight calls as
// it shuts down) and DEADLINE_EXCEEDED while the channel never got
// connected. Everything else (INVALID_ARGUMENT, PERMISSION_DENIED,
// FAILED_PRECONDITION, ...) describes the request, so repeating it cannot
// help and the caller sees it at once.
#ifndef EBSP_CLIENTS_CPP_EBSP_RETRY_H_
#define EBSP_CLIENTS_CPP_EBSP_RETRY_H_

#include <functional>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ebsp::client {

struct RetryPolicy {
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  double multiplier = 2.0;
  // Each wait is scaled by a uniform factor in [1 - jitter, 1 + jitter], so
  // that workers cut off together do not come back in lockstep.
  double jitter = 0.2;
  // How long a coordinator may stay unreachable before a call fails: counted
  // from the first failed attempt of the outage (not from the start of the
  // call: a Barrier that waited for minutes keeps its whole budget), across
  // calls (a worker that trains on through an outage spends one budget).
  // Zero: wait forever. A restarting coordinator pauses the worker; only a
  // spent budget ends its call, with a message saying how long it waited.
  absl::Duration outage_budget = absl::Minutes(10);
  // False: one attempt, whatever the failure.
  bool enabled = true;
};

// Told to the ClientOptions::on_retry observer before each backoff wait.
struct RetryEvent {
  absl::string_view method;  // "Register", "Barrier", ...
  int failed_attempt = 0;    // Failed attempts in this outage, 1 for the first.
  absl::Status status;       // Why that attempt failed.
  absl::Duration backoff;    // How long the client waits before the next one.
};
using RetryObserver = std::function<void(const RetryEvent&)>;

// The waits between attempts of one operation. Not thread-safe.
class Backoff {
 public:
  Backoff(const RetryPolicy& policy, absl::BitGenRef gen);
  // The wait before the next attempt: initial_backoff * multiplier^n, capped
  // at max_backoff, then jittered (never negative).
  absl::Duration Next();

 private:
  RetryPolicy policy_;
  absl::BitGenRef gen_;
  absl::Duration base_;
};

// True for the failures described at the top of this file.
// `channel_connected` says whether the channel was READY when the call
// failed: a DEADLINE_EXCEEDED from a connected coordinator (a barrier that
// did not release in time) is an answer, not a connection problem.
bool IsRetryable(const absl::Status& status, bool channel_connected);

}  // namespace ebsp::client

#endif  // EBSP_CLIENTS_CPP_EBSP_RETRY_H_
