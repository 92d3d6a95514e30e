// Retries as the proto's "Retries and idempotency" defines them: a retry of
// an applied call gets the original answer and changes nothing (at the same
// time, the snapshot is identical). Virtual time.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/core/job/job_state.h"
#include "tests/core/test_support.h"

namespace ebsp::core {
namespace {

using ::ebsp::core::testing::SnapshotsEqual;
using ::ebsp::core::testing::VirtualClock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class RetryTest : public ::testing::Test {
 protected:
  std::unique_ptr<JobState> MakeJob(const std::string& policy_text) {
    JobOptions options;
    options.policy = *ParsePolicy(policy_text);
    options.heartbeat_timeout = absl::Seconds(10);
    return std::make_unique<JobState>("job", options, clock_.Now());
  }
  ReportResult MustReport(JobState& job, WorkerId id, uint64_t round, int iteration) {
    absl::StatusOr<ReportResult> r =
        job.ReportIteration(id, round, iteration, absl::Seconds(1), clock_.Now());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : ReportResult{};
  }
  VirtualClock clock_;
};

TEST_F(RetryTest, RegisterRetryGetsTheOriginalResultAndChangesNothing) {
  auto job = MakeJob("ebsp:R=4");
  absl::StatusOr<RegisterResult> first = job->Register(7, "w7", "req-1", clock_.Now());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(job->Register(8, "w8", "req-2", clock_.Now()).ok());
  const JobSnapshot before = job->Snapshot(clock_.Now());

  // The retry comes with the id the service would have given a new worker.
  absl::StatusOr<RegisterResult> again = job->Register(99, "w7", "req-1", clock_.Now());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->retry);
  EXPECT_FALSE(first->retry);
  EXPECT_EQ(again->worker, 7u);
  EXPECT_EQ(again->round, first->round);
  EXPECT_EQ(again->target, first->target);
  EXPECT_EQ(again->phase, first->phase);
  EXPECT_EQ(again->membership_epoch, first->membership_epoch);
  EXPECT_EQ(again->membership_fingerprint, first->membership_fingerprint);
  EXPECT_EQ(again->live_workers, first->live_workers);
  EXPECT_FALSE(again->effects.membership_changed);
  EXPECT_TRUE(SnapshotsEqual(job->Snapshot(clock_.Now()), before));
}

TEST_F(RetryTest, RegisterRetryRefreshesOnlyTheLease) {
  auto job = MakeJob("bsp");
  ASSERT_TRUE(job->Register(1, "w1", "req-1", clock_.Now()).ok());
  clock_.Advance(absl::Seconds(8));
  ASSERT_TRUE(job->Register(2, "w1", "req-1", clock_.Now()).ok());
  clock_.Advance(absl::Seconds(8));  // 16 s after registering, 8 s after the retry.
  EXPECT_THAT(job->Tick(clock_.Now()).evictions, IsEmpty());
  EXPECT_EQ(job->membership_epoch(), 1u);
}

TEST_F(RetryTest, RegisterWithoutRequestIdIsNeverDeduplicated) {
  auto job = MakeJob("bsp");
  ASSERT_TRUE(job->Register(1, "w1", "", clock_.Now()).ok());
  absl::StatusOr<RegisterResult> again = job->Register(2, "w1", "", clock_.Now());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RetryTest, LiveNameWithANewRequestIdIsAlreadyExists) {
  auto job = MakeJob("bsp");
  ASSERT_TRUE(job->Register(1, "w1", "req-1", clock_.Now()).ok());
  absl::StatusOr<RegisterResult> other = job->Register(2, "w1", "req-2", clock_.Now());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RetryTest, RequestIdReusedForAnotherNameIsInvalidArgument) {
  auto job = MakeJob("bsp");
  ASSERT_TRUE(job->Register(1, "w1", "req-1", clock_.Now()).ok());
  const JobSnapshot before = job->Snapshot(clock_.Now());
  absl::StatusOr<RegisterResult> other = job->Register(2, "w2", "req-1", clock_.Now());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other.status().message(), HasSubstr("already registered worker \"w1\""));
  EXPECT_TRUE(SnapshotsEqual(job->Snapshot(clock_.Now()), before));
}

