// Test harness for the coordinator: an in-process server on 127.0.0.1:0, the
// real ebsp-coordinator binary as a child process, stubs, and worker loops
// that follow directives the way a training process does.
//
// Nothing here sleeps to wait for something: blocking RPCs return when the
// server releases them (with a deadline), and conditions on server state are
// polled against a deadline with WaitUntil.
#ifndef EBSP_TESTS_SERVER_HARNESS_H_
#define EBSP_TESTS_SERVER_HARNESS_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"
#include "service/clock.h"
#include "service/server.h"
#include "service/server_options.h"

namespace ebsp::server::testing {

namespace v1 = ::elasticbsp::v1;

inline constexpr absl::Duration kRpcDeadline = absl::Seconds(10);

// A clock that moves only when told: lease and deadline tests run in
// virtual time while the server's ticker keeps checking in real time.
class ManualClock final : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1'800'000'000);
};

// Options for a test server: loopback, kernel-picked ports, a fast ticker.
ServerOptions TestOptions();

std::unique_ptr<v1::Coordinator::Stub> Connect(int port);
std::shared_ptr<grpc::Channel> Channel(int port);

// A ClientContext with kRpcDeadline (or `deadline` from now).
std::unique_ptr<grpc::ClientContext> Context(absl::Duration deadline = kRpcDeadline);

v1::Policy Bsp();
v1::Policy Asp();
v1::Policy Ssp(int staleness);
v1::Policy Ebsp(int lookahead);
v1::Policy LocalSteps(int h);

// The requests of a worker's calls, as the tests send them.
v1::RegisterRequest RegisterRequestFor(const std::string& job, const std::string& name,
                                       const v1::Policy& policy = v1::Policy());
v1::ReportIterationRequest ReportRequestFor(const std::string& job, uint64_t worker, uint64_t round,
                                            uint32_t iteration, double compute_seconds = 0.01);
v1::BarrierRequest BarrierRequestFor(const std::string& job, uint64_t worker, uint64_t round);
v1::HeartbeatRequest HeartbeatRequestFor(const std::string& job, uint64_t worker);
v1::LeaveRequest LeaveRequestFor(const std::string& job, uint64_t worker);

// Polls `condition` until true or `deadline` passes, backing off from 1 ms
// to 20 ms between polls. Returns whether it became true.
bool WaitUntil(const std::function<bool()>& condition, absl::Duration deadline = absl::Seconds(10));

// Sends a raw request to a unary method and returns the raw reply.
absl::StatusOr<std::string> RawUnary(const std::shared_ptr<grpc::Channel>& channel,
                                     const std::string& method, const std::string& request);
// Writes one raw message on a bidi-streaming method, half-closes, and
// returns the first reply.
absl::StatusOr<std::string> RawBidiFirstReply(const std::shared_ptr<grpc::Channel>& channel,
                                              const std::string& method,
                                              const std::string& request);

// GET http://127.0.0.1:port/path over a plain socket; returns the body.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

// What one simulated worker did.
struct WorkerRun {
  grpc::Status status;
  uint64_t worker_id = 0;
  int rounds = 0;                  // Barriers passed.
  uint64_t iterations = 0;         // Reports answered.
  std::vector<int> sync_at;        // Round policies: iteration of SYNC_NOW.
  std::vector<int> targets;        // Round policies: target at SYNC_NOW.
  uint32_t last_live_workers = 0;  // From the last barrier reply.
  int waits = 0;                   // SSP: WaitForClock calls.
  int64_t max_lead = 0;            // SSP: own - slowest clock after a wait.
};

// Registers, calls `registered` (tests pass a barrier so that every worker
// is a member of round 0), runs `rounds` rounds (round policies) following
// directives, then leaves.
WorkerRun RunRoundWorker(v1::Coordinator::Stub& stub, const std::string& job,
                         const std::string& name, const v1::Policy& policy, int rounds,
                         const std::function<void()>& registered = {});
// Registers, calls `registered`, runs `iterations` iterations (ASP/SSP)
// calling WaitForClock on DIRECTIVE_WAIT, then leaves.
WorkerRun RunClockWorker(v1::Coordinator::Stub& stub, const std::string& job,
                         const std::string& name, const v1::Policy& policy, int iterations,
                         const std::function<void()>& registered = {});

// The real ebsp-coordinator binary (path from $EBSP_COORDINATOR) as a child.
class CoordinatorProcess {
 public:
  // Starts it with `flags` plus --ready_file, and waits for the ready file.
  static absl::StatusOr<std::unique_ptr<CoordinatorProcess>> Start(std::vector<std::string> flags);
  ~CoordinatorProcess();  // SIGKILLs a still-running child.

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }

  // Sends `signal` and waits up to `deadline` for the exit; returns the exit
  // status as from waitpid, or nullopt if it did not exit in time.
  std::optional<int> SignalAndWait(int signal, absl::Duration deadline);
  // The child's stderr so far.
  std::string Stderr() const;

 private:
  CoordinatorProcess() = default;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  std::string dir_;
};

}  // namespace ebsp::server::testing

#endif  // EBSP_TESTS_SERVER_HARNESS_H_
