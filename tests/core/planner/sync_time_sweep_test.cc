// The sweep's two time orders (slabs, heap) must find the same t*; the
// slab order must really be the one used on realistic forecasts, and the
// heap must take over when the points are far from evenly spread.
#include "lib/core/planner/sync_time_sweep.h"

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/core/planner/flat_forecast.h"
#include "lib/core/planner/zipline.h"
#include "tests/core/planner/brute_force.h"

namespace ebsp::core::planner_internal {
namespace {

using Order = SyncTimeSweep::Order;

constexpr PlanObjective kObjectives[] = {PlanObjective::kSpread, PlanObjective::kTotalWait};
const absl::Time kBase = absl::FromUnixSeconds(1'800'000'000);

std::vector<WorkerForecast> Heterogeneous(int n, int r, uint64_t seed) {
  return testing::HeterogeneousForecast(n, r, seed, kBase);
}

// Integer milliseconds on a short range: many exact ties across workers.
std::vector<WorkerForecast> CoarseGrid(int n, int r, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<WorkerForecast> workers(n);
  for (WorkerForecast& w : workers) {
    w.done = static_cast<int>(rng() % r);
    int64_t t = static_cast<int64_t>(rng() % 5);
    for (int j = w.done; j < r; ++j) {
      t += static_cast<int64_t>(rng() % 4);
      w.ends.push_back(kBase + absl::Milliseconds(t));
    }
  }
  return workers;
}

struct Found {
  int64_t t;
  Order order;
};

Found Sweep(const std::vector<WorkerForecast>& workers, PlanObjective objective) {
  FlatForecast flat;
  EXPECT_TRUE(flat.Assign(workers).ok());
  SyncTimeSweep sweep;
  const int64_t t = sweep.FindSyncTime(flat, objective);
  return Found{t, sweep.last_order()};
}

int64_t SweepByHeap(const std::vector<WorkerForecast>& workers, PlanObjective objective) {
  FlatForecast flat;
  EXPECT_TRUE(flat.Assign(workers).ok());
  SyncTimeSweep sweep;
  return sweep.FindSyncTimeByHeap(flat, objective);
}

int64_t ScanTime(const std::vector<WorkerForecast>& workers, PlanObjective objective) {
  return absl::ToUnixNanos(testing::ScanOptima(workers).For(objective).sync_time);
}

TEST(SyncTimeSweep, SlabsAreUsedAndAgreeWithTheHeapOnRealisticForecasts) {
  int cases = 0;
  for (const int n : {32, 100, 1000}) {
    for (const int r : {15, 150}) {
      for (uint64_t seed = 1; seed <= 4; ++seed) {
        const std::vector<WorkerForecast> workers = Heterogeneous(n, r, seed);
        for (const PlanObjective objective : kObjectives) {
          const Found slabs = Sweep(workers, objective);
          EXPECT_EQ(slabs.order, Order::kSlabs) << "n=" << n << " R=" << r;
          EXPECT_EQ(slabs.t, SweepByHeap(workers, objective)) << "n=" << n << " R=" << r;
          ++cases;
        }
      }
    }
  }
  std::cout << "checked " << cases << " realistic cases, slabs against heap\n";
}

TEST(SyncTimeSweep, SlabsMatchTheCandidateScanWithManyTies) {
  int cases = 0;
  for (uint64_t seed = 1; seed <= 120; ++seed) {
    const int n = 32 + static_cast<int>(seed % 70);
    const int r = 2 + static_cast<int>(seed % 19);
    const std::vector<WorkerForecast> workers = CoarseGrid(n, r, seed);
    for (const PlanObjective objective : kObjectives) {
      const Found slabs = Sweep(workers, objective);
      ASSERT_EQ(slabs.t, ScanTime(workers, objective)) << "seed " << seed;
      ASSERT_EQ(slabs.t, SweepByHeap(workers, objective)) << "seed " << seed;
      ++cases;
    }
  }
  std::cout << "checked " << cases << " tie-heavy cases against the scan\n";
}

TEST(SyncTimeSweep, OptimumAfterAWorkerRanOutOfPointsIsStillFound) {
  // Worker 0 stops at L = 290 ms. Workers 1..63 converge only at their last
  // points, C + i us with C = L + 5 ms (their periods differ, so earlier
  // points are tens of ms apart): the optimum lies after min_last, where
  // the sweep's early stop must not cut it off.
  constexpr int kWorkers = 64;
  constexpr int kLookahead = 30;
  const int64_t last_of_first = 290'000'000;
  const int64_t converge = last_of_first + 5'000'000;
  std::vector<WorkerForecast> workers(kWorkers);
  for (int j = 0; j < kLookahead; ++j) {
    workers[0].ends.push_back(kBase + absl::Nanoseconds(j * 10'000'000));
  }
  for (int i = 1; i < kWorkers; ++i) {
    const int64_t period = 10'000'000 + i * 370'000;
    for (int j = 0; j < kLookahead; ++j) {
      const int64_t t = converge + i * 1'000 - (kLookahead - 1 - j) * period;
      workers[i].ends.push_back(kBase + absl::Nanoseconds(t));
    }
  }
  const int64_t expected = absl::ToUnixNanos(kBase) + converge + (kWorkers - 1) * 1'000;
  for (const PlanObjective objective : kObjectives) {
    ASSERT_EQ(ScanTime(workers, objective), expected);
    const Found found = Sweep(workers, objective);
    EXPECT_EQ(found.order, Order::kSlabs);
    EXPECT_EQ(found.t, expected);
    EXPECT_EQ(SweepByHeap(workers, objective), expected);
  }
}

TEST(SyncTimeSweep, FarOutlierMakesTheHeapTakeOver) {
  // One worker's single point an hour away puts almost every other point in
  // the first slab.
  std::vector<WorkerForecast> workers = Heterogeneous(200, 100, 7);
  workers.push_back(WorkerForecast{0, {kBase + absl::Hours(1)}});
  for (const PlanObjective objective : kObjectives) {
    const Found found = Sweep(workers, objective);
    EXPECT_EQ(found.order, Order::kHeap) << "expected the dense-slab fallback";
    EXPECT_EQ(found.t, ScanTime(workers, objective));
  }
}

TEST(SyncTimeSweep, AllPointsAtOneInstant) {
  std::vector<WorkerForecast> workers(64);
  for (WorkerForecast& w : workers) w.ends.assign(10, kBase);
  for (const PlanObjective objective : kObjectives) {
    const Found found = Sweep(workers, objective);
    EXPECT_EQ(found.order, Order::kSlabs);
    EXPECT_EQ(found.t, absl::ToUnixNanos(kBase));
  }
}

TEST(SyncTimeSweep, TimesNearTheEndOfTheNanosecondRangeDoNotOverflow) {
  const absl::Time late =
      absl::FromUnixNanos(std::numeric_limits<int64_t>::max() - 1'000'000'000'000);
  std::vector<WorkerForecast> workers = Heterogeneous(50, 30, 3);
  for (WorkerForecast& w : workers) {
    for (absl::Time& t : w.ends) t = late + (t - kBase);
  }
  for (const PlanObjective objective : kObjectives) {
    const Found found = Sweep(workers, objective);
    EXPECT_EQ(found.order, Order::kSlabs);
    EXPECT_EQ(found.t, ScanTime(workers, objective));
  }
}

}  // namespace
}  // namespace ebsp::core::planner_internal
