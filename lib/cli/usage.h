// --help for every ebsp binary: the program's own flags (with defaults and
// meaning), not Abseil's or gRPC's, which stay under --helpfull.
//
//   int main(int argc, char** argv) {
//     ebsp::cli::InitUsage("ebsp-status", "What a running coordinator's jobs are doing.");
//     absl::ParseCommandLine(argc, argv);
//
// Abseil's default --help shows only flags defined in a file named after the
// binary (ebsp-status.cc), so ours printed "No flags matched".
#ifndef EBSP_LIB_CLI_USAGE_H_
#define EBSP_LIB_CLI_USAGE_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace ebsp::cli {

// Sets the usage message ("<description>\n\nUsage: <program> [flags]"), the
// --version text ("<program> <project version>") and which flags --help and
// --helpshort show: those defined in this repository. Call once, before
// absl::ParseCommandLine.
void InitUsage(std::string_view program, std::string_view description);

// True for a flag defined in one of this repository's source folders
// (service/, tools/, lib/, clients/, bench/, examples/, tests/), however the
// build spelled the path ("../service/main.cc", "/src/tools/sim/main.cc").
bool IsProjectFlagFile(absl::string_view file);

}  // namespace ebsp::cli

#endif  // EBSP_LIB_CLI_USAGE_H_
