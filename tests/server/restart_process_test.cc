// The real ebsp-coordinator with --state_dir, killed with SIGKILL and started
// again on the same port and directory: its jobs come back, the token still
// protects them, and the first barrier after the restart releases the same
// membership (fingerprint) as before it. A corrupt state file stops the start
// with the file's path. Label `restart`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/core/job/membership_fingerprint.h"
#include "tests/server/harness.h"

namespace ebsp::server::testing {
namespace {

using ::testing::HasSubstr;

std::string MakeTempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "ebsp-restart-proc-XXXXXX").string();
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> Flags(const std::string& state_dir, int port) {
  return {absl::StrCat("--listen_address=127.0.0.1:", port), "--metrics_address=127.0.0.1:0",
          "--tick_interval=20ms", absl::StrCat("--state_dir=", state_dir)};
}

class RestartProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

grpc::Status RegisterWithToken(v1::Coordinator::Stub& stub, const std::string& name,
                               const std::string& token, v1::RegisterResponse* reply) {
  v1::RegisterRequest request = RegisterRequestFor("c", name, Bsp());
  request.set_auth_token(token);
  return stub.Register(Context().get(), request, reply);
}

TEST_F(RestartProcessTest, SigkillAndRestartKeepTheJobTokenAndMembership) {
  const std::string state = dir_ + "/state";
  auto first = CoordinatorProcess::Start(Flags(state, 0));
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = (*first)->grpc_port();
  auto stub = Connect(port);
  v1::CreateJobRequest create;
  create.mutable_spec()->set_job("c");
  *create.mutable_spec()->mutable_policy() = Bsp();
  create.mutable_spec()->set_auth_token("tok");
  create.set_request_id("create-c");
  v1::Job created;
  ASSERT_TRUE(stub->CreateJob(Context().get(), create, &created).ok());
  v1::RegisterResponse a, b;
  ASSERT_TRUE(RegisterWithToken(*stub, "a", "tok", &a).ok());
  ASSERT_TRUE(RegisterWithToken(*stub, "b", "tok", &b).ok());
  const uint64_t fingerprint = core::NameFingerprint("a") + core::NameFingerprint("b");
  ASSERT_EQ(b.membership_fingerprint(), fingerprint);
  // The roster is written within about a second of the change.
  const std::string record = state + "/job-c.txtpb";
  ASSERT_TRUE(WaitUntil([&] {
    const std::string text = ReadAll(record);
    return text.find("roster: \"a\"") != std::string::npos &&
           text.find("roster: \"b\"") != std::string::npos;
  }));
  EXPECT_THAT(ReadAll(record), ::testing::Not(HasSubstr("tok\"")));
  ASSERT_TRUE((*first)->SignalAndWait(SIGKILL, absl::Seconds(10)).has_value());

  auto second = CoordinatorProcess::Start(Flags(state, port));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT((*second)->Stderr(), HasSubstr("job_restored job=c awaited_workers=2"));
  v1::GetJobRequest get;
  get.set_job("c");
  v1::Job job;
  ASSERT_TRUE(WaitUntil([&] { return stub->GetJob(Context().get(), get, &job).ok(); }));
  EXPECT_EQ(job.spec().policy().kind(), v1::POLICY_KIND_BSP);
  v1::RegisterResponse denied;
  EXPECT_EQ(RegisterWithToken(*stub, "a", "", &denied).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::Job again;
  EXPECT_TRUE(stub->CreateJob(Context().get(), create, &again).ok());  // A retry.

  v1::RegisterResponse a2, b2;
  ASSERT_TRUE(RegisterWithToken(*stub, "a", "tok", &a2).ok());
  v1::ReportIterationResponse reported;
  ASSERT_TRUE(
      stub->ReportIteration(Context().get(), ReportRequestFor("c", a2.worker_id(), 0, 1), &reported)
          .ok());
  auto barrier = std::async(std::launch::async, [&] {
    v1::BarrierResponse reply;
    grpc::Status status =
        stub->Barrier(Context().get(), BarrierRequestFor("c", a2.worker_id(), 0), &reply);
    return std::make_pair(status, reply);
  });
  ASSERT_TRUE(WaitUntil([&] {
    return stub->GetJob(Context().get(), get, &job).ok() &&
           job.barrier().arrived_worker_ids_size() == 1;
  }));
  // b joins the held round as a member: the barrier waits for it too.
  ASSERT_TRUE(RegisterWithToken(*stub, "b", "tok", &b2).ok());
  ASSERT_EQ(b2.round(), 0u);
  ASSERT_TRUE(
      stub->ReportIteration(Context().get(), ReportRequestFor("c", b2.worker_id(), 0, 1), &reported)
          .ok());
  v1::BarrierResponse b_released;
  ASSERT_TRUE(
      stub->Barrier(Context().get(), BarrierRequestFor("c", b2.worker_id(), 0), &b_released).ok());
  auto [status, released] = barrier.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(released.membership_fingerprint(), fingerprint);
  EXPECT_EQ(b_released.membership_fingerprint(), fingerprint);
  EXPECT_EQ(released.live_workers(), 2u);
}

TEST_F(RestartProcessTest, ACorruptStateFileStopsTheStartNamingTheFile) {
  const std::string state = dir_ + "/state";
  std::filesystem::create_directories(state);
  {
    std::ofstream out(state + "/job-x.txtpb");
    out << "# ebsp job record v1 sha256=0000\njob: \"x\"\n";
  }
  auto process = CoordinatorProcess::Start(Flags(state, 0));
  ASSERT_FALSE(process.ok());
  EXPECT_THAT(std::string(process.status().message()), HasSubstr(state + "/job-x.txtpb"));
  EXPECT_THAT(std::string(process.status().message()), HasSubstr("checksum"));
}

}  // namespace
}  // namespace ebsp::server::testing
