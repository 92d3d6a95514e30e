#include "tools/loadgen/latency_histogram.h"

#include <cmath>

#include "gtest/gtest.h"

namespace ebsp::loadgen {
namespace {

// Bucket precision: 5 significant bits, so within 1/32 above the true value.
void ExpectNear(absl::Duration got, absl::Duration want) {
  const double g = absl::ToDoubleNanoseconds(got);
  const double w = absl::ToDoubleNanoseconds(want);
  EXPECT_GE(g, w) << "got " << got << ", want " << want;
  EXPECT_LE(g, w * (1 + 1.0 / 32) + 1) << "got " << got << ", want " << want;
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.Percentile(0.5), absl::ZeroDuration());
  EXPECT_EQ(h.min(), absl::ZeroDuration());
  EXPECT_EQ(h.mean(), absl::ZeroDuration());
}

TEST(LatencyHistogramTest, PercentilesOfUniformMicrosecondsAreWithinBucketPrecision) {
  LatencyHistogram h;
  for (int us = 1; us <= 1000; ++us) h.Record(absl::Microseconds(us));
  EXPECT_EQ(h.count(), 1000);
  ExpectNear(h.Percentile(0.5), absl::Microseconds(500));
  ExpectNear(h.Percentile(0.9), absl::Microseconds(900));
  ExpectNear(h.Percentile(0.99), absl::Microseconds(990));
  EXPECT_EQ(h.min(), absl::Microseconds(1));
  EXPECT_EQ(h.max(), absl::Microseconds(1000));
  EXPECT_EQ(h.Percentile(1.0), absl::Microseconds(1000));
  ExpectNear(h.mean(), absl::Nanoseconds(500500));
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int ns = 0; ns < 64; ++ns) h.Record(absl::Nanoseconds(ns));
  EXPECT_EQ(h.Percentile(0.5), absl::Nanoseconds(31));
  EXPECT_EQ(h.Percentile(1.0), absl::Nanoseconds(63));
}

TEST(LatencyHistogramTest, LongTailShowsInP99NotP50) {
  LatencyHistogram h;
  for (int i = 0; i < 980; ++i) h.Record(absl::Milliseconds(1));
  for (int i = 0; i < 20; ++i) h.Record(absl::Seconds(2));
  ExpectNear(h.Percentile(0.5), absl::Milliseconds(1));
  ExpectNear(h.Percentile(0.99), absl::Seconds(2));
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a, b, all;
  for (int i = 1; i <= 500; ++i) {
    a.Record(absl::Microseconds(i));
    all.Record(absl::Microseconds(i));
  }
  for (int i = 501; i <= 2000; ++i) {
    b.Record(absl::Microseconds(i * 3));
    all.Record(absl::Microseconds(i * 3));
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double q : {0.1, 0.5, 0.9, 0.99}) EXPECT_EQ(a.Percentile(q), all.Percentile(q)) << q;
}

TEST(LatencyHistogramTest, NegativeDurationsCountAsZero) {
  LatencyHistogram h;
  h.Record(absl::Microseconds(-5));
  EXPECT_EQ(h.count(), 1);
  EXPECT_EQ(h.max(), absl::ZeroDuration());
}

TEST(FormatMillisTest, PrintsMillisecondsWithThreeDecimals) {
  EXPECT_EQ(FormatMillis(absl::Microseconds(12345)), "12.345");
  EXPECT_EQ(FormatMillis(absl::Nanoseconds(1600)), "0.002");
  EXPECT_EQ(FormatMillis(absl::ZeroDuration()), "0.000");
  EXPECT_EQ(FormatMillis(absl::Seconds(2)), "2000.000");
}

}  // namespace
}  // namespace ebsp::loadgen
