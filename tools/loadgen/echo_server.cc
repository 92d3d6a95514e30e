// ebsp-echo-server: the baselines for the load tools. A bare gRPC callback
// server on the same transport settings as the coordinator:
//  - Echo answers a ReportIterationRequest with a constant
//    ReportIterationResponse: the ceiling of ebsp-loadgen's ReportIteration
//    throughput;
//  - Park holds calls like a barrier and finishes them all when the last
//    party arrives: the floor of ebsp-barrier-bench's release latency.
//
//   ebsp-echo-server --listen_address=127.0.0.1:0 --ready_file=/tmp/echo.ready
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "echo.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "lib/cli/usage.h"
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

// Thread-safe: gRPC calls the handlers from many threads.
class EchoService final : public elasticbsp::loadgen::v1::Echo::CallbackService {
 public:
  // Fails every parked call, and every Park from now on, with `status` (the
  // server is stopping: an unfinished call would hold Shutdown).
  void ReleaseAllParked(const grpc::Status& status) {
    absl::flat_hash_map<uint64_t, std::vector<ParkedCall>> parked;
    {
      absl::MutexLock lock(&mu_);
      stopping_ = status;
      parked.swap(parked_);
    }
    for (auto& [round, calls] : parked) {
      for (const ParkedCall& call : calls) call.reactor->Finish(status);
    }
  }

 private:
  struct ParkedCall {
    grpc::ServerUnaryReactor* reactor;
    elasticbsp::v1::BarrierResponse* response;
  };

  grpc::ServerUnaryReactor* Park(grpc::CallbackServerContext* context,
                                 const elasticbsp::loadgen::v1::ParkRequest* request,
                                 elasticbsp::v1::BarrierResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::vector<ParkedCall> release;
    grpc::Status refused;  // Not OK when the server is stopping.
    {
      absl::MutexLock lock(&mu_);
      refused = stopping_;
      if (refused.ok()) {
        std::vector<ParkedCall>& calls = parked_[request->round()];
        calls.push_back(ParkedCall{reactor, response});
        if (calls.size() >= std::max<uint32_t>(1, request->parties())) {
          release.swap(calls);
          parked_.erase(request->round());
        }
      }
    }
    if (!refused.ok()) reactor->Finish(refused);
    // Like the coordinator: responses are filled and calls finished outside
    // the lock, by the thread whose arrival released the barrier.
    for (const ParkedCall& call : release) {
      call.response->set_round(request->round() + 1);
      call.response->set_target(1);
      call.response->set_membership_epoch(1);
      call.response->set_live_workers(request->parties());
      call.reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

  grpc::ServerUnaryReactor* Parked(grpc::CallbackServerContext* context,
                                   const elasticbsp::loadgen::v1::ParkedRequest* request,
                                   elasticbsp::loadgen::v1::ParkedResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      auto it = parked_.find(request->round());
      response->set_parked(it == parked_.end() ? 0 : static_cast<uint32_t>(it->second.size()));
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

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

  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, std::vector<ParkedCall>> parked_ ABSL_GUARDED_BY(mu_);
  // Not OK once ReleaseAllParked ran.
  grpc::Status stopping_ ABSL_GUARDED_BY(mu_);
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
  service.ReleaseAllParked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "echo server stopping"));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  std::fprintf(stderr, "ebsp-echo-server: stopped\n");
  return 0;
}

}  // namespace
}  // namespace ebsp::loadgen

int main(int argc, char** argv) {
  ebsp::cli::InitUsage("ebsp-echo-server",
                       "A bare gRPC callback server (Echo, and a held barrier): the baseline "
                       "that ebsp-loadgen and ebsp-barrier-bench compare the coordinator with.");
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_mutex_deadlock_detection)) {
    ebsp::loadgen::DisableMutexDeadlockDetection();
  }
  return ebsp::loadgen::Run();
}
