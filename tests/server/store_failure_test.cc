// What the coordinator answers when its job store refuses a write: the call
// fails with UNAVAILABLE and changes nothing, so what a restart brings back
// is what the clients were told. In process, on the handlers, over a
// MemoryJobStore (found by the service_handlers fuzz target: a DeleteJob
// answered OK although its record stayed, and the job came back at the
// next restart).
#include <gtest/gtest.h>

#include <memory>

#include "service/coordinator_service.h"
#include "service/metrics.h"
#include "service/proto_convert.h"
#include "tests/server/harness.h"
#include "tests/server/memory_job_store.h"

namespace ebsp::server::testing {
namespace {

class StoreFailureTest : public ::testing::Test {
 protected:
  void SetUp() override { Restart(); }

  // A new coordinator over the same store, as after a restart.
  void Restart() {
    service_.reset();
    service_ = std::make_unique<CoordinatorService>(TestOptions(), &clock_, &metrics_,
                                                    auth::AdminAuthorizer(), &store_);
    ASSERT_TRUE(service_->LoadStoredJobs().ok());
  }

  absl::Status CreateJob(const std::string& job) {
    v1::CreateJobRequest request;
    request.mutable_spec()->set_job(job);
    *request.mutable_spec()->mutable_policy() = Bsp();
    v1::Job reply;
    return service_->HandleCreateJob(request, &reply);
  }
  absl::Status DeleteJob(const std::string& job) {
    v1::DeleteJobRequest request;
    request.set_job(job);
    return service_->HandleDeleteJob(request);
  }
  bool Exists(const std::string& job) {
    v1::GetJobRequest request;
    request.set_job(job);
    v1::Job reply;
    return service_->HandleGetJob(request, &reply).ok();
  }

  ManualClock clock_;
  Metrics metrics_{8};
  MemoryJobStore store_;
  std::unique_ptr<CoordinatorService> service_;
};

TEST_F(StoreFailureTest, DeleteJobThatCannotBeUnstoredFailsAndKeepsTheJob) {
  ASSERT_TRUE(CreateJob("a").ok());
  store_.set_failing(true);
  const absl::Status deleted = DeleteJob("a");
  EXPECT_EQ(deleted.code(), absl::StatusCode::kUnavailable) << deleted;
  EXPECT_NE(deleted.message().find("\"a\""), absl::string_view::npos) << deleted;
  EXPECT_TRUE(Exists("a"));
  EXPECT_TRUE(store_.records().count("a") == 1);

  // Once the store writes again, the delete goes through and lasts.
  store_.set_failing(false);
  ASSERT_TRUE(DeleteJob("a").ok());
  EXPECT_FALSE(store_.records().count("a") == 1);
  Restart();
  EXPECT_FALSE(Exists("a"));
}

TEST_F(StoreFailureTest, AJobWhoseDeleteFailedStillStoresItsPolicyChanges) {
  ASSERT_TRUE(CreateJob("a").ok());
  store_.set_failing(true);
  ASSERT_FALSE(DeleteJob("a").ok());
  store_.set_failing(false);

  v1::UpdatePolicyRequest update;
  update.set_job("a");
  *update.mutable_policy() = Ebsp(6);
  v1::Job reply;
  ASSERT_TRUE(service_->HandleUpdatePolicy(update, &reply).ok());
  ASSERT_TRUE(store_.records().count("a") == 1);
  EXPECT_EQ(store_.records().at("a").policy().kind(), v1::POLICY_KIND_ELASTIC_BSP);
  EXPECT_EQ(store_.records().at("a").policy().lookahead(), 6u);
}

TEST_F(StoreFailureTest, CreateJobThatCannotBeStoredFailsAndCreatesNothing) {
  store_.set_failing(true);
  EXPECT_EQ(CreateJob("a").code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(Exists("a"));
  store_.set_failing(false);
  EXPECT_TRUE(CreateJob("a").ok());
}

}  // namespace
}  // namespace ebsp::server::testing
