// Seeded forecasts shaped like a real heterogeneous job, for the ZipLine
// benchmark: worker i iterates at its own speed (1x to 3x a base period) with
// per-iteration noise, from a small random start offset after the release.
#ifndef EBSP_BENCH_REALISTIC_FORECAST_H_
#define EBSP_BENCH_REALISTIC_FORECAST_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "lib/core/planner/zipline.h"

namespace ebsp::bench {

std::vector<core::WorkerForecast> RealisticForecast(int workers, int lookahead, uint64_t seed);

// The same points as int64 nanoseconds, worker after worker, for the sort
// baseline.
std::vector<int64_t> FlattenToNanos(const std::vector<core::WorkerForecast>& workers);

}  // namespace ebsp::bench

#endif  // EBSP_BENCH_REALISTIC_FORECAST_H_
