#include "lib/cli/usage.h"

#include <string>

#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ebsp::cli {
namespace {

// EBSP_VERSION comes from project(VERSION ...) in the top CMakeLists.txt.
constexpr char kProjectVersion[] = EBSP_VERSION;
constexpr const char* kSourceFolders[] = {"service/", "tools/",    "lib/",  "clients/",
                                          "bench/",   "examples/", "tests/"};

std::string& ProgramName() {
  static std::string* name = new std::string;
  return *name;
}

}  // namespace

bool IsProjectFlagFile(absl::string_view file) {
  for (const char* folder : kSourceFolders) {
    if (absl::StartsWith(file, folder) || absl::StrContains(file, absl::StrCat("/", folder))) {
      return true;
    }
  }
  return false;
}

void InitUsage(std::string_view program, std::string_view description) {
  ProgramName() = std::string(program);
  absl::SetProgramUsageMessage(
      absl::StrCat(std::string(description), "\n\nUsage: ", std::string(program), " [flags]"));
  absl::FlagsUsageConfig config;
  config.contains_help_flags = &IsProjectFlagFile;
  config.contains_helpshort_flags = &IsProjectFlagFile;
  config.version_string = [] { return absl::StrCat(ProgramName(), " ", kProjectVersion, "\n"); };
  absl::SetFlagsUsageConfig(config);
}

}  // namespace ebsp::cli
