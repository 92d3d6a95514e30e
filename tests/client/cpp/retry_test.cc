// The retry policy on its own: backoff growth, cap, jitter, and which
// statuses are worth another attempt.
#include "client/cpp/ebsp/retry.h"

#include "absl/random/random.h"
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
       {absl::InvalidArgumentError("x"), absl::NotFoundError("x"),
        absl::AlreadyExistsError("x"), absl::FailedPreconditionError("x"),
        absl::PermissionDeniedError("x"), absl::ResourceExhaustedError("x"),
        absl::InternalError("x")}) {
    EXPECT_FALSE(IsRetryable(status, false)) << status;
    EXPECT_FALSE(IsRetryable(status, true)) << status;
  }
}

}  // namespace
}  // namespace ebsp::client
