#include "tools/sim/oracle_predictor.h"

#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tools/sim/trace.h"

namespace ebsp::sim {
namespace {

const absl::Time kT0 = absl::UnixEpoch();

class OraclePredictorTest : public ::testing::Test {
 protected:
  // Worker 1 runs 1 s, 2 s, 3 s, then repeats.
  Trace trace_{"t", {{absl::Seconds(9)}, {absl::Seconds(1), absl::Seconds(2), absl::Seconds(3)}}};
};

TEST_F(OraclePredictorTest, ForecastsTheTrueEndsFromTheJoinWithoutSyncCost) {
  OraclePredictor oracle(trace_, 1, absl::Milliseconds(500), kT0);
  oracle.StartRound(kT0);
  EXPECT_TRUE(oracle.HasHistory());
  EXPECT_EQ(oracle.Forecast(4),
            (std::vector<absl::Time>{kT0 + absl::Seconds(1), kT0 + absl::Seconds(3),
                                     kT0 + absl::Seconds(6), kT0 + absl::Seconds(7)}));
}

TEST_F(OraclePredictorTest, ForecastsFromTheLatestReport) {
  OraclePredictor oracle(trace_, 1, absl::ZeroDuration(), kT0);
  oracle.StartRound(kT0);
  oracle.ObserveIteration(kT0 + absl::Seconds(1), absl::Seconds(1));
  EXPECT_EQ(oracle.TypicalInterval(), absl::Seconds(2));
  EXPECT_EQ(oracle.Forecast(2),
            (std::vector<absl::Time>{kT0 + absl::Seconds(3), kT0 + absl::Seconds(6)}));
}

TEST_F(OraclePredictorTest, RoundStartAfterAReleaseAddsTheSyncCost) {
  OraclePredictor oracle(trace_, 1, absl::Milliseconds(500), kT0);
  oracle.StartRound(kT0);
  oracle.ObserveIteration(kT0 + absl::Seconds(1), absl::Seconds(1));
  const absl::Time release = kT0 + absl::Seconds(4);
  oracle.StartRound(release);
  EXPECT_EQ(oracle.RoundOverhead(), absl::Milliseconds(500));
  EXPECT_EQ(oracle.Forecast(1), std::vector<absl::Time>{release + absl::Milliseconds(2500)});
}

TEST_F(OraclePredictorTest, NonPositiveCountForecastsNothing) {
  OraclePredictor oracle(trace_, 0, absl::ZeroDuration(), kT0);
  EXPECT_TRUE(oracle.Forecast(0).empty());
  EXPECT_TRUE(oracle.Forecast(-3).empty());
}

TEST_F(OraclePredictorTest, FactoryMapsWorkerIdsToTraceRows) {
  core::PredictorFactory factory =
      MakeOracleFactory(trace_, /*first_id=*/10, absl::ZeroDuration(), kT0);
  std::unique_ptr<core::IterationPredictor> worker0 = factory(10);
  std::unique_ptr<core::IterationPredictor> worker1 = factory(11);
  ASSERT_NE(worker0, nullptr);
  ASSERT_NE(worker1, nullptr);
  EXPECT_EQ(worker0->Forecast(1), std::vector<absl::Time>{kT0 + absl::Seconds(9)});
  EXPECT_EQ(worker1->Forecast(1), std::vector<absl::Time>{kT0 + absl::Seconds(1)});
}

}  // namespace
}  // namespace ebsp::sim
