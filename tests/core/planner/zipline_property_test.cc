// Property test: PlanTargets against the brute force over all R^n choices on
// thousands of seeded small cases, and against the candidate scan on medium
// ones. Each case is checked for both objectives.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/core/planner/zipline.h"
#include "tests/core/planner/brute_force.h"

namespace ebsp::core {
namespace {

using testing::BruteForceOptima;
using testing::Optima;
using testing::ScanOptima;

enum class CaseKind {
  kCoarseGrid,        // Random points on a few grid steps: many exact ties.
  kEqualSpeeds,       // Arithmetic, one period for all, random offsets.
  kDifferentSpeeds,   // Arithmetic, a period per worker.
  kIrregularFine,     // Random nanosecond gaps: few ties.
  kPinnedAndWaiting,  // Some workers pinned to one point (at the barrier).
};

constexpr CaseKind kAllKinds[] = {CaseKind::kCoarseGrid, CaseKind::kEqualSpeeds,
                                  CaseKind::kDifferentSpeeds, CaseKind::kIrregularFine,
                                  CaseKind::kPinnedAndWaiting};

// Uniform in [lo, hi]; written out so the cases do not depend on the
// standard library's distribution implementation.
int64_t Uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
}

const absl::Time kBase = absl::FromUnixSeconds(1'800'000'000);

enum class Progress { kFresh, kSomeDone };

// One forecast: R - done points for each worker, as the job state passes them.
// kFresh keeps done = 0 (and R points, unless pinned), for full R^n cases.
std::vector<WorkerForecast> MakeCase(CaseKind kind, int n, int r, std::mt19937_64& rng,
                                     Progress progress = Progress::kSomeDone) {
  const absl::Duration unit = absl::Milliseconds(Uniform(rng, 1, 7));
  const int64_t common_period = Uniform(rng, 1, 4);
  std::vector<WorkerForecast> workers(n);
  for (WorkerForecast& w : workers) {
    // Half the workers have done some iterations already.
    w.done = progress == Progress::kFresh || Uniform(rng, 0, 1) == 0
                 ? 0
                 : static_cast<int>(Uniform(rng, 0, r - 1));
    int count = r - w.done;
    if (kind == CaseKind::kPinnedAndWaiting && Uniform(rng, 0, 2) == 0) count = 1;
    std::vector<int64_t> ticks;
    switch (kind) {
      case CaseKind::kCoarseGrid:
      case CaseKind::kPinnedAndWaiting: {
        const int64_t grid = Uniform(rng, 2, 3 * r);
        for (int j = 0; j < count; ++j) ticks.push_back(Uniform(rng, 0, grid));
        std::sort(ticks.begin(), ticks.end());
        break;
      }
      case CaseKind::kEqualSpeeds:
      case CaseKind::kDifferentSpeeds: {
        const int64_t period = kind == CaseKind::kEqualSpeeds ? common_period : Uniform(rng, 1, 5);
        const int64_t offset = Uniform(rng, 0, 4);
        for (int j = 0; j < count; ++j) ticks.push_back(offset + (j + 1) * period);
        break;
      }
      case CaseKind::kIrregularFine: {
        int64_t t = Uniform(rng, 0, 1'000'000'000);
        for (int j = 0; j < count; ++j) {
          t += Uniform(rng, 0, 3) == 0 ? 0 : Uniform(rng, 1, 1'000'000'000);
          ticks.push_back(t);
        }
        break;
      }
    }
    const absl::Duration tick = kind == CaseKind::kIrregularFine ? absl::Nanoseconds(1) : unit;
    for (const int64_t k : ticks) w.ends.push_back(kBase + k * tick);
  }
  return workers;
}

std::string Describe(const std::vector<WorkerForecast>& workers) {
  std::ostringstream out;
  for (size_t i = 0; i < workers.size(); ++i) {
    out << "  worker " << i << " done=" << workers[i].done << " ends(ns after base)=";
    for (const absl::Time t : workers[i].ends) {
      out << " " << absl::ToInt64Nanoseconds(t - kBase);
    }
    out << "\n";
  }
  return out.str();
}

const char* Name(PlanObjective objective) {
  return objective == PlanObjective::kSpread ? "spread" : "total_wait";
}

// Checks one case for one objective against the reference optima.
::testing::AssertionResult MatchesOptimum(const std::vector<WorkerForecast>& workers,
                                          PlanObjective objective, const Optima& optima) {
  const absl::StatusOr<Plan> plan = PlanTargets(workers, objective);
  if (!plan.ok()) {
    return ::testing::AssertionFailure() << Name(objective) << ": " << plan.status();
  }
  if (plan->targets.size() != workers.size()) {
    return ::testing::AssertionFailure() << Name(objective) << ": " << plan->targets.size()
                                         << " targets for " << workers.size() << " workers";
  }
  // Recompute everything from the targets alone.
  absl::Time max_end = absl::InfinitePast();
  absl::Time min_end = absl::InfiniteFuture();
  for (size_t i = 0; i < workers.size(); ++i) {
    const int k = plan->targets[i];
    const int last = workers[i].done + static_cast<int>(workers[i].ends.size());
    if (k <= workers[i].done || k > last) {
      return ::testing::AssertionFailure()
             << Name(objective) << ": worker " << i << " target " << k << " outside ("
             << workers[i].done << ", " << last << "]";
    }
    const absl::Time chosen = workers[i].ends[k - workers[i].done - 1];
    max_end = std::max(max_end, chosen);
    min_end = std::min(min_end, chosen);
  }
  absl::Duration wait = absl::ZeroDuration();
  for (size_t i = 0; i < workers.size(); ++i) {
    wait += max_end - workers[i].ends[plan->targets[i] - workers[i].done - 1];
  }
  if (plan->sync_time != max_end || plan->spread != max_end - min_end || plan->total_wait != wait) {
    return ::testing::AssertionFailure()
           << Name(objective) << ": reported sync/spread/wait " << plan->sync_time - kBase << "/"
           << plan->spread << "/" << plan->total_wait << " but the targets give " << max_end - kBase
           << "/" << max_end - min_end << "/" << wait;
  }
  const absl::Duration value =
      objective == PlanObjective::kSpread ? plan->spread : plan->total_wait;
  const testing::Optimum& best = optima.For(objective);
  if (value != best.value || plan->sync_time != best.sync_time) {
    return ::testing::AssertionFailure()
           << Name(objective) << ": planner value " << value << " at t*=" << plan->sync_time - kBase
           << ", reference " << best.value << " at earliest t*=" << best.sync_time - kBase;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult MatchesBoth(const std::vector<WorkerForecast>& workers,
                                       const Optima& optima) {
  for (const PlanObjective objective : {PlanObjective::kSpread, PlanObjective::kTotalWait}) {
    ::testing::AssertionResult r = MatchesOptimum(workers, objective, optima);
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

void ReportCount(const std::string& what, int cases) {
  ::testing::Test::RecordProperty("cases_checked", cases);
  std::cout << what << ": checked " << cases << " cases, both objectives\n";
}

TEST(ZipLineProperty, MatchesBruteForceOnThousandsOfSmallCases) {
  int cases = 0;
  for (uint64_t seed = 1; seed <= 20000; ++seed) {
    std::mt19937_64 rng(seed);
    const CaseKind kind = kAllKinds[seed % std::size(kAllKinds)];
    // Mostly small; the brute force grows as R^n.
    const int n = static_cast<int>(Uniform(rng, 1, 5));
    const int r = static_cast<int>(Uniform(rng, 1, 5));
    const std::vector<WorkerForecast> workers = MakeCase(kind, n, r, rng);
    ASSERT_TRUE(MatchesBoth(workers, BruteForceOptima(workers)))
        << "seed " << seed << " n=" << n << " R=" << r << "\n"
        << Describe(workers);
    ++cases;
  }
  ReportCount("small cases (n, R <= 5)", cases);
}

TEST(ZipLineProperty, MatchesBruteForceOnFullSixBySixCases) {
  int cases = 0;
  for (uint64_t seed = 1; seed <= 500; ++seed) {
    std::mt19937_64 rng(seed * 7919);
    const CaseKind kind = kAllKinds[seed % std::size(kAllKinds)];
    const std::vector<WorkerForecast> workers = MakeCase(kind, 6, 6, rng, Progress::kFresh);
    ASSERT_TRUE(MatchesBoth(workers, BruteForceOptima(workers))) << "seed " << seed << " n=6 R=6\n"
                                                                 << Describe(workers);
    ++cases;
  }
  ReportCount("6x6 cases", cases);
}

TEST(ZipLineProperty, ScanReferenceAgreesWithBruteForce) {
  // The scan checks medium sizes below; here it earns that trust.
  int cases = 0;
  for (uint64_t seed = 1; seed <= 5000; ++seed) {
    std::mt19937_64 rng(seed * 104729);
    const CaseKind kind = kAllKinds[seed % std::size(kAllKinds)];
    const std::vector<WorkerForecast> workers = MakeCase(kind, static_cast<int>(Uniform(rng, 1, 5)),
                                                         static_cast<int>(Uniform(rng, 1, 5)), rng);
    const Optima brute = BruteForceOptima(workers);
    const Optima scan = ScanOptima(workers);
    ASSERT_EQ(scan.spread.value, brute.spread.value) << Describe(workers);
    ASSERT_EQ(scan.spread.sync_time, brute.spread.sync_time) << Describe(workers);
    ASSERT_EQ(scan.total_wait.value, brute.total_wait.value) << Describe(workers);
    ASSERT_EQ(scan.total_wait.sync_time, brute.total_wait.sync_time) << Describe(workers);
    ++cases;
  }
  ReportCount("scan vs brute force", cases);
}

TEST(ZipLineProperty, MatchesCandidateScanOnMediumCases) {
  int cases = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 rng(seed * 15485863);
    const CaseKind kind = kAllKinds[seed % std::size(kAllKinds)];
    const int n = static_cast<int>(Uniform(rng, 7, 60));
    const int r = static_cast<int>(Uniform(rng, 7, 40));
    const std::vector<WorkerForecast> workers = MakeCase(kind, n, r, rng);
    ASSERT_TRUE(MatchesBoth(workers, ScanOptima(workers)))
        << "seed " << seed << " n=" << n << " R=" << r << "\n"
        << Describe(workers);
    ++cases;
  }
  ReportCount("medium cases (n <= 60, R <= 40) vs scan", cases);
}

}  // namespace
}  // namespace ebsp::core
