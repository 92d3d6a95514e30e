// core::SlowestWorkers: the k slowest workers and their ratio to the median.
#include "lib/core/job/stragglers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ebsp::core {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

std::vector<WorkerInterval> Intervals(std::vector<std::pair<std::string, int>> ms) {
  std::vector<WorkerInterval> out;
  WorkerId id = 1;
  for (auto& [name, m] : ms) out.push_back({id++, name, absl::Milliseconds(m)});
  return out;
}

TEST(SlowestWorkersTest, RanksTheKLongestIntervalsAgainstTheOddMedian) {
  const std::vector<Straggler> top =
      SlowestWorkers(Intervals({{"a", 10}, {"b", 40}, {"c", 20}, {"d", 30}, {"e", 20}}), 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].name, "b");
  EXPECT_EQ(top[0].interval, absl::Milliseconds(40));
  EXPECT_DOUBLE_EQ(top[0].ratio_to_median, 2.0);  // median 20 ms
  EXPECT_EQ(top[1].name, "d");
  EXPECT_DOUBLE_EQ(top[1].ratio_to_median, 1.5);
}

TEST(SlowestWorkersTest, EvenCountsUseTheMeanOfTheTwoMiddleIntervals) {
  const std::vector<Straggler> top =
      SlowestWorkers(Intervals({{"a", 10}, {"b", 30}, {"c", 20}, {"d", 50}}), 1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].name, "d");
  EXPECT_DOUBLE_EQ(top[0].ratio_to_median, 2.0);  // median (20 + 30) / 2 = 25 ms
}

TEST(SlowestWorkersTest, WorkersWithoutAnIntervalAreNeitherRankedNorInTheMedian) {
  const std::vector<Straggler> top =
      SlowestWorkers(Intervals({{"new", 0}, {"a", 10}, {"b", 30}, {"c", 10}}), 5);
  EXPECT_THAT(top, ElementsAre(Field(&Straggler::name, "b"), Field(&Straggler::name, "a"),
                               Field(&Straggler::name, "c")));
  EXPECT_DOUBLE_EQ(top[0].ratio_to_median, 3.0);  // median of 10, 10, 30
}

TEST(SlowestWorkersTest, TiesAreOrderedByNameAndNothingIsShownForKZeroOrNoData) {
  EXPECT_THAT(SlowestWorkers(Intervals({{"z", 10}, {"y", 10}}), 2),
              ElementsAre(Field(&Straggler::name, "y"), Field(&Straggler::name, "z")));
  EXPECT_TRUE(SlowestWorkers(Intervals({{"a", 10}}), 0).empty());
  EXPECT_TRUE(SlowestWorkers(Intervals({{"a", 0}}), 3).empty());
  EXPECT_TRUE(SlowestWorkers({}, 3).empty());
}

}  // namespace
}  // namespace ebsp::core
