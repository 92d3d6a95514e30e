#include "lib/core/job/stragglers.h"

#include <algorithm>
#include <tuple>

namespace ebsp::core {

std::vector<Straggler> SlowestWorkers(std::vector<WorkerInterval> workers, int k) {
  workers.erase(
      std::remove_if(workers.begin(), workers.end(),
                     [](const WorkerInterval& w) { return w.interval <= absl::ZeroDuration(); }),
      workers.end());
  std::vector<Straggler> top;
  if (workers.empty() || k <= 0) return top;
  const size_t n = workers.size();
  // Median: the middle element, or the mean of the two middle ones.
  std::vector<absl::Duration> intervals;
  intervals.reserve(n);
  for (const WorkerInterval& w : workers) intervals.push_back(w.interval);
  auto mid = intervals.begin() + n / 2;
  std::nth_element(intervals.begin(), mid, intervals.end());
  absl::Duration median = *mid;
  if (n % 2 == 0) median = (median + *std::max_element(intervals.begin(), mid)) / 2;

  auto slower = [](const WorkerInterval& a, const WorkerInterval& b) {
    return std::tie(b.interval, a.name, a.worker) < std::tie(a.interval, b.name, b.worker);
  };
  const size_t shown = std::min(n, static_cast<size_t>(k));
  std::partial_sort(workers.begin(), workers.begin() + shown, workers.end(), slower);
  top.reserve(shown);
  for (size_t i = 0; i < shown; ++i) {
    top.push_back(Straggler{workers[i].worker, workers[i].name, workers[i].interval,
                            absl::FDivDuration(workers[i].interval, median)});
  }
  return top;
}

}  // namespace ebsp::core
