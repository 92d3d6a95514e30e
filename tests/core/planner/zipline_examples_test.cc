// Named examples for PlanTargets, small enough to check by hand.
#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/core/planner/zipline.h"

namespace ebsp::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kBase = absl::FromUnixSeconds(1'800'000'000);
absl::Time Ms(int64_t ms) { return kBase + absl::Milliseconds(ms); }

WorkerForecast Forecast(int done, std::vector<int64_t> ends_ms) {
  WorkerForecast w;
  w.done = done;
  for (const int64_t ms : ends_ms) w.ends.push_back(Ms(ms));
  return w;
}

TEST(ZipLineExample, PaperStyleWorkersOfThreeSpeedsMeetAtTheirCommonMultiple) {
  // Periods 10, 15 and 30 ms, R = 6: all three end an iteration at 30 ms, so
  // the fast ones run 3 and 2 iterations while the slow one runs 1.
  const std::vector<WorkerForecast> workers = {
      Forecast(0, {10, 20, 30, 40, 50, 60}),
      Forecast(0, {15, 30, 45, 60, 75, 90}),
      Forecast(0, {30, 60, 90, 120, 150, 180}),
  };
  for (const PlanObjective objective : {PlanObjective::kSpread, PlanObjective::kTotalWait}) {
    const absl::StatusOr<Plan> plan = PlanTargets(workers, objective);
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_THAT(plan->targets, ElementsAre(3, 2, 1));
    EXPECT_EQ(plan->sync_time, Ms(30));  // 60 ms is as good, 30 ms is earlier.
    EXPECT_EQ(plan->spread, absl::ZeroDuration());
    EXPECT_EQ(plan->total_wait, absl::ZeroDuration());
  }
}

// At t* = 19: chosen 10, 11, 19 (spread 9, wait 17); at 20: 20, 11, 19
// (spread 9, wait 10); at 21: spread 10, wait 11; at 30: spread 10, wait 19.
std::vector<WorkerForecast> ObjectivesDisagree() {
  return {Forecast(0, {10, 20}), Forecast(3, {11, 30}), Forecast(1, {19, 21})};
}

TEST(ZipLineExample, SpreadTiesGoToTheEarliestSyncTime) {
  const absl::StatusOr<Plan> plan = PlanTargets(ObjectivesDisagree(), PlanObjective::kSpread);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->sync_time, Ms(19));
  EXPECT_THAT(plan->targets, ElementsAre(1, 4, 2));
  EXPECT_EQ(plan->spread, absl::Milliseconds(9));
  EXPECT_EQ(plan->total_wait, absl::Milliseconds(17));  // Reported for either objective.
}

TEST(ZipLineExample, TotalWaitPicksALaterSyncTimeThatWastesLess) {
  const absl::StatusOr<Plan> plan = PlanTargets(ObjectivesDisagree(), PlanObjective::kTotalWait);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->sync_time, Ms(20));
  EXPECT_THAT(plan->targets, ElementsAre(2, 4, 2));
  EXPECT_EQ(plan->spread, absl::Milliseconds(9));
  EXPECT_EQ(plan->total_wait, absl::Milliseconds(10));
}

TEST(ZipLineExample, TwoWorkersWithEqualSpeedsSyncAtTheFirstChance) {
  // Offset by 5 ms, every candidate costs 5 ms: the earliest wins.
  const absl::StatusOr<Plan> plan =
      PlanTargets({Forecast(0, {10, 20, 30}), Forecast(0, {15, 25, 35})}, PlanObjective::kSpread);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->targets, ElementsAre(1, 1));
  EXPECT_EQ(plan->sync_time, Ms(15));
  EXPECT_EQ(plan->spread, absl::Milliseconds(5));
  EXPECT_EQ(plan->total_wait, absl::Milliseconds(5));
}

TEST(ZipLineExample, SingleWorkerSyncsAfterItsNextIteration) {
  const absl::StatusOr<Plan> plan =
      PlanTargets({Forecast(2, {10, 20, 30})}, PlanObjective::kTotalWait);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->targets, ElementsAre(3));
  EXPECT_EQ(plan->sync_time, Ms(10));
  EXPECT_EQ(plan->spread, absl::ZeroDuration());
  EXPECT_EQ(plan->total_wait, absl::ZeroDuration());
}

TEST(ZipLineExample, WorkerWaitingAtTheBarrierPinsTheSyncTime) {
  // Worker 0 arrived at 55 ms after 4 iterations; worker 1 ends at 10..100.
  const absl::StatusOr<Plan> plan =
      PlanTargets({Forecast(4, {55}), Forecast(0, {10, 20, 30, 40, 50, 60, 70, 80, 90, 100})},
                  PlanObjective::kSpread);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->targets, ElementsAre(5, 5));
  EXPECT_EQ(plan->sync_time, Ms(55));
  EXPECT_EQ(plan->spread, absl::Milliseconds(5));
}

TEST(ZipLineExample, EqualEndsPickTheLaterIteration) {
  // Iterations 1 and 2 are predicted to end together: running both costs no wait.
  const absl::StatusOr<Plan> plan =
      PlanTargets({Forecast(0, {10, 10, 20}), Forecast(0, {10})}, PlanObjective::kSpread);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->targets, ElementsAre(2, 1));
  EXPECT_EQ(plan->sync_time, Ms(10));
}

