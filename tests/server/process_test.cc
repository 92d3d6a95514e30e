// The real ebsp-coordinator binary: ready file and startup line, SIGTERM
// during a waiting barrier, restart on the same port, bad flags.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tests/server/harness.h"

namespace ebsp::server::testing {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kLoopbackFlags = {
    "--listen_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0", "--tick_interval=20ms"};

v1::RegisterResponse MustRegister(v1::Coordinator::Stub& stub, const std::string& job,
                                  const std::string& name) {
  v1::RegisterResponse reply;
  const grpc::Status status =
      stub.Register(Context().get(), RegisterRequestFor(job, name, Bsp()), &reply);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return reply;
}

grpc::Status Report(v1::Coordinator::Stub& stub, const std::string& job, uint64_t worker,
                    uint64_t round) {
  v1::ReportIterationResponse reply;
  return stub.ReportIteration(Context().get(), ReportRequestFor(job, worker, round, 1), &reply);
}

TEST(ProcessTest, WritesTheReadyFileAndLogsWhereItListens) {
  auto process = CoordinatorProcess::Start(kLoopbackFlags);
  ASSERT_TRUE(process.ok()) << process.status();
  EXPECT_GT((*process)->grpc_port(), 0);
  EXPECT_GT((*process)->metrics_port(), 0);
  const std::string log = (*process)->Stderr();
  EXPECT_THAT(log, HasSubstr(" INFO coordinator_started "));
  EXPECT_THAT(log, HasSubstr(absl::StrCat(" grpc_port=", (*process)->grpc_port(), " ")));
  EXPECT_THAT(log, HasSubstr(absl::StrCat(" metrics_port=", (*process)->metrics_port(), " ")));
  auto stub = Connect((*process)->grpc_port());
  v1::ListJobsResponse jobs;
  EXPECT_TRUE(stub->ListJobs(Context().get(), v1::ListJobsRequest(), &jobs).ok());
  absl::StatusOr<std::string> metrics = HttpGet((*process)->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(*metrics, HasSubstr("ebsp_build_info"));
}

TEST(ProcessTest, SigtermEndsAWaitingBarrierWithUnavailableAndExitsZero) {
  auto process = CoordinatorProcess::Start(kLoopbackFlags);
  ASSERT_TRUE(process.ok()) << process.status();
  auto stub = Connect((*process)->grpc_port());
  const v1::RegisterResponse a = MustRegister(*stub, "j", "a");
  MustRegister(*stub, "j", "b");
  ASSERT_TRUE(Report(*stub, "j", a.worker_id(), 0).ok());
  auto call = std::async(std::launch::async, [&] {
    v1::BarrierResponse reply;
    return stub->Barrier(Context().get(), BarrierRequestFor("j", a.worker_id(), 0), &reply);
  });
  ASSERT_TRUE(WaitUntil([&] {
    v1::GetJobRequest get;
    get.set_job("j");
    v1::Job job;
    return stub->GetJob(Context().get(), get, &job).ok() &&
           job.barrier().arrived_worker_ids_size() == 1;
  }));
  const std::optional<int> exit = (*process)->SignalAndWait(SIGTERM, absl::Seconds(10));
  ASSERT_TRUE(exit.has_value()) << "no exit within 10s after SIGTERM";
  ASSERT_TRUE(WIFEXITED(*exit));
  EXPECT_EQ(WEXITSTATUS(*exit), 0);
  const grpc::Status status = call.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT((*process)->Stderr(), HasSubstr(" INFO shutdown_started signal=SIGTERM\n"));
  EXPECT_THAT((*process)->Stderr(), HasSubstr(" INFO coordinator_stopped shutdown_ms="));
}

TEST(ProcessTest, SigtermEndsAnOpenReportStreamWithUnavailable) {
  auto process = CoordinatorProcess::Start(kLoopbackFlags);
  ASSERT_TRUE(process.ok()) << process.status();
  auto stub = Connect((*process)->grpc_port());
  v1::RegisterResponse registered;
  ASSERT_TRUE(
      stub->Register(Context().get(), RegisterRequestFor("s", "w", Asp()), &registered).ok());
  std::unique_ptr<grpc::ClientContext> ctx = Context();
  auto stream = stub->StreamReports(ctx.get());
  ASSERT_TRUE(stream->Write(ReportRequestFor("s", registered.worker_id(), 0, 1)));
  v1::ReportIterationResponse reply;
  ASSERT_TRUE(stream->Read(&reply));

  // The open stream used to be cancelled when the grace period ran out.
  const std::optional<int> exit = (*process)->SignalAndWait(SIGTERM, absl::Seconds(10));
  ASSERT_TRUE(exit.has_value()) << "no exit within 10s after SIGTERM";
  EXPECT_FALSE(stream->Read(&reply));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("shutting down"));
}

TEST(ProcessTest, RestartOnTheSamePortLetsWorkersRegisterAgain) {
  auto first = CoordinatorProcess::Start(kLoopbackFlags);
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = (*first)->grpc_port();
  auto stub = Connect(port);
  const v1::RegisterResponse before = MustRegister(*stub, "j", "a");
  ASSERT_TRUE(Report(*stub, "j", before.worker_id(), 0).ok());
  // A crash: no graceful anything.
  ASSERT_TRUE((*first)->SignalAndWait(SIGKILL, absl::Seconds(10)).has_value());

  auto second = CoordinatorProcess::Start(
      {absl::StrCat("--listen_address=127.0.0.1:", port), "--metrics_address=127.0.0.1:0"});
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ((*second)->grpc_port(), port);
  // The same channel reconnects; the old id means nothing to the new process.
  grpc::Status stale;
  ASSERT_TRUE(WaitUntil([&] {
    stale = Report(*stub, "j", before.worker_id(), 0);
    return stale.error_code() != grpc::StatusCode::UNAVAILABLE;
  }));
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::NOT_FOUND) << stale.error_message();
  const v1::RegisterResponse a = MustRegister(*stub, "j", "a");
  const v1::RegisterResponse b = MustRegister(*stub, "j", "b");
  EXPECT_NE(a.worker_id(), before.worker_id());
  EXPECT_EQ(a.round(), 0u);
  ASSERT_TRUE(Report(*stub, "j", a.worker_id(), 0).ok());
  ASSERT_TRUE(Report(*stub, "j", b.worker_id(), 0).ok());
  auto wait = [&](uint64_t id) {
    return std::async(std::launch::async, [&stub, id] {
      v1::BarrierResponse reply;
      grpc::Status s = stub->Barrier(Context().get(), BarrierRequestFor("j", id, 0), &reply);
      return std::make_pair(s, reply.round());
    });
  };
  auto fa = wait(a.worker_id());
  auto fb = wait(b.worker_id());
  for (auto* f : {&fa, &fb}) {
    auto [status, round] = f->get();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(round, 1u);
  }
}

TEST(ProcessTest, RejectsABadDefaultPolicyAtStartup) {
  auto process =
      CoordinatorProcess::Start({"--listen_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0",
                                 "--default_policy=warp:speed=9"});
  ASSERT_FALSE(process.ok());
  EXPECT_THAT(std::string(process.status().message()), HasSubstr("--default_policy"));
}

}  // namespace
}  // namespace ebsp::server::testing
