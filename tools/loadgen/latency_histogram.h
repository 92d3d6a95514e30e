// LatencyHistogram: a fixed-size log-linear histogram of durations for the
// load tools (p50/p90/p99 of thousands of RPCs per second without storing
// every sample). Buckets keep 5 significant bits, so a reported percentile
// is within ~3% of the true sample value; min and max are exact.
//
// Not thread-safe: each thread (or shard under its own lock) records into
// its own histogram and the results are merged with Merge().
#ifndef EBSP_TOOLS_LOADGEN_LATENCY_HISTOGRAM_H_
#define EBSP_TOOLS_LOADGEN_LATENCY_HISTOGRAM_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace ebsp::loadgen {

class LatencyHistogram {
 public:
  void Record(absl::Duration latency);
  void Merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  absl::Duration min() const;
  absl::Duration max() const;
  absl::Duration mean() const;
  // The smallest recorded value v such that at least a fraction `quantile`
  // (0 < quantile <= 1) of the samples are <= v, to bucket precision.
  // Zero when empty.
  absl::Duration Percentile(double quantile) const;

 private:
  // Values below 2^kLinearBits ns get one bucket each; above, every power of
  // two is split into 2^(kLinearBits-1) equal buckets.
  static constexpr int kLinearBits = 6;
  static constexpr int kSubBuckets = 1 << (kLinearBits - 1);
  static constexpr int kBuckets = (1 << kLinearBits) + (64 - kLinearBits) * kSubBuckets;

  static int BucketOf(uint64_t nanos);
  static uint64_t BucketUpperBound(int bucket);

  std::array<int64_t, kBuckets> buckets_{};
  int64_t count_ = 0;
  uint64_t min_nanos_ = UINT64_MAX;
  uint64_t max_nanos_ = 0;
  long double sum_nanos_ = 0;
};

// Milliseconds with three decimals ("12.345"), as the tools print latencies.
std::string FormatMillis(absl::Duration latency);

}  // namespace ebsp::loadgen

#endif  // EBSP_TOOLS_LOADGEN_LATENCY_HISTOGRAM_H_