TEST(ZipLineExample, WorkerThatFinishesEarlyWaitsForTheOthersFirstPoint) {
  const absl::StatusOr<Plan> plan =
      PlanTargets({Forecast(0, {1, 2}), Forecast(0, {10})}, PlanObjective::kTotalWait);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->targets, ElementsAre(2, 1));
  EXPECT_EQ(plan->sync_time, Ms(10));
  EXPECT_EQ(plan->total_wait, absl::Milliseconds(8));
}

TEST(ZipLineExample, SubMillisecondTimesAreExact) {
  const absl::StatusOr<Plan> plan =
      PlanTargets({WorkerForecast{0, {kBase + absl::Nanoseconds(1), kBase + absl::Nanoseconds(3)}},
                   WorkerForecast{0, {kBase + absl::Nanoseconds(2)}}},
                  PlanObjective::kSpread);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->targets, ElementsAre(1, 1));
  EXPECT_EQ(plan->spread, absl::Nanoseconds(1));
}

void ExpectInvalid(const std::vector<WorkerForecast>& workers, const std::string& needle) {
  const absl::StatusOr<Plan> plan = PlanTargets(workers, PlanObjective::kSpread);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << plan.status();
  EXPECT_THAT(std::string(plan.status().message()), HasSubstr(needle));
}

TEST(ZipLineInvalidInput, EmptyInputIsRejected) {
  ExpectInvalid({}, "at least one worker forecast, got none");
}

TEST(ZipLineInvalidInput, WorkerWithoutEndsIsRejectedByIndex) {
  ExpectInvalid({Forecast(0, {10}), Forecast(2, {})}, "worker 1 (done = 2) has no predicted ends");
}

TEST(ZipLineInvalidInput, DecreasingEndsAreRejectedWithIndexAndTimes) {
  ExpectInvalid({Forecast(0, {10}), Forecast(0, {10}), Forecast(0, {10, 30, 20})},
                "worker 2's predicted ends decrease at index 2: 2027-01-15T08:00:00.02+00:00 "
                "after 2027-01-15T08:00:00.03+00:00");
}

TEST(ZipLineInvalidInput, NegativeDoneIsRejected) {
  ExpectInvalid({Forecast(-3, {10})}, "worker 0 has done = -3; it must be >= 0");
}

TEST(ZipLineInvalidInput, InfiniteEndIsRejected) {
  ExpectInvalid({WorkerForecast{0, {Ms(1), absl::InfiniteFuture()}}},
                "worker 0's predicted end 1 (infinite-future) is outside");
}

TEST(ZipLineInvalidInput, EndsSpanningMoreThanTheNanosecondRangeAreRejected) {
  ExpectInvalid({WorkerForecast{0, {absl::FromUnixSeconds(-8'000'000'000)}},
                 WorkerForecast{0, {absl::FromUnixSeconds(8'000'000'000)}}},
                "more than the planner's range of int64 nanoseconds");
}

TEST(ZipLineLarge, ManyPinnedWorkersSyncAtTheLastArrival) {
  // Every worker is already waiting: one point each, the barrier is the last.
  std::vector<WorkerForecast> workers;
  for (int i = 0; i < 5000; ++i) workers.push_back(Forecast(3, {(i * 7919) % 5000}));
  for (const PlanObjective objective : {PlanObjective::kSpread, PlanObjective::kTotalWait}) {
    const absl::StatusOr<Plan> plan = PlanTargets(workers, objective);
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(plan->sync_time, Ms(4999));
    EXPECT_EQ(plan->spread, absl::Milliseconds(4999));
    EXPECT_EQ(plan->total_wait, absl::Milliseconds(int64_t{5000} * 4999 / 2));
    EXPECT_EQ(std::count(plan->targets.begin(), plan->targets.end(), 4), 5000);
  }
}

TEST(ZipLineLarge, OneWorkerWithALongLookaheadSyncsAfterOneIteration) {
  std::vector<int64_t> ends;
  for (int j = 1; j <= 1000; ++j) ends.push_back(j);
  const absl::StatusOr<Plan> plan = PlanTargets({Forecast(0, ends)}, PlanObjective::kSpread);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->targets, ElementsAre(1));
  EXPECT_EQ(plan->sync_time, Ms(1));
}

TEST(ZipLineLarge, ThousandWorkersSyncAtTheirFirstCommonEnd) {
  // Periods 1..6 ms from 580 ms: the first time all end together is 580 +
  // lcm(1..6) = 640 ms.
  std::vector<WorkerForecast> workers;
  for (int i = 0; i < 1000; ++i) {
    const int64_t period = 1 + i % 6;
    std::vector<int64_t> ends;
    for (int j = 1; j <= 150; ++j) ends.push_back(580 + j * period);
    workers.push_back(Forecast(0, ends));
  }
  const absl::StatusOr<Plan> plan = PlanTargets(workers, PlanObjective::kSpread);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->spread, absl::ZeroDuration());
  EXPECT_EQ(plan->sync_time, Ms(640));
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(plan->targets[i], 60 / (1 + i % 6)) << "worker " << i;
}

}  // namespace
}  // namespace ebsp::core
