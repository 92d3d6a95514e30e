// Idempotent retries through the real gRPC server, per method of the proto's
// "Retries and idempotency": the original is applied, the retry gets the
// same answer, and the job's state changed once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <string>

#include "lib/core/job/membership_fingerprint.h"
#include "tests/server/server_fixture.h"

namespace ebsp::server::testing {
namespace {

using ::testing::HasSubstr;

class RetryTest : public ServerTest {
 protected:
  grpc::Status RegisterWithId(const std::string& job, const std::string& name,
                              const std::string& request_id, v1::RegisterResponse* reply) {
    v1::RegisterRequest request = RegisterRequestFor(job, name, Bsp());
    request.set_request_id(request_id);
    return stub_->Register(Context().get(), request, reply);
  }
  grpc::Status CreateJob(const std::string& job, const std::string& token,
                         const std::string& request_id, v1::Job* reply) {
    v1::CreateJobRequest request;
    request.mutable_spec()->set_job(job);
    *request.mutable_spec()->mutable_policy() = Bsp();
    request.mutable_spec()->set_auth_token(token);
    request.set_request_id(request_id);
    return stub_->CreateJob(Context().get(), request, reply);
  }
  uint64_t IterationsOf(const std::string& job_name, uint64_t worker) {
    const v1::Job job = MustGetJob(job_name);  // Outlives the loop.
    for (const v1::WorkerStatus& w : job.workers()) {
      if (w.worker_id() == worker) return w.iterations_total();
    }
    return 0;
  }
};

TEST_F(RetryTest, RegisterRetryGetsTheOriginalReplyAndRegistersOnce) {
  v1::RegisterResponse first;
  ASSERT_TRUE(RegisterWithId("j", "a", "req-a-1", &first).ok());
  v1::RegisterResponse again;
  const grpc::Status status = RegisterWithId("j", "a", "req-a-1", &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(first.membership_fingerprint(), core::NameFingerprint("a"));
  const v1::Job job = MustGetJob("j");
  EXPECT_EQ(job.workers_size(), 1);
  EXPECT_EQ(job.membership_epoch(), 1u);
  // Without the request id the same name is ALREADY_EXISTS, as before.
  v1::RegisterResponse plain;
  EXPECT_EQ(
      stub_->Register(Context().get(), RegisterRequestFor("j", "a", Bsp()), &plain).error_code(),
      grpc::StatusCode::ALREADY_EXISTS);
  v1::RegisterResponse bad;
  EXPECT_EQ(RegisterWithId("j", "b", "not a valid id", &bad).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RetryTest, ReportRetryGetsTheSameDirectiveAndCountsOnce) {
  const uint64_t a = MustRegister("j", "a", LocalSteps(3)).worker_id();
  MustRegister("j", "b", LocalSteps(3));
  v1::ReportIterationResponse first, again;
  ASSERT_TRUE(Report("j", a, 0, 1, &first).ok());
  const grpc::Status status = Report("j", a, 0, 1, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(first.membership_fingerprint(),
            core::NameFingerprint("a") + core::NameFingerprint("b"));
  EXPECT_EQ(IterationsOf("j", a), 1u);
  // Over a stream too.
  std::unique_ptr<grpc::ClientContext> ctx = Context();
  auto stream = stub_->StreamReports(ctx.get());
  v1::ReportIterationResponse s1, s2;
  ASSERT_TRUE(stream->Write(ReportRequestFor("j", a, 0, 2)));
  ASSERT_TRUE(stream->Read(&s1));
  ASSERT_TRUE(stream->Write(ReportRequestFor("j", a, 0, 2)));
  ASSERT_TRUE(stream->Read(&s2));
  EXPECT_EQ(s2.SerializeAsString(), s1.SerializeAsString());
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(IterationsOf("j", a), 2u);
}

TEST_F(RetryTest, BarrierRetryAfterTheReleaseGetsTheRelease) {
  const uint64_t a = MustRegister("j", "a").worker_id();
  const uint64_t b = MustRegister("j", "b").worker_id();
  v1::ReportIterationResponse ignored;
  ASSERT_TRUE(Report("j", a, 0, 1, &ignored).ok());
  ASSERT_TRUE(Report("j", b, 0, 1, &ignored).ok());
  auto first_a = std::async(std::launch::async, [&] {
    v1::BarrierResponse reply;
    grpc::Status status = Barrier("j", a, 0, &reply);
    return std::make_pair(status, reply);
  });
  ASSERT_TRUE(WaitUntil([&] { return Arrived("j", a); }));
  v1::BarrierResponse released_b;
  ASSERT_TRUE(Barrier("j", b, 0, &released_b).ok());
  auto [status_a, released_a] = first_a.get();
  ASSERT_TRUE(status_a.ok()) << status_a.error_message();
  EXPECT_EQ(released_a.round(), 1u);
  // a's reply was "lost": it calls Barrier(0) again and gets round 1.
  v1::BarrierResponse again;
  const grpc::Status status = Barrier("j", a, 0, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(again.round(), released_a.round());
  EXPECT_EQ(again.target(), released_a.target());
  EXPECT_EQ(again.membership_fingerprint(), released_a.membership_fingerprint());
  EXPECT_EQ(again.membership_fingerprint(),
            core::NameFingerprint("a") + core::NameFingerprint("b"));
  const v1::Job job = MustGetJob("j");
  EXPECT_EQ(job.rounds_completed(), 1u);
  EXPECT_EQ(job.round(), 1u);
}

TEST_F(RetryTest, WaitForClockRetryAfterTheReleaseGetsTheRelease) {
  const uint64_t fast = MustRegister("s", "fast", Ssp(0)).worker_id();
  const uint64_t slow = MustRegister("s", "slow", Ssp(0)).worker_id();
  v1::ReportIterationResponse reply;
  ASSERT_TRUE(Report("s", fast, 0, 1, &reply).ok());
  ASSERT_EQ(reply.directive(), v1::DIRECTIVE_WAIT);
  v1::WaitForClockRequest wait;
  wait.set_job("s");
  wait.set_worker_id(fast);
  auto first = std::async(std::launch::async, [&] {
    v1::WaitForClockResponse r;
    grpc::Status status = stub_->WaitForClock(Context().get(), wait, &r);
    return std::make_pair(status, r);
  });
  ASSERT_TRUE(WaitUntil([&] {
    const v1::Job job = MustGetJob("s");  // Outlives the loop.
    for (const v1::WorkerStatus& w : job.workers()) {
      if (w.worker_id() == fast) return w.state() == v1::WORKER_STATE_WAITING_CLOCK;
    }
    return false;
  }));
  ASSERT_TRUE(Report("s", slow, 0, 1, &reply).ok());
  auto [status, released] = first.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::WaitForClockResponse again;
  const grpc::Status retry = stub_->WaitForClock(Context().get(), wait, &again);
  ASSERT_TRUE(retry.ok()) << retry.error_message();
  EXPECT_EQ(again.own_clock(), released.own_clock());
  EXPECT_EQ(again.slowest_clock(), released.slowest_clock());
}

TEST_F(RetryTest, LeaveRetryIsOkAndLeavesOnce) {
  const uint64_t a = MustRegister("j", "a").worker_id();
  MustRegister("j", "b");
  ASSERT_TRUE(Leave("j", a).ok());
  const grpc::Status again = Leave("j", a);
  EXPECT_TRUE(again.ok()) << again.error_message();
  const v1::Job job = MustGetJob("j");
  EXPECT_EQ(job.workers_size(), 1);
  EXPECT_EQ(job.membership_epoch(), 3u);  // Two joins, one leave.
  EXPECT_EQ(job.membership_fingerprint(), core::NameFingerprint("b"));
}

TEST_F(RetryTest, CreateJobRetryGetsTheJobAndAnotherCallerStillGetsAlreadyExists) {
  v1::Job first;
  ASSERT_TRUE(CreateJob("c", "tok", "create-1", &first).ok());
  v1::Job again;
  const grpc::Status retry = CreateJob("c", "tok", "create-1", &again);
  ASSERT_TRUE(retry.ok()) << retry.error_message();
  EXPECT_EQ(again.spec().job(), "c");
  EXPECT_EQ(again.spec().policy().kind(), v1::POLICY_KIND_BSP);
  v1::Job other;
  EXPECT_EQ(CreateJob("c", "tok", "create-2", &other).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(CreateJob("c", "other-token", "create-1", &other).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(CreateJob("c", "tok", "", &other).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(stub_->ListJobs(Context().get(), v1::ListJobsRequest(), &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 1);
}

TEST_F(RetryTest, RepliesCarryTheFingerprintOfTheLiveNames) {
  const uint64_t a = MustRegister("j", "a").worker_id();
  const v1::RegisterResponse b = MustRegister("j", "b");
  const uint64_t both = core::NameFingerprint("a") + core::NameFingerprint("b");
  EXPECT_EQ(b.membership_fingerprint(), both);
  v1::HeartbeatResponse heartbeat;
  ASSERT_TRUE(Heartbeat("j", a, &heartbeat).ok());
  EXPECT_EQ(heartbeat.membership_fingerprint(), both);
  EXPECT_EQ(MustGetJob("j").membership_fingerprint(), both);
}

}  // namespace
}  // namespace ebsp::server::testing
