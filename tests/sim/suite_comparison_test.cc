// The policies compared on every suite trace with 16 workers: the claims the
// simulator exists to check (docs/design.md section 7).
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/core/policy/policy_config.h"
#include "tools/sim/engine.h"
#include "tools/sim/trace.h"

namespace ebsp::sim {
namespace {

constexpr int kWorkers = 16;
constexpr int kLookahead = 15;
constexpr int kSspStaleness = 3;
constexpr int kDsspRange = 12;
// Long enough for hundreds of rounds, short enough for a fast test binary.
constexpr absl::Duration kDuration = absl::Seconds(120);

struct Run {
  const char* policy;
  bool oracle;
};
constexpr Run kRuns[] = {{"bsp", false},           {"asp", false},       {"ssp:s=3", false},
                         {"dssp:s=3,r=12", false}, {"ebsp:R=15", false}, {"ebsp:R=15", true}};

std::string Key(const Run& run) {
  return run.oracle ? std::string("oracle") : std::string(run.policy);
}

// One simulation per (trace, policy), shared by every test of the trace.
const std::map<std::string, SimMetrics>& ResultsFor(TraceKind kind) {
  static auto* cache = new std::map<TraceKind, std::map<std::string, SimMetrics>>();
  auto [it, inserted] = cache->try_emplace(kind);
  if (!inserted) return it->second;
  SuiteOptions suite;
  suite.workers = kWorkers;
  suite.length = kDuration;
  absl::StatusOr<Trace> trace = MakeSuiteTrace(kind, suite);
  EXPECT_TRUE(trace.ok()) << trace.status();
  if (!trace.ok()) return it->second;
  for (const Run& run : kRuns) {
    SimOptions options;
    options.policy = core::ParsePolicy(run.policy).value();
    options.oracle = run.oracle;
    options.duration = kDuration;
    absl::StatusOr<SimMetrics> metrics = Simulate(*trace, options);
    EXPECT_TRUE(metrics.ok()) << TraceKindName(kind) << " / " << Key(run) << ": "
                              << metrics.status();
    if (metrics.ok()) it->second.emplace(Key(run), *metrics);
  }
  return it->second;
}

class SuiteComparisonTest : public ::testing::TestWithParam<TraceKind> {
 protected:
  const SimMetrics& Get(const std::string& key) {
    const std::map<std::string, SimMetrics>& results = ResultsFor(GetParam());
    auto it = results.find(key);
    if (it == results.end()) {
      ADD_FAILURE() << "no result for " << key;
      static const SimMetrics kEmpty;
      return kEmpty;
    }
    return it->second;
  }
};

TEST_P(SuiteComparisonTest, AspNeverWaits) {
  const SimMetrics& asp = Get("asp");
  EXPECT_EQ(asp.idle_fraction, 0);
  EXPECT_EQ(asp.waits, 0u);
  EXPECT_GT(asp.iterations_total, 0u);
}

TEST_P(SuiteComparisonTest, BspIdlesAndTrailsAsp) {
  const SimMetrics& bsp = Get("bsp");
  const SimMetrics& asp = Get("asp");
  EXPECT_GT(bsp.idle_fraction, 0);
  EXPECT_LT(bsp.throughput_iters_per_s, asp.throughput_iters_per_s);
  EXPECT_EQ(bsp.max_staleness, 1u);
}

TEST_P(SuiteComparisonTest, ElasticBspBeatsBsp) {
  EXPECT_GT(Get("ebsp:R=15").throughput_iters_per_s, Get("bsp").throughput_iters_per_s);
  EXPECT_LT(Get("ebsp:R=15").idle_fraction, Get("bsp").idle_fraction);
}

TEST_P(SuiteComparisonTest, ElasticBspStalenessIsBoundedByR) {
  // Every barrier brings all workers to 0 iterations of the new round and a
  // target never exceeds R, so within a round the lead is at most R.
  EXPECT_LE(Get("ebsp:R=15").max_staleness, static_cast<uint64_t>(kLookahead));
  EXPECT_LE(Get("oracle").max_staleness, static_cast<uint64_t>(kLookahead));
}

TEST_P(SuiteComparisonTest, SspStalenessIsAtMostSPlusOne) {
  // A worker is stopped after the report that puts it more than s ahead.
  EXPECT_LE(Get("ssp:s=3").max_staleness, static_cast<uint64_t>(kSspStaleness + 1));
}

TEST_P(SuiteComparisonTest, DsspStalenessIsAtMostSPlusRMaxPlusOne) {
  // As for SSP: a worker at its highest allowed lead s + r_max finishes the
  // iteration it started, then waits.
  EXPECT_LE(Get("dssp:s=3,r=12").max_staleness,
            static_cast<uint64_t>(kSspStaleness + kDsspRange + 1));
}

TEST_P(SuiteComparisonTest, DsspKeepsAtLeastSspsThroughput) {
  // Its threshold is never below SSP's s. Not a theorem either (a waiting
  // worker's next iterations move), hence the 1% margin.
  EXPECT_GE(Get("dssp:s=3,r=12").throughput_iters_per_s,
            0.99 * Get("ssp:s=3").throughput_iters_per_s);
}

TEST_P(SuiteComparisonTest, OracleRoundsWaitExactlyAsPlanned) {
  // Clairvoyant forecasts: what ZipLine predicted for a round is what
  // happened, so the summed actual and predicted waits agree.
  const SimMetrics& oracle = Get("oracle");
  EXPECT_GT(oracle.rounds, 0u);
  EXPECT_NEAR(oracle.round_wait_s_total, oracle.round_predicted_wait_s_total, 1e-6 * oracle.rounds);
}

TEST_P(SuiteComparisonTest, OracleKeepsAtLeastWhatPredictionsGet) {
  // Not a theorem (different plans lead to different later rounds), but the
  // oracle plans every round on the true times, so losing more than noise to
  // a forecasting predictor would mean its forecasts are off.
  EXPECT_GE(Get("oracle").throughput_iters_per_s, 0.99 * Get("ebsp:R=15").throughput_iters_per_s);
}

INSTANTIATE_TEST_SUITE_P(AllTraces, SuiteComparisonTest, ::testing::ValuesIn(kAllTraceKinds),
                         [](const ::testing::TestParamInfo<TraceKind>& info) {
                           return std::string(TraceKindName(info.param));
                         });

TEST(StaticHeterogeneityTest, BspRunsAtTheSlowestWorkersPace) {
  const std::map<std::string, SimMetrics>& results = ResultsFor(TraceKind::kStatic);
  ASSERT_EQ(results.count("bsp"), 1u);
  ASSERT_EQ(results.count("asp"), 1u);
  // 16 workers at 100/130/200 ms: one 200 ms round per BSP iteration.
  EXPECT_EQ(results.at("bsp").iterations_total, 16u * 600u);
  // ASP: 6 workers at 10/s, 5 at 1/0.13 s, 5 at 5/s, for 120 s.
  EXPECT_NEAR(results.at("asp").iterations_total, (60 + 5 / 0.13 + 25) * 120, 16);
}

absl::StatusOr<SimMetrics> RunMix(uint64_t seed, const char* policy) {
  SuiteOptions suite;
  suite.workers = kWorkers;
  suite.seed = seed;
  suite.length = absl::Seconds(60);
  absl::StatusOr<Trace> trace = MakeSuiteTrace(TraceKind::kMix, suite);
  if (!trace.ok()) return trace.status();
  SimOptions options;
  options.policy = core::ParsePolicy(policy).value();
  options.duration = suite.length;
  return Simulate(*trace, options);
}

TEST(SuiteDeterminismTest, SameSeedGivesIdenticalMetrics) {
  for (const char* policy : {"ebsp:R=15", "ssp:s=3", "dssp:s=3,r=12"}) {
    absl::StatusOr<SimMetrics> a = RunMix(5, policy);
    absl::StatusOr<SimMetrics> b = RunMix(5, policy);
    ASSERT_TRUE(a.ok() && b.ok()) << policy;
    EXPECT_EQ(a->iterations_total, b->iterations_total) << policy;
    EXPECT_EQ(a->idle_fraction, b->idle_fraction) << policy;
    EXPECT_EQ(a->mean_wait_s, b->mean_wait_s) << policy;
    EXPECT_EQ(a->max_staleness, b->max_staleness) << policy;
    EXPECT_EQ(a->max_total_lead, b->max_total_lead) << policy;
    EXPECT_EQ(a->rounds, b->rounds) << policy;
    EXPECT_EQ(a->round_predicted_wait_s_total, b->round_predicted_wait_s_total) << policy;
    EXPECT_EQ(a->events, b->events) << policy;
  }
}

TEST(OracleSyncCostTest, OracleForecastsIncludeTheSyncCostAfterReleases) {
  SuiteOptions suite;
  suite.workers = kWorkers;
  suite.length = absl::Seconds(60);
  absl::StatusOr<Trace> trace = MakeSuiteTrace(TraceKind::kMix, suite);
  ASSERT_TRUE(trace.ok());
  SimOptions options;
  options.policy = core::ParsePolicy("ebsp:R=15").value();
  options.oracle = true;
  options.duration = suite.length;
  options.sync_cost = absl::Milliseconds(30);
  absl::StatusOr<SimMetrics> m = Simulate(*trace, options);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_GT(m->rounds, 10u);
  EXPECT_NEAR(m->round_wait_s_total, m->round_predicted_wait_s_total, 1e-6 * m->rounds);
}

TEST(SuiteDeterminismTest, AnotherSeedGivesAnotherRun) {
  absl::StatusOr<SimMetrics> a = RunMix(5, "ebsp:R=15");
  absl::StatusOr<SimMetrics> b = RunMix(6, "ebsp:R=15");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->idle_fraction, b->idle_fraction);
}

// Issue 10's scale case, smaller: with hundreds of workers someone is always
// in the tail. Late binding (the default) must keep well above the plan
// binding it replaced and above SSP(3), on the suite's mix and on both stress
// traces (docs/planning.md; tools/sim/README.md has the 1,000 and 10,000
// worker figures).
// Simulates `policies` on `kind` with `workers` for `length`: per policy, its
// throughput over ASP's (asp is always run) and its max staleness.
struct AtScale {
  double vs_asp = 0;
  uint64_t max_staleness = 0;
};
std::map<std::string, AtScale> SimulateAtScale(TraceKind kind, int workers, absl::Duration length,
                                               std::vector<std::string> policies) {
  SuiteOptions suite;
  suite.workers = workers;
  suite.length = length;
  absl::StatusOr<Trace> trace = MakeSuiteTrace(kind, suite);
  EXPECT_TRUE(trace.ok()) << trace.status();
  std::map<std::string, AtScale> result;
  if (!trace.ok()) return result;
  policies.push_back("asp");
  for (const std::string& policy : policies) {
    SimOptions options;
    options.policy = core::ParsePolicy(policy).value();
    options.duration = length;
    absl::StatusOr<SimMetrics> m = Simulate(*trace, options);
    EXPECT_TRUE(m.ok()) << m.status();
    if (m.ok()) result[policy] = AtScale{m->throughput_iters_per_s, m->max_staleness};
  }
  const double asp = result["asp"].vs_asp;
  for (auto& [policy, at] : result) at.vs_asp = asp > 0 ? at.vs_asp / asp : 0;
  return result;
}

TEST(ScaleTest, LateBindingBeatsPlanBindingAndSspWithHundredsOfWorkers) {
  for (TraceKind kind : {TraceKind::kMix, TraceKind::kHeavy, TraceKind::kDrift}) {
    const std::map<std::string, AtScale> at = SimulateAtScale(
        kind, 300, absl::Seconds(30), {"ssp:s=3", "ebsp:R=15", "ebsp:R=15,binding=plan"});
    ASSERT_EQ(at.size(), 4u);
    std::map<std::string, double> ratio;
    for (const auto& [policy, result] : at) {
      ratio[policy] = result.vs_asp;
      if (policy != "asp") {
        EXPECT_LE(result.max_staleness, 15u) << policy;
      }
    }
    const std::string name(TraceKindName(kind));
    EXPECT_GT(ratio.at("ebsp:R=15"), ratio.at("ssp:s=3")) << name;
    EXPECT_GT(ratio.at("ebsp:R=15"), ratio.at("ebsp:R=15,binding=plan")) << name;
    if (kind == TraceKind::kMix) {
      EXPECT_GT(ratio.at("ebsp:R=15"), 0.75) << name;
      EXPECT_GT(ratio.at("ebsp:R=15"), ratio.at("ebsp:R=15,binding=plan") + 0.15) << name;
    }
  }
}

// Slow spells (lib/core/predict/slow_spells.h): the periodic slowdowns recur
// on each worker's compute timeline, so once learned (two spells, or one
// like the job's) they are forecast, and the barrier stops waiting for
// onsets nobody saw coming. Without them late binding kept 0.85 of ASP's
// throughput here; the oracle keeps 1.0.
TEST(ScaleTest, RecurringSlowdownsAreForecastWithHundredsOfWorkers) {
  const std::map<std::string, AtScale> at =
      SimulateAtScale(TraceKind::kPeriodic, 300, absl::Seconds(60), {"ebsp:R=15"});
  ASSERT_EQ(at.count("ebsp:R=15"), 1u);
  EXPECT_GT(at.at("ebsp:R=15").vs_asp, 0.93);
}

// The `heavy` trace pauses every worker for 15 iterations every 250 amid
// random stalls (3 % of iterations): four pauses at exactly even spacing
// make a schedule on the iteration count although stalls fall between
// them. Without it late binding kept 0.715 of ASP's throughput here
// (seed 1), 0.831 on the same trace with the pauses taken out; the oracle
// keeps 0.875.
TEST(ScaleTest, PausesEveryNIterationsAmidStallsAreForecast) {
  const std::map<std::string, AtScale> at =
      SimulateAtScale(TraceKind::kHeavy, 16, absl::Seconds(300), {"ebsp:R=15"});
  ASSERT_EQ(at.count("ebsp:R=15"), 1u);
  EXPECT_GT(at.at("ebsp:R=15").vs_asp, 0.74);
}

}  // namespace
}  // namespace ebsp::sim
