#include "clients/cpp/ebsp/rpc_runner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
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
  absl::Status status;
  bool answered_by_coordinator = false;
  bool unavailable_while_connected = false;
  bool standby_answered = false;
  // A standby's answer names the leader: go there at once, no backoff; a
  // few hops at most, so that replicas naming each other cannot loop.
  for (int hop = 0;; ++hop) {
    grpc::ClientContext context;
    const absl::Time deadline = absl::Now() + attempt_deadline;
    context.set_deadline(absl::ToChronoTime(deadline));
    const Connection::Route route = connection_.route();
    grpc::Status answer;
    {
      const Connection::InFlight in_flight(connection_, &context, route.channel);
      answer = attempt(*route.stub, &context);
    }
    status = FromGrpcStatus(method, answer);
    // Our own deadline ran out: nobody answered, whatever the channel says.
    const bool connected = connection_.connected();
    answered_by_coordinator = connected && absl::Now() < deadline;
    unavailable_while_connected = connected && absl::IsUnavailable(status);
    if (!absl::IsUnavailable(status)) break;
    const std::optional<std::string> leader = LeaderHint(context);
    standby_answered = standby_answered || leader.has_value() ||
                       (connected && absl::StrContains(status.message(), kNotLeaderMessage));
    if (hop >= kMaxRedirectsPerAttempt) break;
    if (!leader.has_value() || !connection_.FollowLeader(*leader)) break;
  }
  const absl::Time now = absl::Now();
  if (status.ok() || !policy_.enabled || !IsRetryable(status, answered_by_coordinator)) {
    outage_.Answered(status.code(), now);
    return status;
  }
  outage_.Failed(method, status, now,
                 standby_answered ? kStandbyMaxBackoff : absl::InfiniteDuration());
  if (observer_) {
    observer_(RetryEvent{method, outage_.failed_attempts(), status,
                         std::max(outage_.next_attempt_at() - now, absl::ZeroDuration())});
  }
  // gRPC 1.51 keeps a refused channel failing for seconds (connection.h); a
  // redirected channel that failed goes back to the configured target.
  connection_.Reconnect(unavailable_while_connected);
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
