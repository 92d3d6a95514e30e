// Runs one unary RPC to the coordinator under the client's RetryPolicy: a
// fresh ClientContext per attempt, backoff waits between attempts, and no new
// attempt once the outage budget is spent (outage.h keeps the outage, which
// spans calls, and logs its start and end). Internal to the client library;
// the training thread of a Client owns one. Not thread-safe.
//
// A DEADLINE_EXCEEDED is an answer only from a connected coordinator before
// this attempt's own deadline (a barrier that did not release in time); when
// the attempt's deadline itself ran out, nobody answered, and the call is
// retried like UNAVAILABLE. Every method is safe to repeat (the proto's
// "Retries and idempotency"; Register carries its request_id).
//
// High availability: an UNAVAILABLE whose trailing metadata names the leader
// (`ebsp-leader`, from a standby) is followed at once, within the same
// attempt and without a backoff, at most kMaxRedirectsPerAttempt times (two
// replicas naming each other cannot loop); an attempt that still got no
// answer is a failed attempt like any other: it counts toward the outage,
// backs off (at most kStandbyMaxBackoff when a standby answered), and the
// next one starts from the configured target
// (Connection::Reconnect). A redirect that is answered is no outage.
#ifndef EBSP_CLIENTS_CPP_EBSP_RPC_RUNNER_H_
#define EBSP_CLIENTS_CPP_EBSP_RPC_RUNNER_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/cpp/ebsp/connection.h"
#include "clients/cpp/ebsp/outage.h"
#include "clients/cpp/ebsp/retry.h"

namespace ebsp::client {

// Leader hints followed within one attempt before it counts as failed.
inline constexpr int kMaxRedirectsPerAttempt = 2;
// What a standby's answer says (the proto's contract), with or without a hint.
inline constexpr char kNotLeaderMessage[] = "not the leader";
// The longest backoff after an attempt a standby answered: the election
// ends within the lease TTL, so the client looks again this soon rather than
// after the full exponential backoff (up to 2 s). At 2 attempts per second
// per worker a standby answers 1,000 workers with 2,000 cheap UNAVAILABLEs
// per second for the few seconds an election takes.
inline constexpr absl::Duration kStandbyMaxBackoff = absl::Milliseconds(500);

class RpcRunner {
 public:
  using Attempt =
      absl::FunctionRef<grpc::Status(elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*)>;

  // `connection` must outlive the runner. `job`, `worker` and `log` are for
  // the outage lines (Outage).
  RpcRunner(Connection& connection, RetryPolicy policy, RetryObserver observer, std::string job,
            std::string worker, LogSink log);

  // Calls `attempt` with the current stub and a context whose deadline is
  // `attempt_deadline` from the start of that attempt, until the coordinator
  // answers (OK or an error IsRetryable rejects: returned as it is) or the
  // outage budget is spent (then Outage::GiveUp's error: the last status's
  // code, and how long the worker waited). `method` names the call in
  // statuses, RetryEvents and log lines.
  absl::Status Run(absl::string_view method, absl::Duration attempt_deadline, Attempt attempt);

  // One attempt, for a worker that can keep training while the coordinator
  // is away: nullopt means "no answer yet" (the attempt failed with a
  // retryable status, or the backoff after the last failure has not passed,
  // so nothing was sent), and the budget is not spent. Otherwise what Run
  // would return.
  std::optional<absl::Status> TryOnce(absl::string_view method, absl::Duration attempt_deadline,
                                      Attempt attempt);

  // A coordinator outage is going on (the last attempt got no answer).
  bool in_outage() const { return outage_.active(); }

 private:
  // One attempt: OK or the coordinator's answer ends the outage and is
  // returned; a retryable failure is recorded and returns nullopt.
  std::optional<absl::Status> AttemptOnce(absl::string_view method, absl::Duration attempt_deadline,
                                          Attempt attempt);

  Connection& connection_;
  RetryPolicy policy_;
  RetryObserver observer_;
  absl::BitGen gen_;
  Outage outage_;
};

}  // namespace ebsp::client

#endif  // EBSP_CLIENTS_CPP_EBSP_RPC_RUNNER_H_
