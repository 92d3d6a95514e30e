#include "tests/core/planner/brute_force.h"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace ebsp::core::testing {
namespace {

void Offer(absl::Duration value, absl::Time sync_time, Optimum& best) {
  if (value < best.value || (value == best.value && sync_time < best.sync_time)) {
    best.value = value;
    best.sync_time = sync_time;
  }
}

Optima NoOptimaYet() {
  return Optima{Optimum{absl::InfiniteDuration(), absl::InfiniteFuture()},
                Optimum{absl::InfiniteDuration(), absl::InfiniteFuture()}};
}

}  // namespace

Optima BruteForceOptima(absl::Span<const WorkerForecast> workers) {
  Optima best = NoOptimaYet();
  const size_t n = workers.size();
  std::vector<size_t> choice(n, 0);  // A mixed-radix counter over choices.
  // Bounded: the counter visits each of the prod_i |ends_i| choices once.
  while (true) {
    absl::Time max_end = absl::InfinitePast();
    absl::Time min_end = absl::InfiniteFuture();
    for (size_t i = 0; i < n; ++i) {
      max_end = std::max(max_end, workers[i].ends[choice[i]]);
      min_end = std::min(min_end, workers[i].ends[choice[i]]);
    }
    absl::Duration wait = absl::ZeroDuration();
    for (size_t i = 0; i < n; ++i) wait += max_end - workers[i].ends[choice[i]];
    Offer(max_end - min_end, max_end, best.spread);
    Offer(wait, max_end, best.total_wait);

    size_t digit = 0;
    while (digit < n && ++choice[digit] == workers[digit].ends.size()) {
      choice[digit] = 0;
      ++digit;
    }
    if (digit == n) break;
  }
  return best;
}

Optima ScanOptima(absl::Span<const WorkerForecast> workers) {
  Optima best = NoOptimaYet();
  for (const WorkerForecast& candidate_owner : workers) {
    for (const absl::Time t : candidate_owner.ends) {
      absl::Time min_end = absl::InfiniteFuture();
      absl::Duration wait = absl::ZeroDuration();
      bool every_worker_has_a_point = true;
      for (const WorkerForecast& w : workers) {
        auto after = std::upper_bound(w.ends.begin(), w.ends.end(), t);
        if (after == w.ends.begin()) {
          every_worker_has_a_point = false;
          break;
        }
        const absl::Time chosen = *(after - 1);
        min_end = std::min(min_end, chosen);
        wait += t - chosen;
      }
      if (!every_worker_has_a_point) continue;
      Offer(t - min_end, t, best.spread);
      Offer(wait, t, best.total_wait);
    }
  }
  return best;
}

}  // namespace ebsp::core::testing
