#include "tests/core/planner/brute_force.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
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
  ForEachChoice(workers, [&](const std::vector<size_t>& choice) {
    absl::Time max_end = absl::InfinitePast();
    absl::Time min_end = absl::InfiniteFuture();
    for (size_t i = 0; i < workers.size(); ++i) {
      max_end = std::max(max_end, workers[i].ends[choice[i]]);
      min_end = std::min(min_end, workers[i].ends[choice[i]]);
    }
    absl::Duration wait = absl::ZeroDuration();
    for (size_t i = 0; i < workers.size(); ++i) wait += max_end - workers[i].ends[choice[i]];
    Offer(max_end - min_end, max_end, best.spread);
    Offer(wait, max_end, best.total_wait);
  });
  return best;
}

std::vector<WorkerForecast> HeterogeneousForecast(int n, int r, uint64_t seed, absl::Time base) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> speed(1.0, 3.0), noise(-0.1, 0.1);
  std::vector<WorkerForecast> workers(n);
  for (WorkerForecast& w : workers) {
    const double period_ns = 1e8 * speed(rng);
    double t = 0;
    for (int j = 0; j < r; ++j) {
      t += period_ns * (1 + noise(rng));
      w.ends.push_back(base + absl::Nanoseconds(static_cast<int64_t>(t)));
    }
  }
  return workers;
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
