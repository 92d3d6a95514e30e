#include "tests/client/cpp/support/job_probe.h"

#include <grpcpp/client_context.h>

#include <algorithm>

#include "clients/cpp/ebsp/channel.h"
#include "clients/cpp/ebsp/status.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"

namespace ebsp::testing {

absl::StatusOr<elasticbsp::v1::Job> GetJob(const std::string& target, const std::string& job) {
  auto stub = elasticbsp::v1::Coordinator::NewStub(ebsp::client::MakeChannel(target));
  elasticbsp::v1::GetJobRequest request;
  request.set_job(job);
  elasticbsp::v1::Job response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  absl::Status status =
      ebsp::client::FromGrpcStatus("GetJob", stub->GetJob(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

bool WaitUntil(absl::FunctionRef<bool()> condition, absl::Duration timeout, absl::Duration every) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    absl::SleepFor(std::min(every, left));
  }
  return true;
}

}  // namespace ebsp::testing
