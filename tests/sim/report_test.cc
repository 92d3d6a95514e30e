#include "tools/sim/report.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebsp::sim {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

SimRow Row(const std::string& policy, double throughput) {
  SimRow row;
  row.trace = "static";
  row.policy = policy;
  row.metrics.workers = 16;
  row.metrics.iterations_total = 1000;
  row.metrics.throughput_iters_per_s = throughput;
  row.metrics.idle_fraction = 0.25;
  row.metrics.mean_wait_s = 0.5;
  row.metrics.max_staleness = 3;
  row.metrics.rounds = 7;
  return row;
}

TEST(ReportTest, ThroughputIsRelativeToAsp) {
  std::vector<SimRow> rows = {Row("bsp", 50), Row("asp", 200)};
  SetThroughputVsAsp(200, rows);
  EXPECT_DOUBLE_EQ(rows[0].throughput_vs_asp, 0.25);
  EXPECT_DOUBLE_EQ(rows[1].throughput_vs_asp, 1.0);
  SetThroughputVsAsp(0, rows);
  EXPECT_EQ(rows[0].throughput_vs_asp, 0);
}

TEST(ReportTest, JsonLineCarriesEveryRequiredKey) {
  SimRow row = Row("ebsp:R=15", 150);
  row.throughput_vs_asp = 0.75;
  const std::string json = FormatJsonLine(row);
  EXPECT_THAT(json, StartsWith("{\"trace\":\"static\",\"policy\":\"ebsp:R=15\","));
  for (const char* key :
       {"\"workers\":16", "\"iterations_total\":1000", "\"throughput_iters_per_s\":150",
        "\"throughput_vs_asp\":0.75", "\"idle_fraction\":0.25", "\"mean_wait_s\":0.5",
        "\"max_staleness\":3", "\"rounds\":7"}) {
    EXPECT_THAT(json, HasSubstr(key));
  }
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_EQ(json.back(), '}');
}

TEST(ReportTest, JsonStringEscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonString("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(ReportTest, RoundsCsvQuotesTheLabelsAndHasOneLinePerRound) {
  SimRow row = Row("ebsp:R=15,objective=\"x\"", 150);
  row.metrics.round_log = {RoundRecord{0, 0, 1.5, 16, 2, 0.25, 0.5},
                           RoundRecord{1, 1.5, 2.25, 15, 0, 0, 0.125}};
  EXPECT_EQ(
      FormatRoundsCsv(row),
      "\"static\",\"ebsp:R=15,objective=\"\"x\"\"\",0,0.000000,1.500000,16,2,0.250000,0.500000\n"
      "\"static\",\"ebsp:R=15,objective=\"\"x\"\"\",1,1.500000,2.250000,15,0,0.000000,0.125000\n");
  row.metrics.round_log.clear();
  EXPECT_EQ(FormatRoundsCsv(row), "");
  EXPECT_EQ(kRoundsCsvHeader,
            "trace,policy,round,began_s,released_s,members,plans,predicted_wait_s,actual_wait_s\n");
}

TEST(ReportTest, TableHasOneRowPerPolicyUnderATraceHeader) {
  std::vector<SimRow> rows = {Row("bsp", 50), Row("ebsp:R=15", 150)};
  SetThroughputVsAsp(200, rows);
  const std::string table = FormatTable(rows);
  EXPECT_THAT(table, StartsWith("trace static, 16 workers\npolicy"));
  EXPECT_THAT(table, HasSubstr("\nbsp "));
  EXPECT_THAT(table, HasSubstr("\nebsp:R=15 "));
  EXPECT_THAT(table, HasSubstr("0.250"));
  EXPECT_THAT(table, HasSubstr("0.750"));
}

}  // namespace
}  // namespace ebsp::sim
