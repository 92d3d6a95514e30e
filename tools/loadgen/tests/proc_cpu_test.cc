#include "tools/loadgen/proc_cpu.h"

#include <unistd.h>

#include <chrono>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebsp::loadgen {
namespace {

using ::testing::HasSubstr;

TEST(ProcCpuTest, ParsesUtimePlusStimeAfterACommandWithSpacesAndParens) {
  // Fields 14 and 15 (utime 700, stime 45) of a real-shaped line whose
  // command name contains ") S 1 2".
  absl::StatusOr<uint64_t> ticks = ParseProcStatCpuTicks(
      "4242 (ebsp) S 1 2) R 1 4242 4242 0 -1 4194560 1000 0 0 0 700 45 0 0 20 0 9 0 "
      "12345 100000000 5000 18446744073709551615\n");
  ASSERT_TRUE(ticks.ok()) << ticks.status();
  EXPECT_EQ(*ticks, 745u);
}

TEST(ProcCpuTest, RejectsTextThatIsNotAStatLineNamingIt) {
  absl::StatusOr<uint64_t> ticks = ParseProcStatCpuTicks("no parens here");
  EXPECT_EQ(ticks.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ticks.status().message(), HasSubstr("no parens here"));
  ticks = ParseProcStatCpuTicks("1 (x) S 1 2 3");
  EXPECT_EQ(ticks.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ticks.status().message(), HasSubstr("utime"));
}

TEST(ProcCpuTest, OwnProcessCpuGrowsWithWorkDone) {
  absl::StatusOr<double> before = ProcessCpuSeconds(getpid());
  ASSERT_TRUE(before.ok()) << before.status();
  // Spin until this process has used 50 ms more CPU (ticks are 10 ms), within
  // a 30 s bound of wall time for a starved machine.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  double now = *before;
  volatile uint64_t sink = 0;
  while (now < *before + 0.05 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 1000000; ++i) sink = sink + static_cast<uint64_t>(i);
    absl::StatusOr<double> read = ProcessCpuSeconds(getpid());
    ASSERT_TRUE(read.ok()) << read.status();
    now = *read;
  }
  EXPECT_GE(now, *before + 0.05);
}

TEST(ProcCpuTest, MissingProcessIsNotFoundNamingThePid) {
  absl::StatusOr<double> cpu = ProcessCpuSeconds(-7);
  EXPECT_EQ(cpu.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(cpu.status().message(), HasSubstr("-7"));
}

}  // namespace
}  // namespace ebsp::loadgen
