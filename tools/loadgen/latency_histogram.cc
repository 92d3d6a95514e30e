#include "tools/loadgen/latency_histogram.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace ebsp::loadgen {

int LatencyHistogram::BucketOf(uint64_t nanos) {
  if (nanos < (uint64_t{1} << kLinearBits)) return static_cast<int>(nanos);
  const int msb = 63 - __builtin_clzll(nanos);
  // Keep the top kLinearBits bits: `top` is in [kSubBuckets, 2*kSubBuckets).
  const int shift = msb - (kLinearBits - 1);
  const int top = static_cast<int>(nanos >> shift);
  return (1 << kLinearBits) + (shift - 1) * kSubBuckets + (top - kSubBuckets);
}

uint64_t LatencyHistogram::BucketUpperBound(int bucket) {
  if (bucket < (1 << kLinearBits)) return static_cast<uint64_t>(bucket);
  const int rel = bucket - (1 << kLinearBits);
  const int shift = rel / kSubBuckets + 1;
  const uint64_t top = static_cast<uint64_t>(rel % kSubBuckets + kSubBuckets);
  // The largest value whose top bits are `top`.
  return ((top + 1) << shift) - 1;
}

void LatencyHistogram::Record(absl::Duration latency) {
  const int64_t ns = std::max<int64_t>(0, absl::ToInt64Nanoseconds(latency));
  const uint64_t nanos = static_cast<uint64_t>(ns);
  ++buckets_[BucketOf(nanos)];
  ++count_;
  min_nanos_ = std::min(min_nanos_, nanos);
  max_nanos_ = std::max(max_nanos_, nanos);
  sum_nanos_ += static_cast<long double>(nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  min_nanos_ = std::min(min_nanos_, other.min_nanos_);
  max_nanos_ = std::max(max_nanos_, other.max_nanos_);
  sum_nanos_ += other.sum_nanos_;
}

absl::Duration LatencyHistogram::min() const {
  return count_ == 0 ? absl::ZeroDuration() : absl::Nanoseconds(static_cast<int64_t>(min_nanos_));
}

absl::Duration LatencyHistogram::max() const {
  return absl::Nanoseconds(static_cast<int64_t>(max_nanos_));
}

absl::Duration LatencyHistogram::mean() const {
  if (count_ == 0) return absl::ZeroDuration();
  return absl::Nanoseconds(static_cast<double>(sum_nanos_ / count_));
}

absl::Duration LatencyHistogram::Percentile(double quantile) const {
  if (count_ == 0) return absl::ZeroDuration();
  const double clamped = std::clamp(quantile, 0.0, 1.0);
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(clamped * count_)));
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      // The bucket's upper bound, but never outside what was recorded.
      const uint64_t v = std::clamp(BucketUpperBound(i), min_nanos_, max_nanos_);
      return absl::Nanoseconds(static_cast<int64_t>(v));
    }
  }
  return max();
}

std::string FormatMillis(absl::Duration latency) {
  return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(latency));
}

}  // namespace ebsp::loadgen
