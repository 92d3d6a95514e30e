// Per-worker forecasts of when the next iteration reports will arrive, for
// ZipLine. One IterationPredictor per worker, owned by the job state machine.
//
// All times are coordinator arrival times (its monotonic clock); the
// worker-reported compute time is only that worker's own figure. Not
// thread-safe; the owning JobState serializes calls.
#ifndef EBSP_LIB_CORE_PREDICT_PREDICTOR_H_
#define EBSP_LIB_CORE_PREDICT_PREDICTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ebsp::core {

enum class PredictorKind {
  kLatestInterval,  // The paper's: repeat the most recent interval.
  kEwma,            // EWMA of intervals plus the per-round overhead.
  kWindowedMedian,  // Median of recent intervals plus the per-round overhead.
};

class IterationPredictor {
 public:
  virtual ~IterationPredictor() = default;

  // The worker's round began at `start` (its barrier released, or it joined).
  // The gap from here to the first report of the round includes the per-round
  // overhead o_i (the training stack's own synchronization).
  virtual void StartRound(absl::Time start) = 0;

  // A report of one finished iteration arrived at `arrival`.
  virtual void ObserveIteration(absl::Time arrival, absl::Duration compute) = 0;

  // Whether forecasts rest on this worker's own history (the paper waits for
  // two reports). Without history the planner treats the worker as the
  // slowest known one.
  virtual bool HasHistory() const = 0;

  // Predicted arrivals of the next `count` reports, after the latest one
  // observed (or after the round start if none yet this round). Nondecreasing.
  virtual std::vector<absl::Time> Forecast(int count) const = 0;

  // The typical interval between reports (zero without history).
  virtual absl::Duration TypicalInterval() const = 0;

  // The typical extra time before the first report of a round.
  virtual absl::Duration RoundOverhead() const = 0;

  // What late binding (docs/planning.md) plans with; the defaults suit a
  // predictor that knows no uncertainty (the simulator's oracle).
  //
  // The interval to plan the next iterations with: TypicalInterval(), except
  // during a straggler episode, when it is the episode's own interval.
  virtual absl::Duration CurrentInterval() const { return TypicalInterval(); }
  // How far an interval strays from CurrentInterval(): a robust standard
  // deviation of recent intervals (zero without them).
  virtual absl::Duration IntervalSpread() const { return absl::ZeroDuration(); }
  // The predicted arrival of the next report, with CurrentInterval().
  virtual absl::Time NextEnd() const { return Forecast(1).front(); }
  // Predicted arrivals of the next `count` reports for late binding: during
  // a straggler episode at CurrentInterval() apart, else Forecast(count).
  virtual std::vector<absl::Time> LateForecast(int count) const;
  // The latest intervals are all far above the typical one.
  virtual bool InStragglerEpisode() const { return false; }
};

class SpellBook;
// `spell_book` (may be null): the job's record of recurring slowdowns
// (spell_book.h), shared by the predictors of one job.
std::unique_ptr<IterationPredictor> MakePredictor(PredictorKind kind,
                                                  std::shared_ptr<SpellBook> spell_book = nullptr);

// Lets a caller replace the predictor of every worker (the simulator's
// clairvoyant forecasts). Receives the worker's id.
using PredictorFactory = std::function<std::unique_ptr<IterationPredictor>(uint64_t worker_id)>;

std::string_view PredictorKindName(PredictorKind kind);
absl::StatusOr<PredictorKind> ParsePredictorKind(std::string_view name);

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PREDICT_PREDICTOR_H_
