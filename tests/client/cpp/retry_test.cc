// The retry policy on its own (backoff growth, cap, jitter, which statuses
// are worth another attempt) and the RpcRunner that applies it: the outage
// budget, its message, and the two log lines of an outage.
#include "clients/cpp/ebsp/retry.h"

#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "clients/cpp/ebsp/connection.h"
#include "clients/cpp/ebsp/rpc_runner.h"
#include "gtest/gtest.h"
#include "tests/client/cpp/support/coordinator_process.h"

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
    policy_.outage_budget = absl::Milliseconds(100);
  }
  RpcRunner MakeRunner() {
    return RpcRunner(connection_, policy_, nullptr, "j", "w",
                     [this](absl::string_view line) { lines_.emplace_back(line); });
  }
  Connection connection_;
  RetryPolicy policy_;
  std::vector<std::string> lines_;
};

grpc::Status Unavailable() { return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"); }

TEST_F(RpcRunnerTest, BudgetCountsFromTheFirstFailureNotTheFirstAttempt) {
  // A Barrier that waited longer than the whole budget, then lost its
  // coordinator: it still gets its retries.
  RpcRunner runner = MakeRunner();
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
  RpcRunner runner = MakeRunner();
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

TEST_F(RpcRunnerTest, SpentBudgetSaysHowLongTheWorkerWaitedAndWhy) {
  RpcRunner runner = MakeRunner();
  const absl::Status status =
      runner.Run("ReportIteration", absl::Seconds(5),
                 [&](elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*) {
                   return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused");
                 });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StartsWith(status.message(),
                               "ReportIteration: the coordinator was unreachable for 0.1 s, which "
                               "spent the outage budget of 0.1 s ("))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(),
                                "; last status: UNAVAILABLE: ReportIteration: connection refused"))
      << status;
}

TEST_F(RpcRunnerTest, AnOutageWritesOneLineWhenItBeginsAndOneWhenItEndsNotOnePerRetry) {
  policy_.outage_budget = absl::Seconds(30);
  RpcRunner runner = MakeRunner();
  int attempts = 0;
  const absl::Status status = runner.Run(
      "Barrier", absl::Seconds(5), [&](elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*) {
        return ++attempts <= 6 ? Unavailable() : grpc::Status::OK;
      });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 7);
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_TRUE(absl::StrContains(lines_[0],
                                " WARN ebsp_client_outage_started job=j worker=w "
                                "method=Barrier status=\"UNAVAILABLE: Barrier: down\""))
      << lines_[0];
  EXPECT_TRUE(absl::StrContains(lines_[1],
                                " WARN ebsp_client_outage_ended job=j worker=w "
                                "outage_s="))
      << lines_[1];
  EXPECT_TRUE(absl::StrContains(lines_[1], " failed_attempts=6 answer=OK")) << lines_[1];
  // A call without an outage writes nothing.
  ASSERT_TRUE(runner
                  .Run("Barrier", absl::Seconds(5),
                       [&](elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*) {
                         return grpc::Status::OK;
                       })
                  .ok());
  EXPECT_EQ(lines_.size(), 2u);
}

TEST_F(RpcRunnerTest, ZeroBudgetWaitsAsLongAsTheOutageLasts) {
  policy_.outage_budget = absl::ZeroDuration();
  RpcRunner runner = MakeRunner();
  const absl::Time back_at = absl::Now() + absl::Milliseconds(400);
  int attempts = 0;
  const absl::Status status = runner.Run(
      "Register", absl::Seconds(5), [&](elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*) {
        ++attempts;
        return absl::Now() < back_at ? Unavailable() : grpc::Status::OK;
      });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_GT(attempts, 5);
}

TEST(RpcRunnerDeadlineTest, AnAttemptThatRanOutItsOwnDeadlineGotNoAnswerAndIsRetried) {
  // Connected to a real coordinator: a DEADLINE_EXCEEDED that arrives before
  // the attempt's deadline is its answer, one at the deadline is silence.
  absl::StatusOr<std::unique_ptr<ebsp::testing::CoordinatorProcess>> coordinator =
      ebsp::testing::CoordinatorProcess::Start({});
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  Connection connection((*coordinator)->target(), nullptr);
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(5);
  policy.jitter = 0;
  RpcRunner runner(connection, policy, nullptr, "j", "w", [](absl::string_view) {});
  auto get_job = [](elasticbsp::v1::Coordinator::Stub& stub, grpc::ClientContext* context) {
    elasticbsp::v1::GetJobRequest request;
    request.set_job("none");
    elasticbsp::v1::Job job;
    return stub.GetJob(context, request, &job);
  };
  ASSERT_EQ(runner.Run("GetJob", absl::Seconds(10), get_job).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(connection.connected());

  int attempts = 0;
  const absl::Status status =
      runner.Run("ReportIteration", absl::Milliseconds(20),
                 [&](elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*) {
                   if (++attempts > 1) return grpc::Status::OK;
                   absl::SleepFor(absl::Milliseconds(30));  // A black-holed coordinator.
                   return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
                 });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 2);

  // The coordinator's own DEADLINE_EXCEEDED (a barrier not released in time).
  attempts = 0;
  const absl::Status answered = runner.Run(
      "Barrier", absl::Seconds(10), [&](elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*) {
        ++attempts;
        return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "w1 missing");
      });
  EXPECT_EQ(answered.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(attempts, 1);
}

TEST_F(RpcRunnerTest, TryOnceSendsNothingBeforeTheBackoffAndOneOutageSpansCalls) {
  policy_.initial_backoff = absl::Seconds(2);
  policy_.max_backoff = absl::Seconds(2);
  policy_.outage_budget = absl::Seconds(30);
  RpcRunner runner = MakeRunner();
  int attempts = 0;
  auto down = [&](elasticbsp::v1::Coordinator::Stub&, grpc::ClientContext*) {
    ++attempts;
    return Unavailable();
  };
  EXPECT_FALSE(runner.TryOnce("ReportIteration", absl::Seconds(5), down).has_value());
  EXPECT_TRUE(runner.in_outage());
  // Within the backoff: no attempt, still no answer.
  EXPECT_FALSE(runner.TryOnce("ReportIteration", absl::Seconds(5), down).has_value());
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(lines_.size(), 1u);
}

}  // namespace
}  // namespace ebsp::client
