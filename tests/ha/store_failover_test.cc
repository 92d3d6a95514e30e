// HA and the job store: a replica loads the stored jobs when it is elected,
// and losing the leadership never deletes a record. Two in-process replicas
// on a real etcd share one --state_dir (a volume both mount), so the file
// store stands in for the shared store the etcd backend will be.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "service/server.h"
#include "service/store/file_job_store.h"
#include "tests/ha/etcd_process.h"
#include "tests/server/harness.h"

namespace ebsp::server::testing {
namespace {

using ::ebsp::testing::EtcdProcess;

class StoreFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "ebsp-ha-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    absl::StatusOr<std::unique_ptr<EtcdProcess>> etcd = EtcdProcess::Start();
    ASSERT_TRUE(etcd.ok()) << etcd.status();
    etcd_ = *std::move(etcd);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<CoordinatorServer> Replica() {
    ServerOptions options = TestOptions();
    options.state_dir = dir_ + "/state";
    options.ha.etcd_endpoints = etcd_->endpoint();
    options.ha.etcd_prefix = "/ebsp/store-failover";
    options.ha.lease_ttl = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<CoordinatorServer>> server = CoordinatorServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  std::string dir_;
  std::unique_ptr<EtcdProcess> etcd_;
};

TEST_F(StoreFailoverTest, TheNewLeaderServesTheJobsTheOldOneStoredAndDepositionDeletesNone) {
  std::unique_ptr<CoordinatorServer> first = Replica();
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return first->IsLeader(); }, absl::Seconds(20)));
  std::unique_ptr<CoordinatorServer> second = Replica();
  ASSERT_NE(second, nullptr);
  EXPECT_FALSE(second->IsLeader());

  std::unique_ptr<v1::Coordinator::Stub> to_first = Connect(first->grpc_port());
  v1::CreateJobRequest create;
  create.mutable_spec()->set_job("kept");
  create.mutable_spec()->mutable_policy()->set_kind(v1::POLICY_KIND_BSP);
  create.mutable_spec()->set_auth_token("secret");
  create.set_request_id("create-kept");
  v1::Job created;
  ASSERT_TRUE(to_first->CreateJob(Context().get(), create, &created).ok());
  v1::RegisterRequest join;
  join.set_job("kept");
  join.set_worker_name("w0");
  join.set_auth_token("secret");
  v1::RegisterResponse joined;
  ASSERT_TRUE(to_first->Register(Context().get(), join, &joined).ok());

  // The leader resigns (its shutdown): the standby takes over at once.
  first->Shutdown();
  ASSERT_TRUE(WaitUntil([&] { return second->IsLeader(); }, absl::Seconds(20)));

  // Deposition dropped the jobs from the old leader, not from the store.
  absl::StatusOr<std::unique_ptr<FileJobStore>> store = FileJobStore::Open(dir_ + "/state");
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::vector<JobRecord>> records = (*store)->LoadAll();
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].job(), "kept");
  ASSERT_EQ((*records)[0].roster_size(), 1);  // The names the hold awaits.
  EXPECT_EQ((*records)[0].roster(0), "w0");

  // The new leader has the job with its token, its CreateJob retry and the
  // restart hold awaiting the old roster.
  std::unique_ptr<v1::Coordinator::Stub> to_second = Connect(second->grpc_port());
  v1::GetJobRequest get;
  get.set_job("kept");
  v1::Job job;
  ASSERT_TRUE(to_second->GetJob(Context().get(), get, &job).ok());
  EXPECT_EQ(job.spec().policy().kind(), v1::POLICY_KIND_BSP);
  v1::Job again;
  EXPECT_TRUE(to_second->CreateJob(Context().get(), create, &again).ok());
  v1::RegisterRequest wrong = join;
  wrong.set_auth_token("wrong");
  v1::RegisterResponse refused;
  EXPECT_EQ(to_second->Register(Context().get(), wrong, &refused).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::RegisterResponse back;
  ASSERT_TRUE(to_second->Register(Context().get(), join, &back).ok());
  EXPECT_EQ(back.membership_fingerprint(), joined.membership_fingerprint());

  second->Shutdown();
  records = (*store)->LoadAll();
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->size(), 1u);
}

}  // namespace
}  // namespace ebsp::server::testing
