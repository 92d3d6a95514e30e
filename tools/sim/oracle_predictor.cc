#include "tools/sim/oracle_predictor.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "lib/core/predict/predictor.h"
#include "tools/sim/trace.h"

namespace ebsp::sim {

OraclePredictor::OraclePredictor(const Trace& trace, int worker, absl::Duration sync_cost,
                                 absl::Time start)
    : trace_(trace), worker_(worker), sync_cost_(sync_cost), next_start_(start) {}

void OraclePredictor::StartRound(absl::Time start) {
  // Before its first iteration a worker is joining, which costs no
  // synchronization in the engine; every later round start is a release.
  next_start_ = observed_ == 0 ? start : start + sync_cost_;
}

void OraclePredictor::ObserveIteration(absl::Time arrival, absl::Duration compute) {
  next_start_ = arrival;
  ++observed_;
}

std::vector<absl::Time> OraclePredictor::Forecast(int count) const {
  std::vector<absl::Time> ends;
  if (count <= 0) return ends;
  ends.reserve(count);
  absl::Time t = next_start_;
  for (int j = 0; j < count; ++j) {
    t += trace_.IterationTime(worker_, observed_ + j);
    ends.push_back(t);
  }
  return ends;
}

absl::Duration OraclePredictor::TypicalInterval() const {
  return trace_.IterationTime(worker_, observed_);
}

core::PredictorFactory MakeOracleFactory(const Trace& trace, uint64_t first_id,
                                         absl::Duration sync_cost, absl::Time start) {
  const Trace* borrowed = &trace;
  return [borrowed, first_id, sync_cost,
          start](uint64_t worker_id) -> std::unique_ptr<core::IterationPredictor> {
    // The engine registers only ids it numbered; an id outside the trace
    // would be a bug in the engine, so it falls back to a real predictor
    // rather than reading out of bounds.
    if (worker_id < first_id ||
        worker_id - first_id >= static_cast<uint64_t>(borrowed->workers())) {
      return core::MakePredictor(core::PredictorKind::kLatestInterval);
    }
    return std::make_unique<OraclePredictor>(*borrowed, static_cast<int>(worker_id - first_id),
                                             sync_cost, start);
  };
}

}  // namespace ebsp::sim
