// The retry policy on its own (backoff growth, cap, jitter, which statuses
// are worth another attempt) and the RpcRunner that applies it.
#include "clients/cpp/ebsp/retry.h"

#include "absl/random/random.h"
#include "clients/cpp/ebsp/connection.h"
#include "clients/cpp/ebsp/rpc_runner.h"
#include "gtest/gtest.h"

namespace ebsp::client {
namespace {

TEST(BackoffTest, GrowsByTheMultiplierUpToTheCap) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(50);
  policy.max_backoff = absl::Milliseconds(300);
  policy.multiplier = 2;
  policy.jitter = 0;
  absl::BitGen gen;
  Backoff backoff(policy, gen);
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(50));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(200));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(300));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(300));
}

TEST(BackoffTest, JitterStaysWithinItsFractionAndVaries) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(100);
  policy.max_backoff = absl::Milliseconds(100);
  policy.jitter = 0.2;
  absl::BitGen gen;
  Backoff backoff(policy, gen);
  absl::Duration lowest = absl::InfiniteDuration();
  absl::Duration highest = absl::ZeroDuration();
  for (int i = 0; i < 200; ++i) {
    const absl::Duration wait = backoff.Next();
    EXPECT_GE(wait, absl::Milliseconds(80));
    EXPECT_LE(wait, absl::Milliseconds(120));
    lowest = std::min(lowest, wait);
    highest = std::max(highest, wait);
  }
  EXPECT_LT(lowest, highest);
}

TEST(IsRetryableTest, RetriesUnavailableWhetherConnectedOrNot) {
  EXPECT_TRUE(IsRetryable(absl::UnavailableError("down"), true));
  EXPECT_TRUE(IsRetryable(absl::UnavailableError("down"), false));
}

TEST(IsRetryableTest, RetriesCancelledWhichOnlyAStoppingCoordinatorCauses) {
  EXPECT_TRUE(IsRetryable(absl::CancelledError("server shutdown"), true));
}

TEST(IsRetryableTest, RetriesDeadlineExceededOnlyBeforeTheChannelConnected) {
  EXPECT_TRUE(IsRetryable(absl::DeadlineExceededError("connect"), false));
  EXPECT_FALSE(IsRetryable(absl::DeadlineExceededError("barrier"), true));
}

TEST(IsRetryableTest, NeverRetriesAnswersAboutTheRequest) {
  for (const absl::Status& status :
       {absl::InvalidArgumentError("x"), absl::NotFoundError("x"), absl::AlreadyExistsError("x"),
        absl::FailedPreconditionError("x"), absl::PermissionDeniedError("x"),
        absl::ResourceExhaustedError("x"), absl::InternalError("x")}) {
    EXPECT_FALSE(IsRetryable(status, false)) << status;
    EXPECT_FALSE(IsRetryable(status, true)) << status;
  }
}

// The runner's attempts are scripted; the connection dials a loopback port
// nothing listens on and is never used by them.
class RpcRunnerTest : public ::testing::Test {
 protected:
  RpcRunnerTest() : connection_("127.0.0.1:1", nullptr) {
    policy_.initial_backoff = absl::Milliseconds(5);
    policy_.max_backoff = absl::Milliseconds(20);
    policy_.jitter = 0;
    policy_.max_elapsed = absl::Milliseconds(100);
  }
  Connection connection_;
  RetryPolicy policy_;
};

TEST_F(RpcRunnerTest, BudgetCountsFromTheFirstFailureNotTheFirstAttempt) {
  // A Barrier that waited longer than the whole budget, then lost its
  // coordinator: it still gets its retries.
  RpcRunner runner(connection_, policy_, nullptr);
  int attempts = 0;
  const absl::Status status = runner.Run(
      "Barrier", absl::Seconds(5), [&](elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*) {
        if (++attempts == 1) {
          absl::SleepFor(absl::Milliseconds(250));  // The long wait itself.
          return grpc::Status(grpc::StatusCode::UNAVAILABLE, "coordinator restarting");
        }
        return grpc::Status::OK;
      });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 2);
}

TEST_F(RpcRunnerTest, GivesUpOnceTheBudgetAfterTheFirstFailureIsSpent) {
  RpcRunner runner(connection_, policy_, nullptr);
  int attempts = 0;
  const absl::Time start = absl::Now();
  const absl::Status status = runner.Run(
      "Report", absl::Seconds(5), [&](elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*) {
        ++attempts;
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
      });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_GT(attempts, 1);
  // Bounded by the budget plus one backoff, with slack for a loaded machine.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace ebsp::client
