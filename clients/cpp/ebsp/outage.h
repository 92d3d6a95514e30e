// What a worker knows about a coordinator that does not answer: when the
// outage began, how many attempts failed and why, when the next attempt may
// go out (jittered exponential backoff, per outage), and whether the outage
// budget is spent. It writes exactly one log line when an outage begins and
// one when it ends (answered again, or budget spent), never one per retry.
//
// An outage begins with the first attempt that fails with a retryable status
// (retry.h) and ends with the first answer from the coordinator, whatever it
// says (OK, NOT_FOUND after a restart, ...). It spans calls: a worker that
// trains on while the coordinator is away spends one budget.
//
// Owned by the training thread's RpcRunner. Not thread-safe.
#ifndef EBSP_CLIENTS_CPP_EBSP_OUTAGE_H_
#define EBSP_CLIENTS_CPP_EBSP_OUTAGE_H_

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/cpp/ebsp/retry.h"
#include "lib/log/log.h"

namespace ebsp::client {

// Receives one complete log line (no trailing newline), in lib/log's text
// format: `2026-12-01T04:00:00.123Z WARN event job=j worker=w key=value ...`.
// Without one, the lines go to lib/log (stderr, the process's format and
// level filter).
using LogSink = std::function<void(absl::string_view line)>;

class Outage {
 public:
  // `job` and `worker` name the worker in log lines; `log` may be empty (then
  // lib/log).
  Outage(const RetryPolicy& policy, std::string job, std::string worker, LogSink log,
         absl::BitGenRef gen);

  bool active() const { return started_.has_value(); }
  // An attempt of `method` failed with a retryable `status` at `now`; begins
  // the outage (and logs it) if none is on, and schedules the next attempt:
  // after the backoff, at most `max_wait` (a standby answered: a leader is
  // elected within the lease TTL, so the client looks again soon).
  void Failed(absl::string_view method, const absl::Status& status, absl::Time now,
              absl::Duration max_wait = absl::InfiniteDuration());
  // The coordinator answered `code` at `now`: ends the outage (logged) if one
  // was on.
  void Answered(absl::StatusCode code, absl::Time now);
  // True once the outage has lasted the whole budget (never with budget 0).
  bool BudgetSpent(absl::Time now) const;
  // The error a call returns once the budget is spent: the last status's
  // code, and a message saying how long the worker waited and why. Ends the
  // outage (logged): the next call starts a fresh one.
  absl::Status GiveUp(absl::string_view method, absl::Time now);
  // When the next attempt may go out (backoff after the last failure); now
  // when no outage is on.
  absl::Time next_attempt_at() const { return next_attempt_at_; }
  // Failed attempts in the current outage (0 when none is on).
  int failed_attempts() const { return started_.has_value() ? failed_attempts_ : 0; }
  // The time left before the budget is spent (infinite with budget 0).
  absl::Duration BudgetLeft(absl::Time now) const;

 private:
  void Log(std::string_view event, std::initializer_list<ebsp::log::Field> fields) const;

  const RetryPolicy policy_;
  const std::string job_;
  const std::string worker_;
  const LogSink log_;
  absl::BitGenRef gen_;
  Backoff backoff_;
  std::optional<absl::Time> started_;
  absl::Time next_attempt_at_ = absl::InfinitePast();
  int failed_attempts_ = 0;
  std::string first_method_;
  absl::Status last_status_;
};

}  // namespace ebsp::client

#endif  // EBSP_CLIENTS_CPP_EBSP_OUTAGE_H_
