#include "clients/cpp/ebsp/rpc_runner.h"

#include <algorithm>
#include <utility>

#include "clients/cpp/ebsp/status.h"

namespace ebsp::client {

RpcRunner::RpcRunner(Connection& connection, RetryPolicy policy, RetryObserver observer,
                     std::string job, std::string worker, LogSink log)
    : connection_(connection),
      policy_(policy),
      observer_(std::move(observer)),
      outage_(policy_, std::move(job), std::move(worker), std::move(log), gen_) {}

std::optional<absl::Status> RpcRunner::AttemptOnce(absl::string_view method,
                                                   absl::Duration attempt_deadline,
                                                   Attempt attempt) {
  grpc::ClientContext context;
  const absl::Time deadline = absl::Now() + attempt_deadline;
  context.set_deadline(absl::ToChronoTime(deadline));
  const absl::Status status = FromGrpcStatus(method, attempt(*connection_.stub(), &context));
  const absl::Time now = absl::Now();
  // Our own deadline ran out: nobody answered, whatever the channel says.
  const bool answered_by_coordinator = connection_.connected() && now < deadline;
  if (status.ok() || !policy_.enabled || !IsRetryable(status, answered_by_coordinator)) {
    outage_.Answered(status.code(), now);
    return status;
  }
  outage_.Failed(method, status, now);
  if (observer_) {
    observer_(RetryEvent{method, outage_.failed_attempts(), status,
                         std::max(outage_.next_attempt_at() - now, absl::ZeroDuration())});
  }
  // gRPC 1.51 keeps a refused channel failing for seconds (connection.h).
  if (!answered_by_coordinator) connection_.Reconnect();
  return std::nullopt;
}

absl::Status RpcRunner::Run(absl::string_view method, absl::Duration attempt_deadline,
                            Attempt attempt) {
  while (true) {
    // A call made while an outage is on waits out the backoff first.
    const absl::Duration wait =
        std::min(outage_.next_attempt_at() - absl::Now(), outage_.BudgetLeft(absl::Now()));
    // The caller's thread has nothing else to do until the next attempt.
    if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    if (outage_.BudgetSpent(absl::Now())) return outage_.GiveUp(method, absl::Now());
    std::optional<absl::Status> answer = AttemptOnce(method, attempt_deadline, attempt);
    if (answer.has_value()) return *std::move(answer);
    if (outage_.BudgetSpent(absl::Now())) return outage_.GiveUp(method, absl::Now());
  }
}

std::optional<absl::Status> RpcRunner::TryOnce(absl::string_view method,
                                               absl::Duration attempt_deadline, Attempt attempt) {
  if (outage_.BudgetSpent(absl::Now())) return outage_.GiveUp(method, absl::Now());
  if (absl::Now() < outage_.next_attempt_at()) return std::nullopt;
  std::optional<absl::Status> answer = AttemptOnce(method, attempt_deadline, attempt);
  if (answer.has_value()) return answer;
  if (outage_.BudgetSpent(absl::Now())) return outage_.GiveUp(method, absl::Now());
  return std::nullopt;
}

}  // namespace ebsp::client
