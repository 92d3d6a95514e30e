#include "clients/cpp/ebsp/rpc_runner.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "clients/cpp/ebsp/status.h"

namespace ebsp::client {

RpcRunner::RpcRunner(Connection& connection, RetryPolicy policy, RetryObserver observer)
    : connection_(connection), policy_(policy), observer_(std::move(observer)) {}

absl::Status RpcRunner::Run(
    absl::string_view method, absl::Duration attempt_deadline,
    absl::FunctionRef<grpc::Status(elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*)>
        attempt) {
  // The budget counts from the first failure, not the first attempt: a
  // Barrier may legitimately wait for minutes before the coordinator restarts
  // under it, and that wait must not use up the time to reconnect.
  std::optional<absl::Time> give_up_at;
  Backoff backoff(policy_, gen_);
  for (int attempt_number = 1;; ++attempt_number) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + attempt_deadline));
    const absl::Status status = FromGrpcStatus(method, attempt(*connection_.stub(), &context));
    if (status.ok()) return status;
    const bool connected = connection_.connected();
    if (!policy_.enabled || !IsRetryable(status, connected)) return status;
    if (!give_up_at.has_value()) give_up_at = absl::Now() + policy_.max_elapsed;
    const absl::Duration left = *give_up_at - absl::Now();
    if (left <= absl::ZeroDuration()) return status;
    const absl::Duration wait = std::min(backoff.Next(), left);
    if (observer_) observer_(RetryEvent{method, attempt_number, status, wait});
    // The caller's thread has nothing else to do until the next attempt.
    absl::SleepFor(wait);
    if (!connected) connection_.Reconnect();
  }
}

}  // namespace ebsp::client
