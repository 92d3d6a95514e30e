// Full rounds through the real gRPC server with concurrent workers, one test
// per policy, plus joins mid-round and the streaming report path.
#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "tests/server/server_fixture.h"

namespace ebsp::server::testing {
namespace {

using RoundsTest = ServerTest;

// Runs `workers` threads of `body(i, registered)` and returns their results.
// `registered` blocks until every worker has registered, so all of them are
// members from round 0 on.
template <typename Body>
std::vector<WorkerRun> RunConcurrently(int workers, Body body) {
  auto* all_registered = new absl::Barrier(workers);  // Deletes itself.
  std::function<void()> registered = [all_registered] {
    if (all_registered->Block()) delete all_registered;
  };
  std::vector<std::future<WorkerRun>> futures;
  futures.reserve(workers);
  for (int i = 0; i < workers; ++i) {
    futures.push_back(
        std::async(std::launch::async, [&body, &registered, i] { return body(i, registered); }));
  }
  std::vector<WorkerRun> runs;
  for (auto& f : futures) runs.push_back(f.get());
  return runs;
}

TEST_F(RoundsTest, BspSyncsEveryWorkerAfterEveryIteration) {
  constexpr int kWorkers = 32;
  constexpr int kRounds = 15;
  std::vector<WorkerRun> runs =
      RunConcurrently(kWorkers, [&](int i, const std::function<void()>& registered) {
        return RunRoundWorker(*stub_, "bsp", absl::StrCat("host:", i), Bsp(), kRounds, registered);
      });
  for (const WorkerRun& run : runs) {
    ASSERT_TRUE(run.status.ok()) << run.status.error_message();
    EXPECT_EQ(run.rounds, kRounds);
    EXPECT_EQ(run.iterations, static_cast<uint64_t>(kRounds));
    for (int at : run.sync_at) EXPECT_EQ(at, 1);
  }
  const v1::Job job = MustGetJob("bsp");
  EXPECT_EQ(job.rounds_completed(), static_cast<uint64_t>(kRounds));
  EXPECT_EQ(job.workers_size(), 0);  // Every worker left at the end.
}

TEST_F(RoundsTest, LocalStepsSyncsEveryWorkerAfterHIterations) {
  constexpr int kWorkers = 12;
  std::vector<WorkerRun> runs =
      RunConcurrently(kWorkers, [&](int i, const std::function<void()>& registered) {
        return RunRoundWorker(*stub_, "local", absl::StrCat("w", i), LocalSteps(3), 6, registered);
      });
  for (const WorkerRun& run : runs) {
    ASSERT_TRUE(run.status.ok()) << run.status.error_message();
    EXPECT_EQ(run.rounds, 6);
    for (int at : run.sync_at) EXPECT_EQ(at, 3);
    for (int target : run.targets) EXPECT_EQ(target, 3);
  }
}

TEST_F(RoundsTest, ElasticBspSyncsEachWorkerAtItsTargetWithinLookahead) {
  constexpr int kWorkers = 16;
  constexpr int kLookahead = 6;
  std::vector<WorkerRun> runs =
      RunConcurrently(kWorkers, [&](int i, const std::function<void()>& registered) {
        return RunRoundWorker(*stub_, "ebsp", absl::StrCat("gpu-", i), Ebsp(kLookahead), 10,
                              registered);
      });
  for (const WorkerRun& run : runs) {
    ASSERT_TRUE(run.status.ok()) << run.status.error_message();
    EXPECT_EQ(run.rounds, 10);
    ASSERT_EQ(run.sync_at.size(), run.targets.size());
    for (size_t r = 0; r < run.sync_at.size(); ++r) {
      EXPECT_EQ(run.sync_at[r], run.targets[r]);
      EXPECT_GE(run.targets[r], 1);
      EXPECT_LE(run.targets[r], kLookahead);
    }
  }
  const v1::Job job = MustGetJob("ebsp");
  EXPECT_EQ(job.spec().policy().kind(), v1::POLICY_KIND_ELASTIC_BSP);
  EXPECT_EQ(job.spec().policy().lookahead(), static_cast<uint32_t>(kLookahead));
}

TEST_F(RoundsTest, SspKeepsEveryWorkerWithinStalenessOfTheSlowest) {
  constexpr int kWorkers = 8;
  constexpr int kStaleness = 2;
  std::vector<WorkerRun> runs =
      RunConcurrently(kWorkers, [&](int i, const std::function<void()>& registered) {
        return RunClockWorker(*stub_, "ssp", absl::StrCat("w", i), Ssp(kStaleness), 40, registered);
      });
  for (const WorkerRun& run : runs) {
    ASSERT_TRUE(run.status.ok()) << run.status.error_message();
    EXPECT_EQ(run.iterations, 40u);
    EXPECT_LE(run.max_lead, kStaleness);
  }
}

TEST_F(RoundsTest, SspWakeupOfALateJoinerCarriesItsClockNotItsIterationCount) {
  const v1::RegisterResponse a = MustRegister("late", "a", Ssp(1));
  const v1::RegisterResponse b = MustRegister("late", "b");
  v1::ReportIterationResponse reply;
  for (uint32_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(Report("late", a.worker_id(), 0, i, &reply).ok());  // Clock 5.
  }
  for (uint32_t i = 1; i <= 4; ++i) {
    ASSERT_TRUE(Report("late", b.worker_id(), 0, i, &reply).ok());  // Clock 4.
  }
  const v1::RegisterResponse c = MustRegister("late", "c");  // Starts at 4.
  ASSERT_TRUE(Report("late", c.worker_id(), 0, 1, &reply).ok());
  ASSERT_EQ(reply.directive(), v1::DIRECTIVE_CONTINUE);
  ASSERT_TRUE(Report("late", c.worker_id(), 0, 2, &reply).ok());  // Clock 6.
  ASSERT_EQ(reply.directive(), v1::DIRECTIVE_WAIT);

  const uint64_t waiter = c.worker_id();
  auto wait = std::async(std::launch::async, [this, waiter] {
    v1::WaitForClockRequest request;
    request.set_job("late");
    request.set_worker_id(waiter);
    v1::WaitForClockResponse woke;
    grpc::Status status = stub_->WaitForClock(Context().get(), request, &woke);
    return std::make_pair(status, woke);
  });
  ASSERT_TRUE(WaitUntil([&] {
    const v1::Job job = MustGetJob("late");  // Outlives the loop.
    for (const v1::WorkerStatus& w : job.workers()) {
      if (w.worker_id() == waiter) return w.state() == v1::WORKER_STATE_WAITING_CLOCK;
    }
    return false;
  }));
  // b reaching clock 5 brings c (clock 6) within s = 1 of the slowest.
  ASSERT_TRUE(Report("late", b.worker_id(), 0, 5, &reply).ok());
  auto [status, woke] = wait.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Iteration totals would read 2 and 2 (c's own is the smallest total).
  EXPECT_EQ(woke.own_clock(), 6u);
  EXPECT_EQ(woke.slowest_clock(), 5u);
}

TEST_F(RoundsTest, AspNeverAsksAWorkerToWaitOrSync) {
  std::vector<WorkerRun> runs =
      RunConcurrently(8, [&](int i, const std::function<void()>& registered) {
        return RunClockWorker(*stub_, "asp", absl::StrCat("w", i), Asp(), 50, registered);
      });
  for (const WorkerRun& run : runs) {
    ASSERT_TRUE(run.status.ok()) << run.status.error_message();
    EXPECT_EQ(run.iterations, 50u);
    EXPECT_EQ(run.waits, 0);
  }
  const v1::Job job = MustGetJob("asp");
  EXPECT_EQ(job.round(), 0u);
  EXPECT_EQ(job.rounds_completed(), 0u);
}

TEST_F(RoundsTest, WorkerJoiningMidRoundStartsAtTheNextRound) {
  const v1::RegisterResponse a = MustRegister("join", "a", LocalSteps(2));
  const v1::RegisterResponse b = MustRegister("join", "b", LocalSteps(2));
  v1::ReportIterationResponse reply;
  ASSERT_TRUE(Report("join", a.worker_id(), 0, 1, &reply).ok());

  const v1::RegisterResponse c = MustRegister("join", "c");
  EXPECT_EQ(c.state(), v1::WORKER_STATE_PENDING);
  EXPECT_EQ(c.round(), 1u);
  // The newcomer waits at the barrier of the running round; its arrival does
  // not hold the barrier back.
  auto c_barrier = std::async(std::launch::async, [&] {
    v1::BarrierResponse r;
    grpc::Status s = Barrier("join", c.worker_id(), c.round() - 1, &r);
    return std::make_pair(s, r);
  });
  auto a_barrier = std::async(std::launch::async, [&] {
    v1::ReportIterationResponse rep;
    EXPECT_TRUE(Report("join", a.worker_id(), 0, 2, &rep).ok());
    EXPECT_EQ(rep.directive(), v1::DIRECTIVE_SYNC_NOW);
    v1::BarrierResponse r;
    grpc::Status s = Barrier("join", a.worker_id(), 0, &r);
    return std::make_pair(s, r);
  });
  ASSERT_TRUE(Report("join", b.worker_id(), 0, 1, &reply).ok());
  ASSERT_TRUE(Report("join", b.worker_id(), 0, 2, &reply).ok());
  EXPECT_EQ(reply.directive(), v1::DIRECTIVE_SYNC_NOW);
  v1::BarrierResponse b_reply;
  ASSERT_TRUE(Barrier("join", b.worker_id(), 0, &b_reply).ok());

  auto [a_status, a_reply] = a_barrier.get();
  auto [c_status, c_reply] = c_barrier.get();
  ASSERT_TRUE(a_status.ok()) << a_status.error_message();
  ASSERT_TRUE(c_status.ok()) << c_status.error_message();
  EXPECT_EQ(b_reply.round(), 1u);
  EXPECT_EQ(c_reply.round(), 1u);
  EXPECT_EQ(c_reply.target(), 2u);
  EXPECT_EQ(b_reply.live_workers(), 3u);
  // From round 1 the newcomer is a member like the others.
  ASSERT_TRUE(Report("join", c.worker_id(), 1, 1, &reply).ok());
  const v1::Job job = MustGetJob("join");
  EXPECT_EQ(job.round(), 1u);
  EXPECT_EQ(job.barrier().missing_worker_ids_size(), 3);
}

TEST_F(RoundsTest, PolicyChangeMidRoundTakesEffectAtTheNextRound) {
  const v1::RegisterResponse a = MustRegister("upd", "a", LocalSteps(2));
  v1::ReportIterationResponse reply;
  ASSERT_TRUE(Report("upd", a.worker_id(), 0, 1, &reply).ok());
  v1::UpdatePolicyRequest update;
  update.set_job("upd");
  *update.mutable_policy() = LocalSteps(3);
  v1::Job job;
  ASSERT_TRUE(stub_->UpdatePolicy(Context().get(), update, &job).ok());
  EXPECT_EQ(job.spec().policy().local_steps(), 2u);
  EXPECT_EQ(job.pending_policy().local_steps(), 3u);
  ASSERT_TRUE(Report("upd", a.worker_id(), 0, 2, &reply).ok());
  EXPECT_EQ(reply.directive(), v1::DIRECTIVE_SYNC_NOW);
  v1::BarrierResponse released;
  ASSERT_TRUE(Barrier("upd", a.worker_id(), 0, &released).ok());
  EXPECT_EQ(released.target(), 3u);
  job = MustGetJob("upd");
  EXPECT_EQ(job.spec().policy().local_steps(), 3u);
  EXPECT_FALSE(job.has_pending_policy());
}

TEST_F(RoundsTest, StreamReportsAnswersEachReportInOrder) {
  const v1::RegisterResponse w = MustRegister("stream", "w", LocalSteps(4));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + kRpcDeadline));
  auto stream = stub_->StreamReports(&ctx);
  for (uint32_t it = 1; it <= 4; ++it) {
    ASSERT_TRUE(stream->Write(ReportRequestFor("stream", w.worker_id(), 0, it, 0.002)));
    v1::ReportIterationResponse reply;
    ASSERT_TRUE(stream->Read(&reply));
    EXPECT_EQ(reply.directive(), it < 4 ? v1::DIRECTIVE_CONTINUE : v1::DIRECTIVE_SYNC_NOW);
    EXPECT_EQ(reply.target(), 4u);
  }
  // A bad report ends the stream with its status.
  ASSERT_TRUE(stream->Write(ReportRequestFor("stream", w.worker_id(), 0, 9, 0.0)));
  v1::ReportIterationResponse reply;
  EXPECT_FALSE(stream->Read(&reply));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(MustGetJob("stream").workers(0).iterations_total(), 4u);
}

TEST_F(RoundsTest, ReleasesABarrierOfManyWaitingCalls) {
  // 200 workers park at one barrier (each call holds no server thread);
  // the last arrival releases all of them.
  constexpr int kWorkers = 200;
  std::vector<uint64_t> ids;
  for (int i = 0; i < kWorkers; ++i) {
    ids.push_back(MustRegister("wide", absl::StrCat("w", i), Bsp()).worker_id());
  }
  for (uint64_t id : ids) {
    v1::ReportIterationResponse reply;
    ASSERT_TRUE(Report("wide", id, 0, 1, &reply).ok());
  }
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<v1::BarrierResponse> replies(kWorkers);
  std::vector<grpc::Status> statuses(kWorkers);
  std::vector<std::unique_ptr<grpc::ClientAsyncResponseReader<v1::BarrierResponse>>> calls;
  for (int i = 0; i < kWorkers; ++i) {
    contexts.push_back(Context());
    const v1::BarrierRequest request = BarrierRequestFor("wide", ids[i], 0);
    calls.push_back(stub_->AsyncBarrier(contexts.back().get(), request, &cq));
    calls.back()->Finish(&replies[i], &statuses[i], reinterpret_cast<void*>(i + 1));
  }
  for (int done = 0; done < kWorkers; ++done) {
    void* tag = nullptr;
    bool ok = false;
    ASSERT_EQ(cq.AsyncNext(&tag, &ok, absl::ToChronoTime(absl::Now() + kRpcDeadline)),
              grpc::CompletionQueue::GOT_EVENT);
  }
  for (int i = 0; i < kWorkers; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(replies[i].round(), 1u);
    EXPECT_EQ(replies[i].live_workers(), static_cast<uint32_t>(kWorkers));
  }
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace ebsp::server::testing
