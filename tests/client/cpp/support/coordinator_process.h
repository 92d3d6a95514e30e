// The real ebsp-coordinator binary, run by a test on 127.0.0.1: started with
// --ready_file, the ports it picked read back, killed or restarted on the
// same gRPC port. The binary's path comes from $EBSP_COORDINATOR, else from
// the EBSP_COORDINATOR_PATH the build compiles in.
#ifndef EBSP_TESTS_CLIENT_CPP_SUPPORT_COORDINATOR_PROCESS_H_
#define EBSP_TESTS_CLIENT_CPP_SUPPORT_COORDINATOR_PROCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/client/cpp/support/subprocess.h"

namespace ebsp::testing {

std::string CoordinatorBinary();

// A TCP port on 127.0.0.1 that was free a moment ago (bound, then closed).
absl::StatusOr<int> PickFreePort();

class CoordinatorProcess {
 public:
  struct Options {
    int grpc_port = 0;               // 0: the kernel picks one.
    std::vector<std::string> flags;  // Extra flags, e.g. "--heartbeat_timeout=1s".
    absl::Duration ready_timeout = absl::Seconds(30);
  };

  // Starts the binary and waits (on the ready file, with a deadline) until it
  // serves. The error carries the coordinator's log if it exits first.
  static absl::StatusOr<std::unique_ptr<CoordinatorProcess>> Start(Options options);

  ~CoordinatorProcess();  // SIGKILL if still running.

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  std::string target() const;
  std::string log() const;

  // A crash: SIGKILL, reaped.
  absl::Status Kill();
  // A graceful stop: SIGTERM, then the exit code.
  absl::StatusOr<int> Terminate(absl::Duration timeout);
  // Starts the same binary again on the same gRPC port with the same flags.
  absl::Status Restart();
  // SIGSTOP: the coordinator keeps its state and answers nothing (returns
  // once the kernel reports it stopped, within a deadline); Thaw: SIGCONT.
  absl::Status Freeze();
  void Thaw();

 private:
  explicit CoordinatorProcess(Options options) : options_(std::move(options)) {}
  absl::Status Launch();

  Options options_;
  std::string dir_;
  int launches_ = 0;
  std::unique_ptr<Subprocess> process_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
};

}  // namespace ebsp::testing

#endif  // EBSP_TESTS_CLIENT_CPP_SUPPORT_COORDINATOR_PROCESS_H_
