// Runs one unary RPC to the coordinator under the client's RetryPolicy:
// a fresh ClientContext per attempt, backoff waits between attempts, and no
// new attempt once the policy's time budget is spent. Internal to the client
// library; the training thread of a Client owns one. Not thread-safe.
#ifndef EBSP_CLIENTS_CPP_EBSP_RPC_RUNNER_H_
#define EBSP_CLIENTS_CPP_EBSP_RPC_RUNNER_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "absl/functional/function_ref.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/cpp/ebsp/connection.h"
#include "clients/cpp/ebsp/retry.h"

namespace ebsp::client {

class RpcRunner {
 public:
  // `connection` must outlive the runner.
  RpcRunner(Connection& connection, RetryPolicy policy, RetryObserver observer);

  // Calls `attempt` with the current stub and a context whose deadline is
  // `attempt_deadline` from the start of that attempt, until it succeeds, fails with a
  // status that IsRetryable rejects, or the budget is spent (then the last failure is
  // returned). `method` names the call in statuses and RetryEvents.
  absl::Status Run(
      absl::string_view method, absl::Duration attempt_deadline,
      absl::FunctionRef<grpc::Status(elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*)>
          attempt);

 private:
  Connection& connection_;
  RetryPolicy policy_;
  RetryObserver observer_;
  absl::BitGen gen_;
};

}  // namespace ebsp::client

#endif  // EBSP_CLIENTS_CPP_EBSP_RPC_RUNNER_H_
