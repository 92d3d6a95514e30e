#include "tests/client/cpp/support/coordinator_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ebsp::testing {
namespace {

// Reads {"grpc_port": N, "metrics_port": M}; nullopt until the line is whole.
std::optional<std::pair<int, int>> ParseReadyFile(const std::string& text) {
  auto field = [&](const std::string& key) -> std::optional<int> {
    const size_t at = text.find(absl::StrCat("\"", key, "\""));
    if (at == std::string::npos) return std::nullopt;
    size_t begin = text.find(':', at);
    if (begin == std::string::npos) return std::nullopt;
    ++begin;
    while (begin < text.size() && text[begin] == ' ') ++begin;
    size_t end = begin;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    int value = 0;
    if (!absl::SimpleAtoi(text.substr(begin, end - begin), &value)) return std::nullopt;
    return value;
  };
  if (text.find('}') == std::string::npos) return std::nullopt;
  std::optional<int> grpc = field("grpc_port");
  std::optional<int> metrics = field("metrics_port");
  if (!grpc || !metrics) return std::nullopt;
  return std::make_pair(*grpc, *metrics);
}

}  // namespace

std::string CoordinatorBinary() {
  if (const char* path = std::getenv("EBSP_COORDINATOR"); path != nullptr && *path) {
    return path;
  }
#ifdef EBSP_COORDINATOR_PATH
  return EBSP_COORDINATOR_PATH;
#else
  return "ebsp-coordinator";
#endif
}

absl::StatusOr<int> PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int error = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("bind 127.0.0.1:0: ", std::strerror(error)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

absl::StatusOr<std::unique_ptr<CoordinatorProcess>> CoordinatorProcess::Start(Options options) {
  std::unique_ptr<CoordinatorProcess> process(new CoordinatorProcess(std::move(options)));
  absl::StatusOr<std::string> dir = MakeTempDir("ebsp-client-test");
  if (!dir.ok()) return dir.status();
  process->dir_ = std::move(*dir);
  if (absl::Status status = process->Launch(); !status.ok()) return status;
  return process;
}

CoordinatorProcess::~CoordinatorProcess() {
  process_.reset();  // Killed and reaped before its files go.
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string CoordinatorProcess::target() const { return absl::StrCat("127.0.0.1:", grpc_port_); }

std::string CoordinatorProcess::log() const {
  return ReadFileOrEmpty(absl::StrCat(dir_, "/coordinator.log"));
}

absl::Status CoordinatorProcess::Launch() {
  ++launches_;
  const std::string ready_file = absl::StrCat(dir_, "/ready-", launches_, ".json");
  const std::string log_file = absl::StrCat(dir_, "/coordinator.log");
  std::vector<std::string> argv = {
      CoordinatorBinary(),
      absl::StrCat("--listen_address=127.0.0.1:", options_.grpc_port),
      "--metrics_address=127.0.0.1:0",
      absl::StrCat("--ready_file=", ready_file),
  };
  argv.insert(argv.end(), options_.flags.begin(), options_.flags.end());

  // Watch before spawning so that the rename into place cannot be missed.
  const int watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (watch < 0) return absl::InternalError(absl::StrCat("inotify: ", std::strerror(errno)));
  inotify_add_watch(watch, dir_.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO);

  absl::StatusOr<std::unique_ptr<Subprocess>> spawned = Subprocess::Spawn(argv, log_file, log_file);
  if (!spawned.ok()) {
    close(watch);
    return spawned.status();
  }
  process_ = std::move(*spawned);

  const absl::Time deadline = absl::Now() + options_.ready_timeout;
  absl::Status result = absl::OkStatus();
  for (;;) {
    if (auto ports = ParseReadyFile(ReadFileOrEmpty(ready_file))) {
      grpc_port_ = ports->first;
      metrics_port_ = ports->second;
      break;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      result = absl::DeadlineExceededError(
          absl::StrCat("coordinator wrote no ready file within ",
                       absl::FormatDuration(options_.ready_timeout), "; log:\n", log()));
      break;
    }
    pollfd fds[2] = {{watch, POLLIN, 0}, {process_->pidfd(), POLLIN, 0}};
    poll(fds, 2, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (fds[1].revents & POLLIN) {
      absl::StatusOr<int> code = process_->Wait(absl::ZeroDuration());
      result = absl::InternalError(absl::StrCat("coordinator exited with ", code.ok() ? *code : -1,
                                                " before serving; log:\n", log()));
      break;
    }
    char events[4096];
    while (read(watch, events, sizeof(events)) > 0) {
    }
  }
  close(watch);
  if (result.ok() && options_.grpc_port == 0) options_.grpc_port = grpc_port_;
  return result;
}

absl::Status CoordinatorProcess::Kill() {
  process_->Signal(SIGKILL);
  return process_->Wait(absl::Seconds(10)).status();
}

absl::StatusOr<int> CoordinatorProcess::Terminate(absl::Duration timeout) {
  process_->Signal(SIGTERM);
  return process_->Wait(timeout);
}

absl::Status CoordinatorProcess::Restart() {
  if (!process_->HasExited()) {
    return absl::FailedPreconditionError("Restart while the coordinator still runs");
  }
  (void)process_->Wait(absl::ZeroDuration());
  return Launch();
}

absl::Status CoordinatorProcess::Freeze() {
  process_->Signal(SIGSTOP);
  const std::string stat_path = absl::StrCat("/proc/", process_->pid(), "/stat");
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    // The state is the first field after the ")" that ends the command name.
    const std::string stat = ReadFileOrEmpty(stat_path);
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] == 'T') {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::DeadlineExceededError("the coordinator did not stop within 10s of SIGSTOP");
}

void CoordinatorProcess::Thaw() { process_->Signal(SIGCONT); }

}  // namespace ebsp::testing
