// A clairvoyant IterationPredictor for the simulator: it reads a worker's
// true future compute times from the trace the engine replays, so ZipLine
// plans with exact forecasts. Running ElasticBSP with it (through
// JobOptions::predictor_factory) gives the best ZipLine can do at the same R
// and objective, the bound the real predictors are compared against.
//
// It mirrors the engine's timing rules (tools/sim/engine.h): a report
// arrives the moment its iteration ends, iterations run back to back within
// a round, and a worker released from a barrier starts computing `sync_cost`
// after the release. The first round start (registration) has no sync cost.
#ifndef EBSP_TOOLS_SIM_ORACLE_PREDICTOR_H_
#define EBSP_TOOLS_SIM_ORACLE_PREDICTOR_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "lib/core/predict/predictor.h"
#include "tools/sim/trace.h"

namespace ebsp::sim {

class OraclePredictor : public core::IterationPredictor {
 public:
  // `trace` is borrowed and must outlive the predictor. `start` is the
  // virtual time the worker starts computing if no round start is reported.
  OraclePredictor(const Trace& trace, int worker, absl::Duration sync_cost, absl::Time start);

  void StartRound(absl::Time start) override;
  void ObserveIteration(absl::Time arrival, absl::Duration compute) override;
  bool HasHistory() const override { return true; }
  std::vector<absl::Time> Forecast(int count) const override;
  // The compute time of the worker's next iteration.
  absl::Duration TypicalInterval() const override;
  absl::Duration RoundOverhead() const override { return sync_cost_; }

 private:
  const Trace& trace_;
  const int worker_;
  const absl::Duration sync_cost_;
  // When the worker's next iteration starts computing.
  absl::Time next_start_;
  // Iterations observed so far: the index of the next one in the trace.
  uint64_t observed_ = 0;
};

// A factory for JobOptions::predictor_factory. Worker ids map to trace rows
// through `first_id`: id first_id + w is worker w. `trace` must outlive every
// predictor the factory makes.
core::PredictorFactory MakeOracleFactory(const Trace& trace, uint64_t first_id,
                                         absl::Duration sync_cost, absl::Time start);

}  // namespace ebsp::sim

#endif  // EBSP_TOOLS_SIM_ORACLE_PREDICTOR_H_
