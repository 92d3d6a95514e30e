// The --ready_file protocol shared with ebsp-coordinator: once a server is
// serving, it writes one JSON line such as {"grpc_port": 40123} to a
// temporary file and renames it into place, so a reader that sees the file
// always sees the whole line (tests start servers on 127.0.0.1:0 and learn
// the picked port this way).
#ifndef EBSP_TOOLS_LOADGEN_READY_FILE_H_
#define EBSP_TOOLS_LOADGEN_READY_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace ebsp::loadgen {

absl::Status WriteReadyFile(const std::string& path, int grpc_port);

}  // namespace ebsp::loadgen

#endif  // EBSP_TOOLS_LOADGEN_READY_FILE_H_
