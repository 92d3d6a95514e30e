// ASP and SSP through JobState: clocks, waits and their release.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/core/job/job_state.h"
#include "tests/core/test_support.h"

namespace ebsp::core {
namespace {

using ::ebsp::core::testing::VirtualClock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

MATCHER_P(IsClockRelease, worker, "") {
  return arg.worker == static_cast<WorkerId>(worker) && arg.kind == WaitKind::kClock;
}

class RoundlessTest : public ::testing::Test {
 protected:
  std::unique_ptr<JobState> MakeJob(const std::string& policy_text) {
    JobOptions options;
    options.policy = *ParsePolicy(policy_text);
    options.heartbeat_timeout = absl::Seconds(10);
    return std::make_unique<JobState>("roundless", options, clock_.Now());
  }
  SyncAction Report(JobState& job, WorkerId id, int iteration) {
    absl::StatusOr<ReportResult> r =
        job.ReportIteration(id, 0, iteration, absl::Seconds(1), clock_.Now());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->action : SyncAction::kContinue;
  }
  VirtualClock clock_;
};

TEST_F(RoundlessTest, SspTellsLeaderToWaitAndReleasesWhenSlowestCatchesUp) {
  auto job = MakeJob("ssp:s=1");
  ASSERT_TRUE(job->Register(1, "fast", clock_.Now()).ok());
  ASSERT_TRUE(job->Register(2, "slow", clock_.Now()).ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Report(*job, 1, 1), SyncAction::kContinue);  // 1 ahead: allowed.
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Report(*job, 1, 2), SyncAction::kWait);  // 2 ahead of s = 1.
  absl::StatusOr<Effects> waiting = job->WaitForClock(1, clock_.Now());
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  EXPECT_THAT(waiting->releases, IsEmpty());
  EXPECT_EQ(job->Snapshot(clock_.Now()).workers[0].phase, WorkerPhase::kWaitingClock);
  EXPECT_EQ(job->Snapshot(clock_.Now()).staleness, 2u);

