#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tools/loadgen/report_load.h"

namespace ebsp::loadgen {
namespace {

TEST(LoadModeFlagTest, ParsesEachModeByItsNameAndPrintsItBack) {
  for (LoadMode want : {LoadMode::kCoordinator, LoadMode::kEcho}) {
    LoadMode got = want == LoadMode::kEcho ? LoadMode::kCoordinator : LoadMode::kEcho;
    std::string error;
    ASSERT_TRUE(AbslParseFlag(LoadModeName(want), &got, &error)) << error;
    EXPECT_EQ(got, want);
    EXPECT_EQ(AbslUnparseFlag(got), LoadModeName(want));
  }
  EXPECT_EQ(LoadModeName(LoadMode::kCoordinator), "coordinator");
  EXPECT_EQ(LoadModeName(LoadMode::kEcho), "echo");
}

TEST(LoadModeFlagTest, RejectsAnyOtherNameNamingIt) {
  for (const char* text : {"", "Echo", "coord", "echo "}) {
    LoadMode mode = LoadMode::kEcho;
    std::string error;
    EXPECT_FALSE(AbslParseFlag(text, &mode, &error)) << text;
    EXPECT_NE(error.find(absl::StrCat("\"", text, "\"")), std::string::npos) << error;
    EXPECT_EQ(mode, LoadMode::kEcho) << "a rejected name changed the mode";
  }
}

}  // namespace
}  // namespace ebsp::loadgen
