// What a restart keeps, with an in-process coordinator restarted on the same
// --state_dir: jobs (spec, token, later policy changes) and, through the
// restart hold, the membership of the first barrier after it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "lib/core/job/membership_fingerprint.h"
#include "tests/server/server_fixture.h"

namespace ebsp::server::testing {
namespace {

using ::testing::HasSubstr;

class RestartTest : public ServerTest {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "ebsp-restart-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    options_ = TestOptions();
    options_.state_dir = dir_ + "/state";
    Restart(options_);
  }
  void TearDown() override {
    ServerTest::TearDown();
    std::filesystem::remove_all(dir_);
  }

  grpc::Status CreateJob(const std::string& job, const std::string& token,
                         const std::string& request_id, v1::Job* reply) {
    v1::CreateJobRequest request;
    request.mutable_spec()->set_job(job);
    *request.mutable_spec()->mutable_policy() = Ebsp(4);
    request.mutable_spec()->set_heartbeat_timeout_seconds(7);
    request.mutable_spec()->set_max_workers(5);
    request.mutable_spec()->set_auth_token(token);
    request.set_request_id(request_id);
    return stub_->CreateJob(Context().get(), request, reply);
  }
  grpc::Status RegisterWithToken(const std::string& job, const std::string& name,
                                 const std::string& token, v1::RegisterResponse* reply) {
    v1::RegisterRequest request = RegisterRequestFor(job, name, Bsp());
    request.set_auth_token(token);
    return stub_->Register(Context().get(), request, reply);
  }

  std::string dir_;
  ServerOptions options_;
};

TEST_F(RestartTest, CreatedJobsKeepSpecTokenAndPolicyChanges) {
  v1::Job created;
  ASSERT_TRUE(CreateJob("c", "tok", "create-1", &created).ok());
  v1::UpdatePolicyRequest update;
  update.set_job("c");
  *update.mutable_policy() = LocalSteps(3);
  v1::Job updated;
  ASSERT_TRUE(stub_->UpdatePolicy(Context().get(), update, &updated).ok());

  Restart(options_);
  const v1::Job job = MustGetJob("c");
  EXPECT_EQ(job.spec().policy().kind(), v1::POLICY_KIND_LOCAL_STEPS);
  EXPECT_EQ(job.spec().policy().local_steps(), 3u);
  EXPECT_EQ(job.spec().heartbeat_timeout_seconds(), 7);
  EXPECT_EQ(job.spec().max_workers(), 5u);
  EXPECT_TRUE(job.spec().auth_token().empty());
  v1::RegisterResponse reply;
  EXPECT_EQ(RegisterWithToken("c", "w", "", &reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(RegisterWithToken("c", "w", "wrong", &reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(RegisterWithToken("c", "w", "tok", &reply).ok());
  // The CreateJob retry is still recognised after the restart.
  v1::Job again;
  EXPECT_TRUE(CreateJob("c", "tok", "create-1", &again).ok());
}

TEST_F(RestartTest, DeletedJobsStayDeleted) {
  v1::Job created;
  ASSERT_TRUE(CreateJob("c", "", "", &created).ok());
  v1::DeleteJobRequest del;
  del.set_job("c");
  v1::DeleteJobResponse deleted;
  ASSERT_TRUE(stub_->DeleteJob(Context().get(), del, &deleted).ok());
  Restart(options_);
  v1::GetJobRequest get;
  get.set_job("c");
  v1::Job job;
  EXPECT_EQ(stub_->GetJob(Context().get(), get, &job).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RestartTest, AutoCreatedJobsSurviveWithTheFirstRegistrantsToken) {
  v1::RegisterResponse reply;
  ASSERT_TRUE(RegisterWithToken("auto", "w", "t0", &reply).ok());
  Restart(options_);
  EXPECT_EQ(RegisterWithToken("auto", "w", "", &reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(RegisterWithToken("auto", "w", "t0", &reply).ok());
}

TEST_F(RestartTest, FirstBarrierAfterARestartReleasesTheSameMembership) {
  MustRegister("j", "a");
  const v1::RegisterResponse b_before = MustRegister("j", "b");
  const uint64_t fingerprint = core::NameFingerprint("a") + core::NameFingerprint("b");
  ASSERT_EQ(b_before.membership_fingerprint(), fingerprint);

  Restart(options_);  // Graceful: the shutdown writes the roster {a, b}.
  const v1::RegisterResponse a = MustRegister("j", "a");
  EXPECT_EQ(a.membership_fingerprint(), core::NameFingerprint("a"));  // b not back yet.
  v1::ReportIterationResponse reported;
  ASSERT_TRUE(Report("j", a.worker_id(), 0, 1, &reported).ok());
  ASSERT_EQ(reported.directive(), v1::DIRECTIVE_SYNC_NOW);
  auto barrier = std::async(std::launch::async, [&] {
    v1::BarrierResponse reply;
    grpc::Status status = Barrier("j", a.worker_id(), 0, &reply);
    return std::make_pair(status, reply);
  });
  ASSERT_TRUE(WaitUntil([&] { return Arrived("j", a.worker_id()); }));
  // Every live member arrived, yet the barrier holds for b.
  const v1::Job held = MustGetJob("j");
  EXPECT_EQ(held.round(), 0u);
  EXPECT_EQ(held.rounds_completed(), 0u);

  // b was live before the restart: it joins the held round 0 as a member
  // (not PENDING), so both pass barrier 0 exactly once.
  const v1::RegisterResponse b = MustRegister("j", "b");
  EXPECT_EQ(b.round(), 0u);
  EXPECT_EQ(b.state(), v1::WORKER_STATE_RUNNING);
  EXPECT_EQ(b.membership_fingerprint(), fingerprint);
  ASSERT_TRUE(Report("j", b.worker_id(), 0, 1, &reported).ok());
  v1::BarrierResponse b_released;
  ASSERT_TRUE(Barrier("j", b.worker_id(), 0, &b_released).ok());
  auto [status, released] = barrier.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (const v1::BarrierResponse* r : {&released, &b_released}) {
    EXPECT_EQ(r->round(), 1u);
    EXPECT_EQ(r->membership_fingerprint(), fingerprint);
    EXPECT_EQ(r->live_workers(), 2u);
  }
}

TEST_F(RestartTest, TheHoldEndsAfterTheGraceWhenAWorkerDoesNotComeBack) {
  options_.restart_grace = absl::Milliseconds(300);
  MustRegister("j", "a");
  MustRegister("j", "gone");
  Restart(options_);
  const v1::RegisterResponse a = MustRegister("j", "a");
  v1::ReportIterationResponse reported;
  ASSERT_TRUE(Report("j", a.worker_id(), 0, 1, &reported).ok());
  v1::BarrierResponse released;
  const grpc::Status status = Barrier("j", a.worker_id(), 0, &released);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(released.round(), 1u);
  EXPECT_EQ(released.membership_fingerprint(), core::NameFingerprint("a"));
}

TEST_F(RestartTest, ACorruptStateFileStopsTheStartWithItsPath) {
  v1::Job created;
  ASSERT_TRUE(CreateJob("c", "", "", &created).ok());
  server_->Shutdown();
  const std::string path = options_.state_dir + "/job-c.txtpb";
  {
    std::ofstream out(path, std::ios::app);
    out << "junk\n";
  }
  absl::StatusOr<std::unique_ptr<CoordinatorServer>> server = CoordinatorServer::Start(options_);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), HasSubstr(path));
}

}  // namespace
}  // namespace ebsp::server::testing
