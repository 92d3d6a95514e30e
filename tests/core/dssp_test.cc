// DSSP through JobState in virtual time: when a worker past s is told to
// continue or to wait, the bound s + r_max, and the choice of r against a
// brute force on random small cases.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/core/job/job_state.h"
#include "lib/core/policy/dssp_policy.h"
#include "lib/core/policy/policy_config.h"
#include "tests/core/test_support.h"

namespace ebsp::core {
namespace {

using ::ebsp::core::testing::VirtualClock;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The reference for ChooseExtraIterations: every r in [0, budget], the
// predicted wait max(0, T_s - (now + r I)) of each, the smallest r whose
// wait is zero, and r = 0 when every r leaves a wait.
int BruteForceExtra(absl::Time now, absl::Duration interval, absl::Time slowest_advance,
                    int budget) {
  for (int r = 0; r <= budget; ++r) {
    const absl::Duration wait =
        std::max(absl::ZeroDuration(), slowest_advance - (now + r * interval));
    if (wait == absl::ZeroDuration()) return r;
  }
  return 0;
}

TEST(ChooseExtraIterationsTest, EqualsBruteForceOnRandomSmallCases) {
  std::mt19937_64 rng(15);
  const absl::Time now = absl::UnixEpoch() + absl::Hours(1);
  int continued = 0;
  int waited_far = 0;
  for (int c = 0; c < 20000; ++c) {
    const absl::Duration interval =
        absl::Milliseconds(std::uniform_int_distribution<int>(0, 50)(rng) * 10);
    const absl::Time advance =
        now + absl::Milliseconds(std::uniform_int_distribution<int>(-300, 3000)(rng));
    const int budget = std::uniform_int_distribution<int>(0, 8)(rng);
    const int expected = BruteForceExtra(now, interval, advance, budget);
    ASSERT_EQ(ChooseExtraIterations(now, interval, advance, budget), expected)
        << "interval " << interval << " advance in " << (advance - now) << " budget " << budget;
    if (expected > 0) ++continued;
    if (expected == 0 && advance > now + budget * interval) ++waited_far;
  }
  // Both outcomes are exercised, not just one.
  EXPECT_GT(continued, 2000);
  EXPECT_GT(waited_far, 2000);
}

TEST(ChooseExtraIterationsTest, EdgeCases) {
  const absl::Time now = absl::UnixEpoch();
  // Exactly on an iteration end: that r, no more.
  EXPECT_EQ(ChooseExtraIterations(now, absl::Seconds(1), now + absl::Seconds(3), 3), 3);
  EXPECT_EQ(ChooseExtraIterations(now, absl::Seconds(1), now + absl::Seconds(3), 2), 0);
  // The slowest is overdue: its advance is predicted now, so no wait at r = 0.
  EXPECT_EQ(ChooseExtraIterations(now, absl::Seconds(1), now - absl::Seconds(1), 5), 0);
  // A zero interval never reaches a later advance.
  EXPECT_EQ(ChooseExtraIterations(now, absl::ZeroDuration(), now + absl::Seconds(1), 5), 0);
  EXPECT_EQ(ChooseExtraIterations(now, absl::Seconds(1), now + absl::Seconds(1), 0), 0);
}

class DsspTest : public ::testing::Test {
 protected:
  void MakeJob(const std::string& policy_text) {
    JobOptions options;
    absl::StatusOr<PolicyConfig> policy = ParsePolicy(policy_text);
    ASSERT_TRUE(policy.ok()) << policy.status();
    options.policy = *policy;
    options.heartbeat_timeout = absl::Hours(1);
    job_ = std::make_unique<JobState>("dssp", options, clock_.Now());
  }
  // Worker `id` reports its next iteration at start + `at`.
  ReportResult ReportAt(WorkerId id, absl::Duration at) {
    const int iteration = ++done_[id];
    absl::StatusOr<ReportResult> r =
        job_->ReportIteration(id, 0, iteration, absl::Seconds(1), start_ + at);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ReportResult{};
  }
  SyncAction Report(WorkerId id, absl::Duration at) { return ReportAt(id, at).action; }

