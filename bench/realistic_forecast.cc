#include "bench/realistic_forecast.h"

#include <random>

namespace ebsp::bench {

std::vector<core::WorkerForecast> RealisticForecast(int workers, int lookahead, uint64_t seed) {
  const absl::Time release = absl::FromUnixSeconds(1'800'000'000);
  const absl::Duration base_period = absl::Milliseconds(100);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> speed(1.0, 3.0);
  std::uniform_real_distribution<double> noise(-0.1, 0.1);
  std::uniform_real_distribution<double> start(0.0, 0.05);
  std::vector<core::WorkerForecast> forecast(workers);
  for (core::WorkerForecast& w : forecast) {
    const absl::Duration period = base_period * speed(rng);
    absl::Time t = release + base_period * start(rng);
    w.ends.reserve(lookahead);
    for (int j = 0; j < lookahead; ++j) {
      t += period * (1.0 + noise(rng));
      // Arrival times are whole nanoseconds on the coordinator's clock.
      w.ends.push_back(absl::FromUnixNanos(absl::ToUnixNanos(t)));
    }
  }
  return forecast;
}

std::vector<int64_t> FlattenToNanos(const std::vector<core::WorkerForecast>& workers) {
  std::vector<int64_t> points;
  for (const core::WorkerForecast& w : workers) {
    for (const absl::Time t : w.ends) points.push_back(absl::ToUnixNanos(t));
  }
  return points;
}

}  // namespace ebsp::bench