  clock_.Advance(absl::Seconds(3));
  absl::StatusOr<ReportResult> caught_up =
      job->ReportIteration(2, 0, 1, absl::Seconds(5), clock_.Now());
  ASSERT_TRUE(caught_up.ok()) << caught_up.status();
  EXPECT_EQ(caught_up->action, SyncAction::kContinue);
  ASSERT_THAT(caught_up->effects.releases, ElementsAre(IsClockRelease(1)));
  EXPECT_EQ(caught_up->effects.releases[0].waited, absl::Seconds(3));
  EXPECT_EQ(caught_up->effects.releases[0].own_clock, 2u);
  EXPECT_EQ(caught_up->effects.releases[0].slowest_clock, 1u);
  EXPECT_EQ(job->Snapshot(clock_.Now()).workers[0].phase, WorkerPhase::kRunning);
  EXPECT_EQ(Report(*job, 1, 3), SyncAction::kWait);
}

TEST_F(RoundlessTest, SspWaitForClockReleasesAtOnceWhenAlreadyWithinBound) {
  auto job = MakeJob("ssp:s=2");
  ASSERT_TRUE(job->Register(1, "a", clock_.Now()).ok());
  ASSERT_TRUE(job->Register(2, "b", clock_.Now()).ok());
  Report(*job, 1, 1);
  absl::StatusOr<Effects> wait = job->WaitForClock(1, clock_.Now());
  ASSERT_TRUE(wait.ok()) << wait.status();
  EXPECT_THAT(wait->releases, ElementsAre(IsClockRelease(1)));
  EXPECT_EQ(wait->releases[0].waited, absl::ZeroDuration());
}

TEST_F(RoundlessTest, SspReleasesWaiterWhenTheSlowestLeavesOrIsEvicted) {
  auto job = MakeJob("ssp:s=0");
  for (WorkerId id : {1, 2, 3}) {
    ASSERT_TRUE(job->Register(id, "w" + std::to_string(id), clock_.Now()).ok());
  }
  Report(*job, 1, 1);
  Report(*job, 1, 2);
  Report(*job, 2, 1);
  Report(*job, 2, 2);
  ASSERT_TRUE(job->WaitForClock(1, clock_.Now()).ok());
  ASSERT_TRUE(job->WaitForClock(2, clock_.Now()).ok());
  // Worker 3 (clock 0) goes silent; the others keep their leases.
  clock_.Advance(absl::Seconds(8));
  ASSERT_TRUE(job->Heartbeat(1, clock_.Now()).ok());
  ASSERT_TRUE(job->Heartbeat(2, clock_.Now()).ok());
  clock_.Advance(absl::Seconds(3));
  Effects effects = job->Tick(clock_.Now());
  ASSERT_EQ(effects.evictions.size(), 1u);
  EXPECT_EQ(effects.evictions[0].worker, 3u);
  EXPECT_THAT(effects.releases, ElementsAre(IsClockRelease(1), IsClockRelease(2)));
}

TEST_F(RoundlessTest, SspNewWorkerStartsAtTheSlowestLiveClock) {
  auto job = MakeJob("ssp:s=1");
  ASSERT_TRUE(job->Register(1, "a", clock_.Now()).ok());
  ASSERT_TRUE(job->Register(2, "b", clock_.Now()).ok());
  for (int i = 1; i <= 5; ++i) Report(*job, 1, i);  // Clock 5 (it ignores kWait).
  for (int i = 1; i <= 4; ++i) Report(*job, 2, i);  // Clock 4, the slowest.
  ASSERT_TRUE(job->Register(3, "c", clock_.Now()).ok());
  // The newcomer sits at clock 4: neither stalls worker 1 nor must wait.
  EXPECT_EQ(Report(*job, 1, 6), SyncAction::kWait);  // 6 > 4 + 1.
  EXPECT_EQ(Report(*job, 3, 1), SyncAction::kContinue);
  // Staleness compares clocks, not totals: 6 (worker 1) minus 4 (worker 2);
  // the newcomer's single iteration put it at clock 5.
  EXPECT_EQ(job->Snapshot(clock_.Now()).staleness, 2u);
}

TEST_F(RoundlessTest, SspLateJoinerReleaseCarriesClocksNotIterationTotals) {
  auto job = MakeJob("ssp:s=1");
  ASSERT_TRUE(job->Register(1, "a", clock_.Now()).ok());
  ASSERT_TRUE(job->Register(2, "b", clock_.Now()).ok());
  for (int i = 1; i <= 5; ++i) Report(*job, 1, i);           // Clock 5.
  for (int i = 1; i <= 4; ++i) Report(*job, 2, i);           // Clock 4, the slowest.
  ASSERT_TRUE(job->Register(3, "late", clock_.Now()).ok());  // Starts at 4.
  EXPECT_EQ(Report(*job, 3, 1), SyncAction::kContinue);      // Clock 5.
  EXPECT_EQ(Report(*job, 3, 2), SyncAction::kWait);          // Clock 6 > 4 + 1.
  clock_.Advance(absl::Seconds(2));
  absl::StatusOr<Effects> waiting = job->WaitForClock(3, clock_.Now());
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  EXPECT_THAT(waiting->releases, IsEmpty());

  clock_.Advance(absl::Seconds(1));
  absl::StatusOr<ReportResult> caught_up =
      job->ReportIteration(2, 0, 5, absl::Seconds(1), clock_.Now());
  ASSERT_TRUE(caught_up.ok()) << caught_up.status();
  ASSERT_THAT(caught_up->effects.releases, ElementsAre(IsClockRelease(3)));
  const Release& release = caught_up->effects.releases[0];
  // Totals would say 2 (the newcomer's own) and 2 (the slowest total, its
  // own again); the clocks are 6 and 5.
  EXPECT_EQ(release.own_clock, 6u);
  EXPECT_EQ(release.slowest_clock, 5u);
  EXPECT_EQ(release.waited, absl::Seconds(1));
  EXPECT_EQ(job->Snapshot(clock_.Now()).workers[2].iterations_total, 2u);
}

TEST_F(RoundlessTest, AspNeverWaits) {
  auto job = MakeJob("asp");
  ASSERT_TRUE(job->Register(1, "fast", clock_.Now()).ok());
  ASSERT_TRUE(job->Register(2, "stalled", clock_.Now()).ok());
  for (int i = 1; i <= 200; ++i) {
    clock_.Advance(absl::Milliseconds(10));
    ASSERT_EQ(Report(*job, 1, i), SyncAction::kContinue) << "iteration " << i;
  }
  EXPECT_EQ(job->Snapshot(clock_.Now()).staleness, 200u);
  EXPECT_EQ(job->Snapshot(clock_.Now()).round, 0u);
  absl::StatusOr<Effects> wait = job->WaitForClock(1, clock_.Now());
  EXPECT_EQ(wait.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(wait.status().message()), HasSubstr("asp"));
  absl::StatusOr<Effects> barrier = job->ArriveAtBarrier(1, 0, clock_.Now());
  EXPECT_EQ(barrier.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(barrier.status().message()), HasSubstr("no barriers"));
}

}  // namespace
}  // namespace ebsp::core
