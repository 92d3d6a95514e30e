// Small helpers the load tools share: gRPC status code names (as the
// coordinator's metrics spell them), a set of independent channels to one
// target, a countdown latch for "wait until N callbacks ran, with a
// deadline", and a monotonic stopwatch.
#ifndef EBSP_TOOLS_LOADGEN_GRPC_UTIL_H_
#define EBSP_TOOLS_LOADGEN_GRPC_UTIL_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/cpp/ebsp/channel.h"
#include "grpcpp/grpcpp.h"

namespace ebsp::loadgen {

// "OK", "NOT_FOUND", ... for counting errors by code.
absl::string_view StatusCodeName(grpc::StatusCode code);

// "NOT_FOUND: worker 7 is unknown" for messages.
std::string DescribeStatus(const grpc::Status& status);

// `count` channels to `target`, each with its own TCP connection (a private
// subchannel pool), all connected before this returns. UNAVAILABLE naming the
// target when they do not connect within `connect_timeout`; plaintext
// unless `tls.enabled` (INVALID_ARGUMENT for an unreadable TLS file).
absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> ConnectChannels(
    const std::string& target, int count, absl::Duration connect_timeout,
    const client::TlsChannelOptions& tls = {});

// The deadline of a call that starts now and may take `timeout`.
std::chrono::system_clock::time_point DeadlineAfter(absl::Duration timeout);

// Counts down from `count`; Wait returns true once it reached zero, false at
// the deadline. Thread-safe. CountDown is one atomic decrement except for the
// last one, which wakes the waiter: thousands of callbacks count down at once.
class CountdownLatch {
 public:
  explicit CountdownLatch(int64_t count) : remaining_(count) {}
  void CountDown();
  bool WaitWithTimeout(absl::Duration timeout);
  int64_t remaining() const { return remaining_.load(); }

 private:
  std::atomic<int64_t> remaining_;
  absl::Mutex mu_;
  bool reached_zero_ ABSL_GUARDED_BY(mu_) = false;
};

// Debian's libabsl is built without NDEBUG, so every absl::Mutex operation
// also maintains a deadlock-detection graph (GraphCycles). That is a large
// part of a load tool's CPU; the tools call this first thing in main.
void DisableMutexDeadlockDetection();

// Elapsed time on the monotonic clock (absl::Now() is wall time, which may
// jump; these tools only ever subtract).
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  absl::Duration Elapsed() const {
    return absl::FromChrono(std::chrono::steady_clock::now() - start_);
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ebsp::loadgen

#endif  // EBSP_TOOLS_LOADGEN_GRPC_UTIL_H_
