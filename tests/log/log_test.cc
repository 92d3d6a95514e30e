// lib/log: the line formats (text and JSON), escaping, the level filter,
// flag parsing and whole lines under concurrent writers.
#include "lib/log/log.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebsp::log {
namespace {

using ::testing::HasSubstr;

absl::Time FixedTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 12, 1, 4, 0, 0), absl::UTCTimeZone()) +
         absl::Milliseconds(123);
}

// Captures every written line; restores the level, format and stderr on exit.
class CapturedLog {
 public:
  CapturedLog() {
    SetSinkForTest([this](std::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
  }
  ~CapturedLog() {
    SetSinkForTest(nullptr);
    SetMinLevel(Level::kInfo);
    SetFormat(Format::kText);
  }
  std::vector<std::string> lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

TEST(LogFormatTest, TextLineHasTimestampLevelEventAndPairsInOrder) {
  EXPECT_EQ(
      FormatLine(Format::kText, FixedTime(), Level::kInfo, "worker_evicted",
                 {{"job", "a"}, {"worker", "b"}, {"reason", "lease_expired"}, {"silence_s", 12.5}}),
      "2026-12-01T04:00:00.123Z INFO worker_evicted job=a worker=b "
      "reason=lease_expired silence_s=12.5\n");
}

TEST(LogFormatTest, TextQuotesValuesWithSpacesQuotesEqualsOrNewlines) {
  EXPECT_EQ(FormatLine(Format::kText, FixedTime(), Level::kWarning, "e",
                       {{"a", "two words"},
                        {"b", "x=y"},
                        {"c", "say \"hi\""},
                        {"d", "l1\nl2"},
                        {"e", ""},
                        {"n", 7},
                        {"t", true}}),
            "2026-12-01T04:00:00.123Z WARN e a=\"two words\" b=\"x=y\" c=\"say \\\"hi\\\"\" "
            "d=\"l1\\nl2\" e=\"\" n=7 t=true\n");
}

TEST(LogFormatTest, JsonLineIsOneObjectWithEscapedStrings) {
  EXPECT_EQ(FormatLine(Format::kJson, FixedTime(), Level::kError, "barrier_deadline",
                       {{"job", "j\"1"}, {"missing", "a\\b,c"}, {"ctl", std::string("\x01\t", 2)}}),
            "{\"ts\":\"2026-12-01T04:00:00.123Z\",\"level\":\"error\",\"event\":"
            "\"barrier_deadline\",\"job\":\"j\\\"1\",\"missing\":\"a\\\\b,c\","
            "\"ctl\":\"\\u0001\\t\"}\n");
}

TEST(LogFormatTest, ValuesOfEveryTextNumberAndDurationTypeConvert) {
  const std::string owned = "s";
  const std::string_view view = "v";
  const char* pointer = "p";
  EXPECT_EQ(FormatLine(Format::kText, FixedTime(), Level::kInfo, "e",
                       {{"a", owned},
                        {"b", view},
                        {"c", pointer},
                        {"d", absl::string_view("x")},
                        {"e", uint64_t{18446744073709551615u}},
                        {"f", -3},
                        {"g", false},
                        {"h", absl::Milliseconds(1500)}}),
            "2026-12-01T04:00:00.123Z INFO e a=s b=v c=p d=x e=18446744073709551615 f=-3 "
            "g=false h=1.5s\n");
}

TEST(LogFormatTest, JsonWritesNumbersAndBoolsBareAndNonFiniteAsStrings) {
  EXPECT_EQ(FormatLine(Format::kJson, FixedTime(), Level::kInfo, "e",
                       {{"n", 7}, {"x", 2.5}, {"b", true}, {"inf", 1.0 / 0.0}, {"s", "7"}}),
            "{\"ts\":\"2026-12-01T04:00:00.123Z\",\"level\":\"info\",\"event\":\"e\","
            "\"n\":7,\"x\":2.5,\"b\":true,\"inf\":\"inf\",\"s\":\"7\"}\n");
}

TEST(LogFormatTest, NonAsciiUtf8PassesThroughUnchanged) {
  EXPECT_THAT(FormatLine(Format::kJson, FixedTime(), Level::kInfo, "e", {{"w", "wörker"}}),
              HasSubstr("\"w\":\"wörker\""));
}

TEST(LogFilterTest, EventsBelowTheLevelAreDropped) {
  CapturedLog log;
  SetMinLevel(Level::kWarning);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  Event(Level::kDebug, "d");
  Event(Level::kInfo, "i");
  Event(Level::kWarning, "w");
  Event(Level::kError, "e");
  std::vector<std::string> lines = log.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr(" WARN w\n"));
  EXPECT_THAT(lines[1], HasSubstr(" ERROR e\n"));
}

TEST(LogFilterTest, DefaultLevelIsInfoAndDebugIsOptIn) {
  CapturedLog log;
  Event(Level::kDebug, "d");
  Event(Level::kInfo, "i");
  SetMinLevel(Level::kDebug);
  Event(Level::kDebug, "d2");
  std::vector<std::string> lines = log.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr(" INFO i\n"));
  EXPECT_THAT(lines[1], HasSubstr(" DEBUG d2\n"));
}

TEST(LogFilterTest, FormatSwitchesToJson) {
  CapturedLog log;
  SetFormat(Format::kJson);
  Event(Level::kInfo, "job_created", {{"job", "a"}});
  std::vector<std::string> lines = log.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("\"level\":\"info\",\"event\":\"job_created\",\"job\":\"a\"}\n"));
  EXPECT_EQ(lines[0].front(), '{');
}

TEST(LogParseTest, LevelsAndFormatsByName) {
  EXPECT_EQ(*ParseLevel("debug"), Level::kDebug);
  EXPECT_EQ(*ParseLevel("INFO"), Level::kInfo);
  EXPECT_EQ(*ParseLevel("warn"), Level::kWarning);
  EXPECT_EQ(*ParseLevel("warning"), Level::kWarning);
  EXPECT_EQ(*ParseLevel("error"), Level::kError);
  EXPECT_EQ(*ParseFormat("json"), Format::kJson);
  EXPECT_EQ(*ParseFormat("text"), Format::kText);
  EXPECT_THAT(ParseLevel("verbose").status().message(), HasSubstr("\"verbose\""));
  EXPECT_THAT(ParseFormat("xml").status().message(), HasSubstr("\"xml\""));
}

TEST(LogConcurrencyTest, ConcurrentWritersNeverInterleaveLines) {
  CapturedLog log;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kPerThread; ++i) {
        Event(Level::kInfo, "tick", {{"thread", t}, {"i", i}, {"pad", std::string(300, 'x')}});
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::vector<std::string> lines = log.lines();
  ASSERT_EQ(lines.size(), size_t{kThreads * kPerThread});
  for (const std::string& line : lines) {
    ASSERT_EQ(line.back(), '\n');
    ASSERT_EQ(line.find('\n'), line.size() - 1) << line;
    ASSERT_THAT(line, HasSubstr(" INFO tick thread="));
  }
}

}  // namespace
}  // namespace ebsp::log
