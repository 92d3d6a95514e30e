#include "tools/loadgen/ready_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ebsp::loadgen {

absl::Status WriteReadyFile(const std::string& path, int grpc_port) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ready file ", tmp, ": ", std::strerror(errno)));
  }
  const std::string line = absl::StrCat("{\"grpc_port\": ", grpc_port, "}\n");
  const bool wrote = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) {
    return absl::UnavailableError(absl::StrCat("cannot write ready file ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace ebsp::loadgen
