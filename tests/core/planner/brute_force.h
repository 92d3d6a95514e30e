// Test-only references for ZipLine (lib/core/planner/zipline.h).
//
// BruteForceOptima tries every one of the prod_i |ends_i| choices (R^n), so
// it is the definition of the optimum, usable for n, R <= 6.
// ScanOptima evaluates every point as the candidate t* with a binary search
// per worker, O((nR) n log R): much slower than the planner but independent
// of its sweep, for checking medium sizes. Both work on absl::Time directly,
// not on the planner's int64 nanoseconds.
#ifndef EBSP_TESTS_CORE_PLANNER_BRUTE_FORCE_H_
#define EBSP_TESTS_CORE_PLANNER_BRUTE_FORCE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "lib/core/planner/zipline.h"

namespace ebsp::core::testing {

struct Optimum {
  absl::Duration value;  // The smallest objective value over all choices.
  absl::Time sync_time;  // The earliest t* = max(chosen) reaching it.
};

struct Optima {
  Optimum spread;
  Optimum total_wait;

  const Optimum& For(PlanObjective objective) const {
    return objective == PlanObjective::kSpread ? spread : total_wait;
  }
};

// Calls visit(choice) once for each of the prod_i |ends_i| choices, where
// choice[i] indexes worker i's ends. Bounded: a mixed-radix counter.
template <typename Visit>
void ForEachChoice(absl::Span<const WorkerForecast> workers, Visit visit) {
  const size_t n = workers.size();
  std::vector<size_t> choice(n, 0);
  while (true) {
    visit(static_cast<const std::vector<size_t>&>(choice));
    size_t digit = 0;
    while (digit < n && ++choice[digit] == workers[digit].ends.size()) {
      choice[digit] = 0;
      ++digit;
    }
    if (digit == n) break;
  }
}

// Worker i iterates at its own speed (1x..3x of 100 ms) with 10% noise,
// r ends each from `base`: realistic forecasts for the large cases.
std::vector<WorkerForecast> HeterogeneousForecast(int n, int r, uint64_t seed, absl::Time base);

// `workers` must be valid planner input (non-empty, non-empty sorted ends).
Optima BruteForceOptima(absl::Span<const WorkerForecast> workers);
Optima ScanOptima(absl::Span<const WorkerForecast> workers);

}  // namespace ebsp::core::testing

#endif  // EBSP_TESTS_CORE_PLANNER_BRUTE_FORCE_H_
