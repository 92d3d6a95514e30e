// ZipLine: picks, for each worker, the iteration at which it joins the next
// synchronization so that the predicted waiting is smallest.
//
// Input: per worker, the predicted end times of its next iterations
// (iterations done+1 .. done+ends.size(); the caller passes R - done of them,
// so every target respects k_i <= R). Output: the targets, the barrier time
// t* = max of the chosen ends, and both objective values of that choice.
//
// This is the "smallest range covering one element of each of n sorted
// lists" problem; PlanTargets runs in O(nR log n) or better with no global
// sort of the nR points. See docs/design.md section 3 for the objectives and
// their tie rules. Pure function of its input: no clock, no threads, no globals.
#ifndef EBSP_LIB_CORE_PLANNER_ZIPLINE_H_
#define EBSP_LIB_CORE_PLANNER_ZIPLINE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace ebsp::core {

enum class PlanObjective {
  // The paper's: minimize max(Z) - min(Z); among optimal choices the one with
  // the earliest t*.
  kSpread,
  // Minimize sum_i (t* - chosen_i), the GPU time lost waiting; among optimal
  // choices the earliest t*.
  kTotalWait,
  // Minimize the round's idle rate W / (n (t* - round start)), W the total
  // wait: the fraction of the round's worker time spent waiting, so a longer
  // round that idles less per unit of time wins over a short one (the other
  // two prefer short rounds). Among optimal choices the earliest t*.
  kIdleRate,
};

struct WorkerForecast {
  // c_i: iterations this worker already finished in the round. Targets are
  // in (done, done + ends.size()].
  int done = 0;
  // ends[j]: predicted end of iteration done + 1 + j. Non-empty and
  // nondecreasing. A worker already waiting at the barrier is passed with a
  // single point (its arrival), which pins it.
  std::vector<absl::Time> ends;
};

struct Plan {
  // targets[i] is worker i's k_i, with done_i < k_i <= done_i + ends_i.size().
  std::vector<int> targets;
  absl::Time sync_time;       // t* = max of the chosen ends.
  absl::Duration spread;      // max - min of the chosen ends.
  absl::Duration total_wait;  // sum_i (t* - chosen end_i).
  // total_wait / (n (t* - round start)); 0 when no round start was given.
  double idle_rate = 0;
};

// Returns INVALID_ARGUMENT for an empty input, an empty or decreasing ends
// list, a negative `done`, or kIdleRate without a finite `round_start`. For
// each worker the chosen point is its latest end not after t* (optimal for
// every objective once t* is fixed). kIdleRate only considers t* after
// `round_start` (if no point is, t* is the earliest candidate).
absl::StatusOr<Plan> PlanTargets(absl::Span<const WorkerForecast> workers, PlanObjective objective,
                                 absl::Time round_start = absl::InfinitePast());

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PLANNER_ZIPLINE_H_