TEST_F(RetryTest, MalformedRequestIdIsInvalidArgument) {
  auto job = MakeJob("bsp");
  absl::StatusOr<RegisterResult> bad = job->Register(1, "w1", "has space", clock_.Now());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("request_id"));
  bad = job->Register(1, "w1", std::string(65, 'a'), clock_.Now());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(job->live_workers(), 0);
}

TEST_F(RetryTest, RequestIdOfADepartedWorkerRegistersAnew) {
  auto job = MakeJob("bsp");
  ASSERT_TRUE(job->Register(1, "w1", "req-1", clock_.Now()).ok());
  ASSERT_TRUE(job->Leave(1, clock_.Now()).ok());
  absl::StatusOr<RegisterResult> again = job->Register(2, "w1", "req-1", clock_.Now());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->retry);
  EXPECT_EQ(again->worker, 2u);
  EXPECT_EQ(job->membership_epoch(), 3u);
}

TEST_F(RetryTest, ReportRetryIsAnsweredAgainAndCountedOnce) {
  auto job = MakeJob("local_steps:H=3");
  ASSERT_TRUE(job->Register(1, "w1", clock_.Now()).ok());
  ASSERT_TRUE(job->Register(2, "w2", clock_.Now()).ok());
  clock_.Advance(absl::Seconds(1));
  const ReportResult first = MustReport(*job, 1, 0, 1);
  const JobSnapshot before = job->Snapshot(clock_.Now());
  const ReportResult again = MustReport(*job, 1, 0, 1);
  EXPECT_TRUE(again.retry);
  EXPECT_EQ(again.action, first.action);
  EXPECT_EQ(again.target, first.target);
  EXPECT_EQ(again.round, first.round);
  EXPECT_TRUE(SnapshotsEqual(job->Snapshot(clock_.Now()), before));
  EXPECT_EQ(job->Snapshot(clock_.Now()).workers[0].iterations_total, 1u);

  // The last report of the round: SYNC_NOW again.
  MustReport(*job, 1, 0, 2);
  const ReportResult last = MustReport(*job, 1, 0, 3);
  EXPECT_EQ(last.action, SyncAction::kSyncNow);
  const ReportResult last_again = MustReport(*job, 1, 0, 3);
  EXPECT_TRUE(last_again.retry);
  EXPECT_EQ(last_again.action, SyncAction::kSyncNow);
  EXPECT_EQ(job->Snapshot(clock_.Now()).workers[0].iterations_total, 3u);
}

TEST_F(RetryTest, SspReportRetryDoesNotMoveTheClock) {
  auto job = MakeJob("ssp:s=1");
  ASSERT_TRUE(job->Register(1, "fast", clock_.Now()).ok());
  ASSERT_TRUE(job->Register(2, "slow", clock_.Now()).ok());
  MustReport(*job, 1, 0, 1);
  EXPECT_EQ(MustReport(*job, 1, 0, 2).action, SyncAction::kWait);
  const JobSnapshot before = job->Snapshot(clock_.Now());
  const ReportResult again = MustReport(*job, 1, 0, 2);
  EXPECT_TRUE(again.retry);
  EXPECT_EQ(again.action, SyncAction::kWait);
  EXPECT_TRUE(SnapshotsEqual(job->Snapshot(clock_.Now()), before));
}

