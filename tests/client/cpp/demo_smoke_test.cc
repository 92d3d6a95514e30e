// ebsp-demo end to end against a real coordinator for a couple of seconds
// per policy: it exits cleanly and prints live lines and the table. No
// figures are asserted: they depend on the machine's load.
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/client/cpp/support/client_fixture.h"
#include "tests/client/cpp/support/subprocess.h"

namespace ebsp::testing {
namespace {

std::string DemoBinary() {
  if (const char* path = std::getenv("EBSP_DEMO"); path != nullptr && *path) return path;
#ifdef EBSP_DEMO_PATH
  return EBSP_DEMO_PATH;
#else
  return "ebsp-demo";
#endif
}

class DemoSmokeTest : public ClientFixture {};

TEST_F(DemoSmokeTest, RunsEveryPolicyAndPrintsLiveLinesAndTheComparisonTable) {
  StartCoordinator();
  absl::StatusOr<std::string> made = MakeTempDir("ebsp-demo-smoke");
  ASSERT_TRUE(made.ok()) << made.status();
  const std::string dir = *made;
  const std::string out = dir + "/demo.out";
  const std::string err = dir + "/demo.err";
  absl::StatusOr<std::unique_ptr<Subprocess>> demo = Subprocess::Spawn(
      {DemoBinary(), absl::StrCat("--target=", coordinator_->target()), "--workers=4",
       "--seconds_per_policy=2", "--policies=bsp,ebsp:R=8", "--job_prefix=smoke"},
      out, err);
  ASSERT_TRUE(demo.ok()) << demo.status();
  absl::StatusOr<int> code = (*demo)->Wait(absl::Seconds(90));
  ASSERT_TRUE(code.ok()) << code.status();
  const std::string text = ReadFileOrEmpty(out);
  EXPECT_EQ(*code, 0) << text << ReadFileOrEmpty(err);
  EXPECT_NE(text.find("== bsp (job smoke-"), std::string::npos) << text;
  EXPECT_NE(text.find("== ebsp:R=8 (job smoke-"), std::string::npos) << text;
  EXPECT_NE(text.find("targets "), std::string::npos) << text;
  EXPECT_NE(text.find("policy"), std::string::npos) << text;
  EXPECT_NE(text.find("it/s"), std::string::npos) << text;
  EXPECT_NE(text.find("\nbsp "), std::string::npos) << text;
  EXPECT_NE(text.find("\nebsp:R=8 "), std::string::npos) << text;
  EXPECT_NE(text.find("speedup of ElasticBSP (ebsp:R=8) over BSP: "), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}

TEST(DemoSmokeFlagsTest, RejectsAnInvalidPolicyListBeforeConnecting) {
  absl::StatusOr<std::string> made = MakeTempDir("ebsp-demo-flags");
  ASSERT_TRUE(made.ok()) << made.status();
  const std::string dir = *made;
  absl::StatusOr<std::unique_ptr<Subprocess>> demo =
      Subprocess::Spawn({DemoBinary(), "--target=127.0.0.1:1", "--policies=bsp,ebsp:R=0"},
                        dir + "/out", dir + "/err");
  ASSERT_TRUE(demo.ok()) << demo.status();
  absl::StatusOr<int> code = (*demo)->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 2);
  EXPECT_NE(ReadFileOrEmpty(dir + "/err").find("ebsp:R=0"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ebsp::testing
