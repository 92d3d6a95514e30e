// The per-connection rate limit: a client flooding the coordinator from one
// connection gets RESOURCE_EXHAUSTED, while a well-behaved worker of another
// job on its own connection keeps its pace without a single error or retry.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/security/security_fixture.h"

namespace ebsp::testing {
namespace {

namespace v1 = ::elasticbsp::v1;

class LimitsTest : public SecurityFixture {};

TEST_F(LimitsTest, FloodingConnectionIsLimitedWhileANormalJobKeepsItsPace) {
  StartCoordinator({"--peer_rate_limit=500", "--peer_rate_burst=500"});
  client::ClientOptions options = WorkerOptions("steady", "w0", client::TlsChannelOptions{});
  int retries = 0;
  options.on_retry = [&](const client::RetryEvent&) { ++retries; };
  absl::StatusOr<std::unique_ptr<client::Client>> worker = client::Client::Connect(options);
  ASSERT_TRUE(worker.ok()) << worker.status();

  std::atomic<bool> done{false};
  std::atomic<int> flood_ok{0}, flood_limited{0}, flood_other{0};
  std::thread flooder([&] {
    // Its own TCP connection: channels with equal arguments in one process
    // share one, and so would count as one peer.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto stub = v1::Coordinator::NewStub(grpc::CreateCustomChannel(
        coordinator_->target(), grpc::InsecureChannelCredentials(), args));
    v1::GetJobRequest request;
    request.set_job("steady");
    for (int i = 0; i < 20000 && !done.load(); ++i) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
      v1::Job job;
      const grpc::Status status = stub->GetJob(&context, request, &job);
      if (status.ok()) {
        ++flood_ok;
      } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++flood_limited;
      } else {
        ++flood_other;
      }
    }
  });

  // The worker "trains" 5 ms per iteration: about 2 requests per 5 ms, well
  // under the limit. Runs in a lambda so that a failed ASSERT still stops
  // and joins the flooder.
  constexpr int kRounds = 150;
  const absl::Time start = absl::Now();
  auto train = [&] {
    for (int i = 0; i < kRounds; ++i) {
      absl::SleepFor(absl::Milliseconds(5));  // The iteration's compute, not a wait.
      absl::StatusOr<client::StepResult> step = (*worker)->IterationDone(absl::Milliseconds(5));
      ASSERT_TRUE(step.ok()) << step.status();
      ASSERT_TRUE((*worker)->Sync().ok());
    }
  };
  train();
  const absl::Duration elapsed = absl::Now() - start;
  done = true;
  flooder.join();
  ASSERT_FALSE(HasFatalFailure());

  EXPECT_GT(flood_limited.load(), 0) << "ok=" << flood_ok << " other=" << flood_other;
  EXPECT_EQ(flood_other.load(), 0);
  EXPECT_EQ(retries, 0);
  // 150 rounds of 5 ms compute: 0.75 s alone; a starved worker would take
  // far longer. Generous for a loaded 2-core machine.
  EXPECT_LT(elapsed, absl::Seconds(15)) << elapsed;
  // The limit does not outlast the flood: a new call on the worker's own
  // connection still passes.
  EXPECT_TRUE((*worker)->Leave().ok());
}

}  // namespace
}  // namespace ebsp::testing
