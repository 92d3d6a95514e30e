// Shutdown as a client sees it: the proto promises UNAVAILABLE ("register
// again with the next coordinator"), so once shutdown has begun every new
// call, every report on an open stream and the open stream itself end with
// UNAVAILABLE, never with CANCELLED from gRPC's grace period.
//
// The service is served here by a plain grpc::Server, so that the test can
// begin the service's shutdown while gRPC still accepts calls: the window a
// real coordinator has between BeginShutdown and the server's own shutdown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "service/clock.h"
#include "service/coordinator_service.h"
#include "service/metrics.h"
#include "tests/server/harness.h"

namespace ebsp::server::testing {
namespace {

using ::testing::HasSubstr;

#define EXPECT_UNAVAILABLE(call)                                          \
  do {                                                                    \
    const grpc::Status s_ = (call);                                       \
    EXPECT_EQ(s_.error_code(), grpc::StatusCode::UNAVAILABLE)             \
        << #call << ": " << s_.error_message();                           \
    EXPECT_THAT(s_.error_message(), HasSubstr("shutting down")) << #call; \
  } while (0)

class ShutdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = std::make_unique<CoordinatorService>(options_, &clock_, &metrics_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    stub_ = Connect(port);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  const ServerOptions options_ = TestOptions();
  MonotonicClock clock_;
  Metrics metrics_{options_.max_worker_series};
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

TEST_F(ShutdownTest, EveryCallStartedAfterShutdownBeganIsUnavailable) {
  v1::RegisterRequest reg = RegisterRequestFor("j", "w", Asp());
  v1::RegisterResponse registered;
  ASSERT_TRUE(stub_->Register(Context().get(), reg, &registered).ok());
  const uint64_t worker = registered.worker_id();

  service_->BeginShutdown();

  reg.set_worker_name("v");
  v1::RegisterResponse reg_reply;
  EXPECT_UNAVAILABLE(stub_->Register(Context().get(), reg, &reg_reply));
  v1::ReportIterationResponse report_reply;
  EXPECT_UNAVAILABLE(
      stub_->ReportIteration(Context().get(), ReportRequestFor("j", worker, 0, 1), &report_reply));
  v1::BarrierResponse barrier_reply;
  EXPECT_UNAVAILABLE(
      stub_->Barrier(Context().get(), BarrierRequestFor("j", worker, 0), &barrier_reply));
  v1::WaitForClockRequest wait;
  wait.set_job("j");
  wait.set_worker_id(worker);
  v1::WaitForClockResponse wait_reply;
  EXPECT_UNAVAILABLE(stub_->WaitForClock(Context().get(), wait, &wait_reply));
  v1::HeartbeatResponse heartbeat_reply;
  EXPECT_UNAVAILABLE(
      stub_->Heartbeat(Context().get(), HeartbeatRequestFor("j", worker), &heartbeat_reply));
  v1::LeaveResponse leave_reply;
  EXPECT_UNAVAILABLE(stub_->Leave(Context().get(), LeaveRequestFor("j", worker), &leave_reply));

  v1::CreateJobRequest create;
  create.mutable_spec()->set_job("k");
  v1::Job job;
  EXPECT_UNAVAILABLE(stub_->CreateJob(Context().get(), create, &job));
  v1::GetJobRequest get;
  get.set_job("j");
  EXPECT_UNAVAILABLE(stub_->GetJob(Context().get(), get, &job));
  v1::ListJobsResponse jobs;
  EXPECT_UNAVAILABLE(stub_->ListJobs(Context().get(), v1::ListJobsRequest(), &jobs));
  v1::UpdatePolicyRequest update;
  update.set_job("j");
  *update.mutable_policy() = Bsp();
  EXPECT_UNAVAILABLE(stub_->UpdatePolicy(Context().get(), update, &job));
  v1::DeleteJobRequest del;
  del.set_job("j");
  v1::DeleteJobResponse deleted;
  EXPECT_UNAVAILABLE(stub_->DeleteJob(Context().get(), del, &deleted));

  std::unique_ptr<grpc::ClientContext> ctx = Context();
  auto stream = stub_->StreamReports(ctx.get());
  stream->Write(ReportRequestFor("j", worker, 0, 1));  // May fail: the server may have ended it.
  v1::ReportIterationResponse streamed;
  EXPECT_FALSE(stream->Read(&streamed));
  EXPECT_UNAVAILABLE(stream->Finish());
}

TEST_F(ShutdownTest, AnOpenReportStreamEndsWithUnavailableWhenShutdownBegins) {
  v1::RegisterResponse registered;
  ASSERT_TRUE(
      stub_->Register(Context().get(), RegisterRequestFor("j", "w", Asp()), &registered).ok());
  std::unique_ptr<grpc::ClientContext> ctx = Context();
  auto stream = stub_->StreamReports(ctx.get());
  ASSERT_TRUE(stream->Write(ReportRequestFor("j", registered.worker_id(), 0, 1)));
  v1::ReportIterationResponse reply;
  ASSERT_TRUE(stream->Read(&reply));
  EXPECT_EQ(reply.directive(), v1::DIRECTIVE_CONTINUE);

  // The stream is idle, its next read pending on the server: shutdown ends
  // it at once, although gRPC itself is still serving.
  service_->BeginShutdown();
  EXPECT_FALSE(stream->Read(&reply));
  EXPECT_UNAVAILABLE(stream->Finish());
}

}  // namespace
}  // namespace ebsp::server::testing
