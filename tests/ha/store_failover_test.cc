// HA and the job store in etcd: a replica loads the stored jobs when it is
// elected, losing the leadership never deletes a record, and only the
// leader's lease can write one (fencing in etcd). Two in-process replicas on
// a real etcd.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "service/ha/etcd_job_store.h"
#include "service/server.h"
#include "tests/ha/etcd_process.h"
#include "tests/server/harness.h"

namespace ebsp::server::testing {
namespace {

using ::ebsp::testing::EtcdProcess;

class StoreFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EtcdProcess>> etcd = EtcdProcess::Start();
    ASSERT_TRUE(etcd.ok()) << etcd.status();
    etcd_ = *std::move(etcd);
    ha::EtcdOptions options;
    options.endpoints = {etcd_->endpoint()};
    absl::StatusOr<std::unique_ptr<ha::EtcdClient>> client = ha::EtcdClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    // What the test reads with; it leads nothing, so it can write nothing.
    store_ = std::make_unique<ha::EtcdJobStore>(client_.get(), kPrefix, kLeaderKey);
  }

  std::unique_ptr<CoordinatorServer> Replica() {
    ServerOptions options = TestOptions();
    options.ha.etcd_endpoints = etcd_->endpoint();
    options.ha.etcd_prefix = kPrefix;
    options.ha.lease_ttl = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<CoordinatorServer>> server = CoordinatorServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  static constexpr char kPrefix[] = "/ebsp/store-failover";
  static constexpr char kLeaderKey[] = "/ebsp/store-failover/leader";
  std::unique_ptr<EtcdProcess> etcd_;
  std::unique_ptr<ha::EtcdClient> client_;
  std::unique_ptr<ha::EtcdJobStore> store_;
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
  absl::StatusOr<std::vector<JobRecord>> records = store_->LoadAll();
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
  records = store_->LoadAll();
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->size(), 1u);
}

// Fencing of the store itself: a replica that does not lead writes nothing,
// and a leader's store stops writing the moment it is deposed, even for a
// call admitted just before (the write is refused by etcd, not by the caller).
TEST_F(StoreFailoverTest, OnlyTheLeadersLeaseWritesJobRecords) {
  JobRecord record;
  record.set_job("fenced");
  absl::Status refused = store_->Put(record);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;

  std::unique_ptr<CoordinatorServer> leader = Replica();
  ASSERT_NE(leader, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return leader->IsLeader(); }, absl::Seconds(20)));
  std::unique_ptr<v1::Coordinator::Stub> stub = Connect(leader->grpc_port());
  v1::CreateJobRequest create;
  create.mutable_spec()->set_job("fenced");
  create.mutable_spec()->mutable_policy()->set_kind(v1::POLICY_KIND_BSP);
  v1::Job created;
  ASSERT_TRUE(stub->CreateJob(Context().get(), create, &created).ok());
  absl::StatusOr<std::vector<JobRecord>> records = store_->LoadAll();
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1u);

  // Someone else takes the leadership key (as a successor would once the
  // lease is gone): the old leader's guarded writes no longer apply.
  ASSERT_TRUE(client_->Delete(kLeaderKey).ok());
  absl::StatusOr<int64_t> other = client_->GrantLease(absl::Seconds(30));
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(client_->CreateIfAbsent(kLeaderKey, "successor:1", *other).ok());
  v1::DeleteJobRequest remove;
  remove.set_job("fenced");
  v1::DeleteJobResponse removed;
  // Either the replica already noticed (UNAVAILABLE, not the leader) or its
  // delete reaches etcd and is refused there; the record stays either way.
  stub->DeleteJob(Context().get(), remove, &removed);
  records = store_->LoadAll();
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].job(), "fenced");
  ASSERT_TRUE(WaitUntil([&] { return !leader->IsLeader(); }, absl::Seconds(20)));
}

}  // namespace
}  // namespace ebsp::server::testing
