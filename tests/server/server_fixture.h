// A fixture with an in-process coordinator on 127.0.0.1:0 and a stub to it.
// Tests that need other settings call Restart(options) first; tests in
// virtual time call Restart(options, &clock_).
#ifndef EBSP_TESTS_SERVER_SERVER_FIXTURE_H_
#define EBSP_TESTS_SERVER_SERVER_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/server/harness.h"

namespace ebsp::server::testing {

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Restart(TestOptions()); }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // `clock` (borrowed; null: the real one) must outlive the server, as
  // clock_ does.
  void Restart(const ServerOptions& options, const Clock* clock = nullptr) {
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
    absl::StatusOr<std::unique_ptr<CoordinatorServer>> server =
        CoordinatorServer::Start(options, clock);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = Connect(server_->grpc_port());
  }

  v1::RegisterResponse MustRegister(const std::string& job, const std::string& name,
                                    const v1::Policy& policy = v1::Policy()) {
    v1::RegisterResponse reply;
    grpc::Status status =
        stub_->Register(Context().get(), RegisterRequestFor(job, name, policy), &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return reply;
  }

  grpc::Status Report(const std::string& job, uint64_t worker, uint64_t round, uint32_t iteration,
                      v1::ReportIterationResponse* reply, double compute_seconds = 0.01) {
    return stub_->ReportIteration(
        Context().get(), ReportRequestFor(job, worker, round, iteration, compute_seconds), reply);
  }

  grpc::Status Barrier(const std::string& job, uint64_t worker, uint64_t round,
                       v1::BarrierResponse* reply, absl::Duration deadline = kRpcDeadline) {
    return stub_->Barrier(Context(deadline).get(), BarrierRequestFor(job, worker, round), reply);
  }

  grpc::Status Heartbeat(const std::string& job, uint64_t worker,
                         v1::HeartbeatResponse* reply = nullptr) {
    v1::HeartbeatResponse ignored;
    return stub_->Heartbeat(Context().get(), HeartbeatRequestFor(job, worker),
                            reply != nullptr ? reply : &ignored);
  }

  grpc::Status Leave(const std::string& job, uint64_t worker) {
    v1::LeaveResponse reply;
    return stub_->Leave(Context().get(), LeaveRequestFor(job, worker), &reply);
  }

  v1::Job MustGetJob(const std::string& job) {
    v1::GetJobRequest request;
    request.set_job(job);
    v1::Job reply;
    grpc::Status status = stub_->GetJob(Context().get(), request, &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return reply;
  }

  // Whether `worker` is counted as arrived at the job's current barrier.
  bool Arrived(const std::string& job, uint64_t worker) {
    const v1::Job snapshot = MustGetJob(job);  // Outlives the loop.
    for (uint64_t id : snapshot.barrier().arrived_worker_ids()) {
      if (id == worker) return true;
    }
    return false;
  }

  // A member, not a local of the test body: the server's ticker reads it
  // until TearDown shuts the server down, after the body has returned; and
  // declared before server_, so destroyed after it.
  ManualClock clock_;
  std::unique_ptr<CoordinatorServer> server_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

}  // namespace ebsp::server::testing

#endif  // EBSP_TESTS_SERVER_SERVER_FIXTURE_H_