  // Worker 1 (fast) and worker 2 (slow) both report at 1x and 2x
  // `slow_interval`; the fast one then reports at +1 s steps from there.
  void TwoWorkersWithHistory(const std::string& policy, absl::Duration slow_interval) {
    MakeJob(policy);
    ASSERT_TRUE(job_->Register(1, "fast", start_).ok());
    ASSERT_TRUE(job_->Register(2, "slow", start_).ok());
    for (int k = 1; k <= 2; ++k) {
      ASSERT_EQ(Report(2, k * slow_interval), SyncAction::kContinue);
      ASSERT_EQ(Report(1, k * slow_interval), SyncAction::kContinue);
    }
  }

  VirtualClock clock_;
  const absl::Time start_ = clock_.Now();
  std::unique_ptr<JobState> job_;
  std::map<WorkerId, int> done_;
};

TEST_F(DsspTest, ContinuesWhenTheSlowestIsPredictedWithinTheRange) {
  // Slow: one iteration per 3 s, next predicted at 9 s. s = 1, r_max = 4.
  TwoWorkersWithHistory("dssp:s=1,r=4,predictor=latest", absl::Seconds(3));
  EXPECT_EQ(Report(1, absl::Seconds(7)), SyncAction::kContinue);  // Lead 1 = s.
  // Lead 2 at 8 s: one more iteration ends at 9 s, when the slow one is due.
  EXPECT_EQ(Report(1, absl::Seconds(8)), SyncAction::kContinue);
  // That was the one extra iteration: lead 3 at 9 s (the slow one is late)
  // is past it, and the slow one is now predicted at once, so it waits.
  EXPECT_EQ(Report(1, absl::Seconds(9)), SyncAction::kWait);
  absl::StatusOr<Effects> waiting = job_->WaitForClock(1, start_ + absl::Seconds(9));
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  EXPECT_THAT(waiting->releases, IsEmpty());
  // The slow one's next iteration releases it (lead 2 = its allowed lead).
  ReportResult slow = ReportAt(2, absl::Seconds(10));
  EXPECT_THAT(slow.effects.releases, ElementsAre(Field(&Release::worker, WorkerId{1})));
  EXPECT_EQ(slow.effects.releases[0].waited, absl::Seconds(1));
}

TEST_F(DsspTest, KeepsItsRaisedThresholdWhileTheSlowestArrivesAsPredicted) {
  TwoWorkersWithHistory("dssp:s=1,r=4,predictor=latest", absl::Seconds(3));
  EXPECT_EQ(Report(1, absl::Seconds(7)), SyncAction::kContinue);
  EXPECT_EQ(Report(1, absl::Seconds(8)), SyncAction::kContinue);  // Allowed lead 2.
  EXPECT_EQ(Report(2, absl::Seconds(9)), SyncAction::kContinue);  // On time.
  EXPECT_EQ(Report(1, absl::Seconds(9)), SyncAction::kContinue);  // Lead 2 again.
}

TEST_F(DsspTest, WaitsWhenTheSlowestIsNotPredictedWithinTheRange) {
  // Slow: one iteration per 10 s, next at 30 s; the fast one would need 8
  // more iterations of 1 s, but only r_max = 4 are allowed.
  TwoWorkersWithHistory("dssp:s=1,r=4,predictor=latest", absl::Seconds(10));
  EXPECT_EQ(Report(1, absl::Seconds(21)), SyncAction::kContinue);
  EXPECT_EQ(Report(1, absl::Seconds(22)), SyncAction::kWait);
  ASSERT_TRUE(job_->WaitForClock(1, start_ + absl::Seconds(22)).ok());
  ReportResult slow = ReportAt(2, absl::Seconds(30));
  EXPECT_THAT(slow.effects.releases, ElementsAre(Field(&Release::worker, WorkerId{1})));
  EXPECT_EQ(slow.effects.releases[0].waited, absl::Seconds(8));
}

TEST_F(DsspTest, WaitsLikeSspWithoutForecasts) {
  MakeJob("dssp:s=1,r=8");
  ASSERT_TRUE(job_->Register(1, "fast", start_).ok());
  ASSERT_TRUE(job_->Register(2, "slow", start_).ok());
  EXPECT_EQ(Report(1, absl::Seconds(1)), SyncAction::kContinue);
  // The slow one has never reported: nothing predicts it, so no extra range.
  EXPECT_EQ(Report(1, absl::Seconds(2)), SyncAction::kWait);
}

TEST_F(DsspTest, WaitForClockIsAllowedAndAspStillRejectsIt) {
  MakeJob("dssp:s=1,r=2");
  ASSERT_TRUE(job_->Register(1, "a", start_).ok());
  EXPECT_TRUE(job_->WaitForClock(1, start_).ok());
  MakeJob("asp");
  ASSERT_TRUE(job_->Register(1, "a", start_).ok());
  absl::StatusOr<Effects> rejected = job_->WaitForClock(1, start_);
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(rejected.status().message(), HasSubstr("only ssp and dssp"));
}

// Random small cases: histories laid out report by report, then the policy
// switched to DSSP with s one below the fastest's next lead, and the fastest
// reporting alone. It must continue exactly r* times in a row, where r* is
// the brute force's choice from the same history (latest-interval forecasts).
TEST_F(DsspTest, ChoiceOfROnRandomSmallCasesEqualsBruteForce) {
  std::mt19937_64 rng(10);
  int cases_with_extra = 0;
  int cases_waiting = 0;
  for (int c = 0; c < 400; ++c) {
    done_.clear();
    MakeJob("dssp:s=1000,r=1,predictor=latest");
    const int n = std::uniform_int_distribution<int>(2, 4)(rng);
    struct Worker {
      int reports = 0;
      absl::Time last;
      absl::Duration last_interval;
    };
    std::vector<Worker> workers(n);
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(job_->Register(i + 1, absl::StrCat("w", i), start_).ok());
    }
    // Worker 0 is the fastest: more reports than anyone. Every report time
    // is on a 100 ms grid and after the previous one of the same worker; the
    // reports go to the job in time order.
    std::vector<std::pair<absl::Time, int>> reports;
    absl::Time latest = start_;
    for (int i = 0; i < n; ++i) {
      Worker& w = workers[i];
      w.reports = i == 0 ? std::uniform_int_distribution<int>(5, 8)(rng)
                         : std::uniform_int_distribution<int>(2, 4)(rng);
      absl::Time t = start_;
      for (int k = 0; k < w.reports; ++k) {
        const absl::Duration step =
            absl::Milliseconds(100 * std::uniform_int_distribution<int>(1, i == 0 ? 5 : 20)(rng));
        t += step;
        w.last_interval = step;
        reports.emplace_back(t, i);
        latest = std::max(latest, t);
      }
      w.last = t;
    }
    std::sort(reports.begin(), reports.end());
    for (const auto& [t, i] : reports) ASSERT_EQ(Report(i + 1, t - start_), SyncAction::kContinue);
    // The fastest's next report comes after the latest report of anyone.
    const absl::Duration fast_interval =
        absl::Milliseconds(100 * std::uniform_int_distribution<int>(1, 5)(rng));
    const absl::Time now = latest + fast_interval;
    const int slowest =
        std::min_element(workers.begin() + 1, workers.end(), [](const Worker& a, const Worker& b) {
          return a.reports < b.reports;
        })->reports;
    absl::Time slowest_advance = absl::InfinitePast();
    for (int i = 1; i < n; ++i) {
      if (workers[i].reports == slowest) {
        slowest_advance = std::max(slowest_advance, workers[i].last + workers[i].last_interval);
      }
    }
    const int lead = workers[0].reports + 1 - slowest;
    const int r_max = std::uniform_int_distribution<int>(1, 10)(rng);
    // The fastest's interval at `now` is now - its last report.
    const absl::Duration interval = now - workers[0].last;
    const int expected = BruteForceExtra(now, interval, slowest_advance, r_max);
    ASSERT_TRUE(job_->UpdatePolicy(*ParsePolicy(absl::StrCat("dssp:s=", lead - 1, ",r=", r_max,
                                                             ",predictor=latest")),
                                   now)
                    .ok());
    int continues = 0;
    absl::Time t = now;
    // Bounded: at most r_max + 1 reports before a wait (the bound).
    for (int k = 0; k <= r_max + 1; ++k) {
      if (Report(1, t - start_) != SyncAction::kContinue) break;
      ++continues;
      t += interval;
    }
    ASSERT_EQ(continues, expected)
        << "case " << c << ": lead " << lead << " r_max " << r_max << " interval " << interval
        << " slowest advance in " << (slowest_advance - now);
    if (expected > 0) ++cases_with_extra;
    if (expected == 0) ++cases_waiting;
  }
  EXPECT_GT(cases_with_extra, 40);
  EXPECT_GT(cases_waiting, 40);
}

// Random jobs in virtual time: workers of random speeds run under random
// (s, r_max); no worker is ever told to continue beyond s + r_max ahead of
// the slowest, and the snapshot's staleness never exceeds s + r_max + 1 (a
// worker at the bound finishes its iteration, then waits).
TEST_F(DsspTest, NeverExceedsSPlusRMax) {
  std::mt19937_64 rng(1908);
  uint64_t widest_lead_seen = 0;
  for (int c = 0; c < 30; ++c) {
    done_.clear();
    const int s = std::uniform_int_distribution<int>(0, 3)(rng);
    const int r_max = std::uniform_int_distribution<int>(1, 6)(rng);
    MakeJob(absl::StrCat("dssp:s=", s, ",r=", r_max));
    const int n = std::uniform_int_distribution<int>(2, 6)(rng);
    std::vector<absl::Duration> speed(n);
    std::vector<absl::Time> next_end(n);
    std::vector<bool> waiting(n, false);
    std::vector<uint64_t> clock(n, 0);
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(job_->Register(i + 1, absl::StrCat("w", i), start_).ok());
      speed[i] = absl::Milliseconds(std::uniform_int_distribution<int>(50, 400)(rng));
      next_end[i] = start_ + speed[i];
    }
    for (int event = 0; event < 3000; ++event) {
      int w = -1;
      for (int i = 0; i < n; ++i) {
        if (!waiting[i] && (w < 0 || next_end[i] < next_end[w])) w = i;
      }
      ASSERT_GE(w, 0) << "everyone waits";
      const absl::Time now = next_end[w];
      ReportResult r = ReportAt(w + 1, now - start_);
      ++clock[w];
      const uint64_t slowest = *std::min_element(clock.begin(), clock.end());
      if (r.action == SyncAction::kContinue) {
        ASSERT_LE(clock[w] - slowest, static_cast<uint64_t>(s + r_max)) << "case " << c;
      }
      std::vector<Release> releases = r.effects.releases;
      if (r.action == SyncAction::kWait) {
        waiting[w] = true;
        absl::StatusOr<Effects> e = job_->WaitForClock(w + 1, now);
        ASSERT_TRUE(e.ok()) << e.status();
        releases.insert(releases.end(), e->releases.begin(), e->releases.end());
      }
      for (const Release& release : releases) {
        const int i = static_cast<int>(release.worker) - 1;
        waiting[i] = false;
        next_end[i] = now;
      }
      // Jitter: up to +50% on each iteration.
      for (int i : {w}) {
        if (!waiting[i]) {
          next_end[i] = now + speed[i] * (1 + std::uniform_real_distribution<double>(0, 0.5)(rng));
        }
      }
      for (const Release& release : releases) {
        const int i = static_cast<int>(release.worker) - 1;
        next_end[i] = now + speed[i];
      }
      const uint64_t staleness = job_->Snapshot(now).staleness;
      ASSERT_LE(staleness, static_cast<uint64_t>(s + r_max + 1)) << "case " << c;
      widest_lead_seen = std::max(widest_lead_seen, staleness - static_cast<uint64_t>(s));
    }
  }
  // The range is used: some worker went beyond SSP's s + 1.
  EXPECT_GT(widest_lead_seen, 1u);
}

}  // namespace
}  // namespace ebsp::core
