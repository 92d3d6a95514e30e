#include "tools/sim/trace_csv.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/sim/trace.h"

namespace ebsp::sim {
namespace {

using ::testing::HasSubstr;

absl::Status ParseError(const std::string& text) { return ParseTraceCsv(text, "t.csv").status(); }

TEST(TraceCsvTest, SuiteTraceRoundTripsExactlyThroughText) {
  SuiteOptions options;
  options.workers = 5;
  options.length = absl::Seconds(20);
  absl::StatusOr<Trace> original = MakeSuiteTrace(TraceKind::kMix, options);
  ASSERT_TRUE(original.ok());
  absl::StatusOr<Trace> parsed = ParseTraceCsv(FormatTraceCsv(*original), "mix.csv");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->compute, original->compute);
  EXPECT_EQ(parsed->name, "mix.csv");
}

TEST(TraceCsvTest, RoundTripsThroughAFile) {
  Trace trace{"t", {{absl::Nanoseconds(1), absl::Seconds(2)}, {absl::Milliseconds(1500)}}};
  const std::string path = testing::TempDir() + "/ebsp_sim_trace.csv";
  ASSERT_TRUE(WriteTraceCsv(trace, path).ok());
  absl::StatusOr<Trace> read = ReadTraceCsv(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->compute, trace.compute);
  std::remove(path.c_str());
}

TEST(TraceCsvTest, FormatsOneRowPerIterationWithTheHeader) {
  Trace trace{"t", {{absl::Milliseconds(100)}, {absl::Seconds(2)}}};
  EXPECT_EQ(FormatTraceCsv(trace),
            "worker,iteration,seconds\n"
            "0,0,0.100000000\n"
            "1,0,2.000000000\n");
}

TEST(TraceCsvTest, AcceptsAnyRowOrderBlankLinesCommentsAndCrLf) {
  absl::StatusOr<Trace> trace = ParseTraceCsv(
      "# recorded on host a\r\n"
      "worker,iteration,seconds\r\n"
      "1,0,0.5\r\n"
      "\r\n"
      "0,1,0.25\n"
      "0,0, 1e-1\n",
      "t.csv");
  ASSERT_TRUE(trace.ok()) << trace.status();
  ASSERT_EQ(trace->workers(), 2);
  EXPECT_EQ(trace->compute[0],
            (std::vector<absl::Duration>{absl::Milliseconds(100), absl::Milliseconds(250)}));
  EXPECT_EQ(trace->compute[1], std::vector<absl::Duration>{absl::Milliseconds(500)});
}

TEST(TraceCsvTest, WrongHeaderNamesLineOne) {
  absl::Status status = ParseError("w,i,s\n0,0,1\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("t.csv:1: expected the header"));
}

TEST(TraceCsvTest, WrongFieldCountNamesTheLine) {
  EXPECT_THAT(ParseError("worker,iteration,seconds\n0,0,1\n0,1\n").message(),
              HasSubstr("t.csv:3: expected 3 fields"));
}

TEST(TraceCsvTest, BadNumbersNameTheLineAndTheValue) {
  const std::string header = "worker,iteration,seconds\n";
  EXPECT_THAT(ParseError(header + "x,0,1\n").message(), HasSubstr("t.csv:2: worker 'x'"));
  EXPECT_THAT(ParseError(header + "0,0,1\n0,-1,1\n").message(),
              HasSubstr("t.csv:3: iteration '-1'"));
  EXPECT_THAT(ParseError(header + "0,0,fast\n").message(), HasSubstr("t.csv:2: seconds 'fast'"));
  EXPECT_THAT(ParseError(header + "0,0,nan\n").message(), HasSubstr("t.csv:2: seconds 'nan'"));
  EXPECT_THAT(ParseError(header + "0,0,0\n").message(),
              HasSubstr("t.csv:2: seconds 0 is out of range"));
  EXPECT_THAT(ParseError(header + "0,0,-2\n").message(),
              HasSubstr("t.csv:2: seconds -2 is out of range"));
}

TEST(TraceCsvTest, DuplicateRowNamesBothLines) {
  EXPECT_THAT(ParseError("worker,iteration,seconds\n0,0,1\n0,1,1\n0,0,2\n").message(),
              HasSubstr("t.csv:4: worker 0 iteration 0 was already given on line 2"));
}

TEST(TraceCsvTest, GapInIterationsNamesTheLineAfterIt) {
  EXPECT_THAT(ParseError("worker,iteration,seconds\n0,0,1\n0,2,1\n").message(),
              HasSubstr("t.csv:3: worker 0 iteration 2 follows a gap: no row gives "
                        "iteration 1"));
}

TEST(TraceCsvTest, MissingWorkerIsNamed) {
  EXPECT_THAT(ParseError("worker,iteration,seconds\n0,0,1\n2,0,1\n").message(),
              HasSubstr("worker 1 has no rows"));
}

TEST(TraceCsvTest, EmptyInputsAreRejected) {
  EXPECT_THAT(ParseError("").message(), HasSubstr("empty trace"));
  EXPECT_THAT(ParseError("worker,iteration,seconds\n").message(), HasSubstr("no rows"));
}

TEST(TraceCsvTest, MissingFileIsNotFound) {
  absl::StatusOr<Trace> trace = ReadTraceCsv(testing::TempDir() + "/no/such/trace.csv");
  EXPECT_EQ(trace.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(trace.status().message(), HasSubstr("no/such/trace.csv"));
}

}  // namespace
}  // namespace ebsp::sim