TEST_F(RetryTest, BarrierRetryAfterTheReleaseGetsTheReleaseAgain) {
  auto job = MakeJob("bsp");
  ASSERT_TRUE(job->Register(1, "w1", clock_.Now()).ok());
  ASSERT_TRUE(job->Register(2, "w2", clock_.Now()).ok());
  MustReport(*job, 1, 0, 1);
  MustReport(*job, 2, 0, 1);
  ASSERT_TRUE(job->ArriveAtBarrier(1, 0, clock_.Now()).ok());
  absl::StatusOr<Effects> released = job->ArriveAtBarrier(2, 0, clock_.Now());
  ASSERT_TRUE(released.ok());
  ASSERT_EQ(released->releases.size(), 2u);
  const JobSnapshot before = job->Snapshot(clock_.Now());
  // Worker 1's reply was lost: it calls Barrier(0) again.
  absl::StatusOr<Effects> again = job->ArriveAtBarrier(1, 0, clock_.Now());
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->releases.size(), 1u);
  EXPECT_EQ(again->releases[0].worker, 1u);
  EXPECT_EQ(again->releases[0].round, 1u);
  EXPECT_EQ(again->releases[0].target, 1);
  EXPECT_THAT(again->rounds_completed, IsEmpty());
  EXPECT_TRUE(SnapshotsEqual(job->Snapshot(clock_.Now()), before));
  // Another worker joins round 1 before anyone reported in it: a's replayed
  // release still carries the membership every worker released with.
  ASSERT_TRUE(job->Register(3, "w3", clock_.Now()).ok());
  absl::StatusOr<Effects> later = job->ArriveAtBarrier(1, 0, clock_.Now());
  ASSERT_TRUE(later.ok());
  ASSERT_EQ(later->releases.size(), 1u);
  EXPECT_EQ(later->releases[0].membership_epoch, released->releases[0].membership_epoch);
  EXPECT_EQ(later->releases[0].membership_fingerprint,
            released->releases[0].membership_fingerprint);
  EXPECT_EQ(later->releases[0].live_workers, 2);
  // After its next report, Barrier(0) is an error again.
  MustReport(*job, 1, 1, 1);
  EXPECT_EQ(job->ArriveAtBarrier(1, 0, clock_.Now()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RetryTest, WaitForClockRetryAfterTheReleaseGetsTheReleaseAgain) {
  auto job = MakeJob("ssp:s=0");
  ASSERT_TRUE(job->Register(1, "fast", clock_.Now()).ok());
  ASSERT_TRUE(job->Register(2, "slow", clock_.Now()).ok());
  EXPECT_EQ(MustReport(*job, 1, 0, 1).action, SyncAction::kWait);
  ASSERT_TRUE(job->WaitForClock(1, clock_.Now()).ok());
  clock_.Advance(absl::Seconds(2));
  ASSERT_THAT(MustReport(*job, 2, 0, 1).effects.releases, ::testing::SizeIs(1));
  // A retry refreshes the lease like a heartbeat would, and nothing else.
  ASSERT_TRUE(job->Heartbeat(1, clock_.Now()).ok());
  const JobSnapshot before = job->Snapshot(clock_.Now());
  absl::StatusOr<Effects> again = job->WaitForClock(1, clock_.Now());
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->releases.size(), 1u);
  EXPECT_EQ(again->releases[0].worker, 1u);
  EXPECT_EQ(again->releases[0].kind, WaitKind::kClock);
  EXPECT_EQ(again->releases[0].own_clock, 1u);
  EXPECT_EQ(again->releases[0].slowest_clock, 1u);
  EXPECT_TRUE(SnapshotsEqual(job->Snapshot(clock_.Now()), before));
  // After its next report (2 ahead with s=0: WAIT), a WaitForClock waits.
  EXPECT_EQ(MustReport(*job, 1, 0, 2).action, SyncAction::kWait);
  absl::StatusOr<Effects> waits = job->WaitForClock(1, clock_.Now());
  ASSERT_TRUE(waits.ok());
  EXPECT_THAT(waits->releases, IsEmpty());
}

TEST_F(RetryTest, LeaveRetryIsOkAndChangesNothing) {
  auto job = MakeJob("bsp");
  ASSERT_TRUE(job->Register(1, "w1", clock_.Now()).ok());
  ASSERT_TRUE(job->Register(2, "w2", clock_.Now()).ok());
  absl::StatusOr<Effects> left = job->Leave(1, clock_.Now());
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->membership_changed);
  const JobSnapshot before = job->Snapshot(clock_.Now());
  absl::StatusOr<Effects> again = job->Leave(1, clock_.Now());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->membership_changed);
  EXPECT_THAT(again->releases, IsEmpty());
  EXPECT_TRUE(SnapshotsEqual(job->Snapshot(clock_.Now()), before));
}

TEST_F(RetryTest, LeaveOfAnEvictedOrUnknownWorkerIsNotFound) {
  auto job = MakeJob("bsp");
  ASSERT_TRUE(job->Register(1, "w1", clock_.Now()).ok());
  clock_.Advance(absl::Seconds(11));
  ASSERT_THAT(job->Tick(clock_.Now()).evictions, ::testing::SizeIs(1));
  absl::StatusOr<Effects> evicted = job->Leave(1, clock_.Now());
  EXPECT_EQ(evicted.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(evicted.status().message(), HasSubstr("evicted"));
  EXPECT_EQ(job->Leave(5, clock_.Now()).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ebsp::core
