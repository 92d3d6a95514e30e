// ebsp-echo-server: the baseline for ebsp-loadgen. A bare gRPC callback
// server whose Echo answers a ReportIterationRequest with a constant
// ReportIterationResponse, on the same transport settings as the
// coordinator, so the load generator's echo figure is the ceiling the
// coordinator's ReportIteration throughput is compared against.
//
//   ebsp-echo-server --listen_address=127.0.0.1:0 --ready_file=/tmp/echo.ready
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "echo.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tools/loadgen/grpc_util.h"
#include "tools/loadgen/ready_file.h"

ABSL_FLAG(std::string, listen_address, "0.0.0.0:50052",
          "host:port to serve on; port 0 lets the kernel pick one");
ABSL_FLAG(std::string, ready_file, "",
          "once serving, atomically write {\"grpc_port\": N} to this file");
ABSL_FLAG(bool, mutex_deadlock_detection, false,
          "keep libabsl's debug-build deadlock detection on (gRPC's mutexes "
          "are absl::Mutex), to compare with a coordinator that keeps it");

namespace ebsp::loadgen {
namespace {

class EchoService final : public elasticbsp::loadgen::v1::Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const elasticbsp::v1::ReportIterationRequest* request,
                                 elasticbsp::v1::ReportIterationResponse* response) override {
    response->set_directive(elasticbsp::v1::DIRECTIVE_CONTINUE);
    response->set_target(1);
    response->set_round(request->round());
    response->set_membership_epoch(1);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// SIGTERM and SIGINT are blocked in every thread (gRPC's threads inherit the
// mask) and taken synchronously by sigwait, so shutdown runs on main.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int Run() {
  const sigset_t stop_signals = BlockStopSignals();
  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  const std::string address = absl::GetFlag(FLAGS_listen_address);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "ebsp-echo-server: cannot listen on %s\n", address.c_str());
    return 1;
  }
  std::fprintf(stderr, "ebsp-echo-server: gRPC Echo listening on port %d (%s)\n", port,
               address.c_str());
  const std::string ready_file = absl::GetFlag(FLAGS_ready_file);
  if (!ready_file.empty()) {
    if (absl::Status s = WriteReadyFile(ready_file, port); !s.ok()) {
      std::fprintf(stderr, "ebsp-echo-server: %s\n", s.ToString().c_str());
      server->Shutdown();
      return 1;
    }
  }
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  std::fprintf(stderr, "ebsp-echo-server: stopped\n");
  return 0;
}

}  // namespace
}  // namespace ebsp::loadgen

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_mutex_deadlock_detection)) {
    ebsp::loadgen::DisableMutexDeadlockDetection();
  }
  return ebsp::loadgen::Run();
}
