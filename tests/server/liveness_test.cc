// Leases, deadlines, deletion, cancellation and shutdown as seen by a worker
// parked at a barrier.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <utility>

#include "tests/server/server_fixture.h"

namespace ebsp::server::testing {
namespace {

using ::testing::HasSubstr;

class LivenessTest : public ServerTest {
 protected:
  // Registers a (BSP) and b, then parks a at the barrier of round 0 in the
  // background. Returns the future of a's Barrier call.
  std::future<std::pair<grpc::Status, v1::BarrierResponse>> ParkFirstWorker(
      const std::string& job, v1::RegisterResponse* a, v1::RegisterResponse* b,
      absl::Duration deadline = kRpcDeadline) {
    *a = MustRegister(job, "a", Bsp());
    *b = MustRegister(job, "b");
    v1::ReportIterationResponse reply;
    EXPECT_TRUE(Report(job, a->worker_id(), 0, 1, &reply).ok());
    const uint64_t id = a->worker_id();
    auto call = std::async(std::launch::async, [this, job, id, deadline] {
      v1::BarrierResponse r;
      grpc::Status s = Barrier(job, id, 0, &r, deadline);
      return std::make_pair(s, r);
    });
    EXPECT_TRUE(WaitUntil([&] { return Arrived(job, id); }));
    return call;
  }
};

TEST_F(LivenessTest, GetJobShowsArrivedAndMissingWhileTheBarrierWaits) {
  v1::RegisterResponse a, b;
  auto call = ParkFirstWorker("j", &a, &b);
  const v1::Job job = MustGetJob("j");
  ASSERT_EQ(job.barrier().arrived_worker_ids_size(), 1);
  EXPECT_EQ(job.barrier().arrived_worker_ids(0), a.worker_id());
  ASSERT_EQ(job.barrier().missing_worker_ids_size(), 1);
  EXPECT_EQ(job.barrier().missing_worker_ids(0), b.worker_id());
  EXPECT_EQ(job.barrier().missing_worker_names(0), "b");
  // b finishes its iteration and arrives: both are released into round 1.
  v1::ReportIterationResponse reply;
  ASSERT_TRUE(Report("j", b.worker_id(), 0, 1, &reply).ok());
  v1::BarrierResponse released;
  ASSERT_TRUE(Barrier("j", b.worker_id(), 0, &released).ok());
  auto [status, a_reply] = call.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(a_reply.round(), 1u);
  EXPECT_EQ(released.round(), 1u);
}

TEST_F(LivenessTest, EvictionOfASilentWorkerReleasesTheBarrier) {
  ServerOptions options = TestOptions();
  options.heartbeat_timeout = absl::Seconds(10);
  Restart(options, &clock_);
  v1::RegisterResponse a, b;
  auto call = ParkFirstWorker("j", &a, &b);
  // a heartbeats at +6 s; b stays silent, so at +12 s only b's lease is over.
  clock_.Advance(absl::Seconds(6));
  ASSERT_TRUE(Heartbeat("j", a.worker_id()).ok());
  clock_.Advance(absl::Seconds(6));
  ASSERT_EQ(call.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "the ticker did not evict b";
  auto [status, reply] = call.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.round(), 1u);
  EXPECT_EQ(reply.live_workers(), 1u);
  EXPECT_DOUBLE_EQ(reply.waited_seconds(), 12.0);
  const v1::Job job = MustGetJob("j");
  EXPECT_EQ(job.evictions_total(), 1u);
  v1::ReportIterationResponse late;
  const grpc::Status report = Report("j", b.worker_id(), 0, 1, &late);
  EXPECT_EQ(report.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(report.error_message(), HasSubstr("evicted"));
  EXPECT_THAT(report.error_message(), HasSubstr("register again"));
}

TEST_F(LivenessTest, EvictedWaitingWorkerGetsNotFoundTellingItToRegisterAgain) {
  Restart(TestOptions(), &clock_);
  v1::RegisterResponse a, b;
  auto call = ParkFirstWorker("j", &a, &b);
  // b heartbeats (alive but slow); a, parked and silent, expires.
  clock_.Advance(absl::Seconds(6));
  ASSERT_TRUE(Heartbeat("j", b.worker_id()).ok());
  clock_.Advance(absl::Seconds(6));
  ASSERT_EQ(call.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto [status, reply] = call.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("evicted: lease expired after 10s"));
  EXPECT_THAT(status.error_message(), HasSubstr("register again"));
  // b is alone now and no longer waits for a.
  EXPECT_EQ(MustGetJob("j").workers_size(), 1);
}

TEST_F(LivenessTest, BarrierDeadlineNamesTheMissingWorker) {
  ServerOptions options = TestOptions();
  options.heartbeat_timeout = absl::Hours(1);  // Only the deadline matters.
  options.barrier_deadline = absl::Seconds(600);
  Restart(options, &clock_);
  v1::RegisterResponse a, b;
  auto call = ParkFirstWorker("j", &a, &b);
  clock_.Advance(absl::Seconds(599));
  // Not yet: the ticker runs every 20 ms; give it several passes.
  EXPECT_EQ(call.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(call.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto [status, reply] = call.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(status.error_message(), HasSubstr("round 0 not released after 10m"));
  EXPECT_THAT(status.error_message(),
              HasSubstr("missing workers: b (" + std::to_string(b.worker_id()) + ")"));
  // The arrival still counts: when b arrives, a's retry is answered.
  v1::ReportIterationResponse rep;
  ASSERT_TRUE(Report("j", b.worker_id(), 0, 1, &rep).ok());
  v1::BarrierResponse released;
  ASSERT_TRUE(Barrier("j", b.worker_id(), 0, &released).ok());
  v1::BarrierResponse retried;
  ASSERT_TRUE(Barrier("j", a.worker_id(), 0, &retried).ok());
  EXPECT_EQ(retried.round(), 1u);
}

TEST_F(LivenessTest, ClientDeadlineCancelsTheWaitAndARetryIsAccepted) {
  v1::RegisterResponse a, b;
  auto call = ParkFirstWorker("j", &a, &b, absl::Milliseconds(200));
  auto [status, reply] = call.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server dropped the parked call but kept the arrival.
  EXPECT_EQ(MustGetJob("j").barrier().arrived_worker_ids_size(), 1);
  auto retry = std::async(std::launch::async, [&] {
    v1::BarrierResponse r;
    grpc::Status s = Barrier("j", a.worker_id(), 0, &r);
    return std::make_pair(s, r);
  });
  v1::ReportIterationResponse rep;
  ASSERT_TRUE(Report("j", b.worker_id(), 0, 1, &rep).ok());
  v1::BarrierResponse released;
  ASSERT_TRUE(Barrier("j", b.worker_id(), 0, &released).ok());
  auto [retry_status, retry_reply] = retry.get();
  ASSERT_TRUE(retry_status.ok()) << retry_status.error_message();
  EXPECT_EQ(retry_reply.round(), 1u);
}

TEST_F(LivenessTest, DeleteJobEndsWaitingCallsWithNotFound) {
  v1::RegisterResponse a, b;
  auto call = ParkFirstWorker("j", &a, &b);
  v1::DeleteJobRequest request;
  request.set_job("j");
  v1::DeleteJobResponse reply;
  ASSERT_TRUE(stub_->DeleteJob(Context().get(), request, &reply).ok());
  auto [status, barrier] = call.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("\"j\" was deleted"));
  v1::GetJobRequest get;
  get.set_job("j");
  v1::Job job;
  EXPECT_EQ(stub_->GetJob(Context().get(), get, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  // The name is free again.
  EXPECT_EQ(MustRegister("j", "a").live_workers(), 1u);
}

TEST_F(LivenessTest, ShutdownEndsWaitingCallsWithUnavailable) {
  v1::RegisterResponse a, b;
  auto call = ParkFirstWorker("j", &a, &b);
  server_->Shutdown();
  auto [status, reply] = call.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(LivenessTest, MembershipEpochInRepliesFollowsJoinsLeavesAndEvictions) {
  Restart(TestOptions(), &clock_);
  const v1::RegisterResponse a = MustRegister("e", "a", LocalSteps(100));
  const v1::RegisterResponse b = MustRegister("e", "b");
  const v1::RegisterResponse c = MustRegister("e", "c");
  EXPECT_EQ(c.membership_epoch(), a.membership_epoch() + 2);
  v1::ReportIterationResponse reply;
  ASSERT_TRUE(Report("e", a.worker_id(), 0, 1, &reply).ok());
  EXPECT_EQ(reply.membership_epoch(), c.membership_epoch());

  ASSERT_TRUE(Leave("e", c.worker_id()).ok());
  ASSERT_TRUE(Report("e", a.worker_id(), 0, 2, &reply).ok());
  EXPECT_EQ(reply.membership_epoch(), c.membership_epoch() + 1);
  EXPECT_EQ(reply.membership_epoch(), MustGetJob("e").membership_epoch());

  // b goes silent and is evicted; a keeps reporting.
  clock_.Advance(absl::Seconds(6));
  ASSERT_TRUE(Report("e", a.worker_id(), 0, 3, &reply).ok());
  clock_.Advance(absl::Seconds(6));
  ASSERT_TRUE(WaitUntil([&] { return MustGetJob("e").workers_size() == 1; }));
  ASSERT_TRUE(Report("e", a.worker_id(), 0, 4, &reply).ok());
  EXPECT_EQ(reply.membership_epoch(), c.membership_epoch() + 2);
  EXPECT_EQ(reply.membership_epoch(), MustGetJob("e").membership_epoch());
}

TEST_F(LivenessTest, BarrierReleasedByALeaveCarriesTheEpochAfterIt) {
  v1::RegisterResponse a, b;
  auto call = ParkFirstWorker("j", &a, &b);
  const uint64_t joined = b.membership_epoch();
  ASSERT_TRUE(Leave("j", b.worker_id()).ok());
  auto [status, reply] = call.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.round(), 1u);
  EXPECT_EQ(reply.live_workers(), 1u);
  EXPECT_EQ(reply.membership_epoch(), joined + 1);
  EXPECT_EQ(reply.membership_epoch(), MustGetJob("j").membership_epoch());

  v1::HeartbeatResponse beat;
  ASSERT_TRUE(Heartbeat("j", a.worker_id(), &beat).ok());
  EXPECT_EQ(beat.membership_epoch(), joined + 1);
}

TEST_F(LivenessTest, HeartbeatReportsTheRemainingLease) {
  const v1::RegisterResponse w = MustRegister("j", "w");
  EXPECT_DOUBLE_EQ(w.heartbeat_timeout_seconds(), 10.0);
  EXPECT_DOUBLE_EQ(w.barrier_deadline_seconds(), 600.0);
  v1::HeartbeatResponse reply;
  ASSERT_TRUE(Heartbeat("j", w.worker_id(), &reply).ok());
  EXPECT_GT(reply.lease_remaining_seconds(), 9.0);
  EXPECT_LE(reply.lease_remaining_seconds(), 10.0);
  EXPECT_EQ(reply.membership_epoch(), w.membership_epoch());
}

}  // namespace
}  // namespace ebsp::server::testing
