// Several clients, each in its own thread, through full rounds against the
// real coordinator: the rounds they see, the targets they follow.
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/client/cpp/support/client_fixture.h"
#include "tests/client/cpp/support/job_probe.h"
#include "tests/client/cpp/support/worker_loop.h"

namespace ebsp::testing {
namespace {

using ebsp::client::Client;

constexpr absl::Duration kRunLimit = absl::Seconds(60);

class ClientRoundsTest : public ClientFixture {
 protected:
  // Connects one client per compute time (all before any iteration, so all
  // start in round 0), runs each in a thread for `rounds` barriers.
  std::vector<WorkerRecord> RunJob(const std::string& job, const std::string& policy,
                                   const std::vector<absl::Duration>& computes, int rounds) {
    std::vector<std::unique_ptr<Client>> clients;
    for (size_t i = 0; i < computes.size(); ++i) {
      clients.push_back(MustConnect(Options(job, "w" + std::to_string(i), policy)));
      if (clients.back() == nullptr) return {};
      EXPECT_EQ(clients.back()->round(), 0u);
    }
    std::vector<WorkerRecord> records(computes.size());
    std::vector<std::thread> threads;
    const absl::Time deadline = absl::Now() + kRunLimit;
    for (size_t i = 0; i < computes.size(); ++i) {
      threads.emplace_back([&, i] {
        records[i] = RunWorker(
            *clients[i], computes[i], [rounds](const WorkerRecord& r) { return r.syncs >= rounds; },
            deadline);
      });
    }
    for (std::thread& thread : threads) thread.join();
    return records;
  }
};

TEST_F(ClientRoundsTest, BspWorkersSyncAfterEveryIterationForTheSameRounds) {
  StartCoordinator();
  constexpr int kRounds = 12;
  const std::vector<WorkerRecord> records = RunJob(
      "bsp-rounds", "bsp",
      {absl::Milliseconds(1), absl::Milliseconds(1), absl::Milliseconds(2), absl::Milliseconds(3)},
      kRounds);
  ASSERT_EQ(records.size(), 4u);
  for (const WorkerRecord& r : records) {
    ASSERT_TRUE(r.error.ok()) << r.error;
    EXPECT_EQ(r.syncs, kRounds);
    EXPECT_EQ(r.iterations, kRounds);
    EXPECT_EQ(r.target_mismatches, 0);
    for (int target : r.targets) EXPECT_EQ(target, 1);
    // Released together: every worker saw rounds 1, 2, ..., kRounds.
    for (int i = 0; i < kRounds; ++i) EXPECT_EQ(r.rounds[i], static_cast<uint64_t>(i + 1));
  }
}

TEST_F(ClientRoundsTest, ElasticBspWorkersFollowTheirTargetsAndFastOnesRunMore) {
  StartCoordinator();
  constexpr int kRounds = 15;
  constexpr int kLookahead = 4;
  const std::vector<WorkerRecord> records =
      RunJob("ebsp-rounds", "ebsp:R=4",
             {absl::Milliseconds(2), absl::Milliseconds(2), absl::Milliseconds(10)}, kRounds);
  ASSERT_EQ(records.size(), 3u);
  for (const WorkerRecord& r : records) {
    ASSERT_TRUE(r.error.ok()) << r.error;
    EXPECT_EQ(r.syncs, kRounds);
    EXPECT_EQ(r.target_mismatches, 0);
    for (int target : r.targets) {
      EXPECT_GE(target, 1);
      EXPECT_LE(target, kLookahead);
    }
    for (int i = 0; i < kRounds; ++i) EXPECT_EQ(r.rounds[i], static_cast<uint64_t>(i + 1));
  }
  // Under BSP all three would run exactly kRounds iterations; ZipLine lets
  // the 5x faster workers run more per round than the slow one.
  EXPECT_GT(records[0].iterations, records[2].iterations);
  EXPECT_GT(records[1].iterations, records[2].iterations);
}

TEST_F(ClientRoundsTest, WorkerJoiningMidRoundWaitsInsideConnectUntilTheRoundEnds) {
  StartCoordinator();
  std::unique_ptr<Client> first = MustConnect(Options("midround", "first", "local:H=3"));
  ASSERT_NE(first, nullptr);
  absl::StatusOr<ebsp::client::StepResult> step = first->IterationDone(absl::Milliseconds(1));
  ASSERT_TRUE(step.ok()) << step.status();
  ASSERT_FALSE(step->sync_now);

  // Round 0 is under way: the newcomer is PENDING and Connect blocks.
  absl::StatusOr<std::unique_ptr<Client>> late;
  std::thread joining([&] { late = Client::Connect(Options("midround", "late", "local:H=3")); });
  const bool pending = WaitUntil(
      [&] {
        absl::StatusOr<elasticbsp::v1::Job> job = GetJob(coordinator_->target(), "midround");
        if (!job.ok()) return false;
        for (const auto& worker : job->workers()) {
          if (worker.name() == "late")
            return worker.state() == elasticbsp::v1::WORKER_STATE_PENDING;
        }
        return false;
      },
      absl::Seconds(10));
  EXPECT_TRUE(pending);

  for (int i = 0; i < 2; ++i) {
    step = first->IterationDone(absl::Milliseconds(1));
    ASSERT_TRUE(step.ok()) << step.status();
  }
  ASSERT_TRUE(step->sync_now);
  absl::StatusOr<ebsp::client::SyncResult> sync = first->Sync();
  joining.join();
  ASSERT_TRUE(sync.ok()) << sync.status();
  ASSERT_TRUE(late.ok()) << late.status();
  // Both start round 1 together, the newcomer with its first target.
  EXPECT_EQ(sync->round, 1u);
  EXPECT_EQ((*late)->round(), 1u);
  EXPECT_EQ((*late)->target(), 3);
  EXPECT_EQ((*late)->iteration(), 0);
}

TEST_F(ClientRoundsTest, SspMakesTheFastWorkerWaitForTheSlowOne) {
  StartCoordinator();
  std::unique_ptr<Client> fast = MustConnect(Options("ssp-clock", "fast", "ssp:s=1"));
  std::unique_ptr<Client> slow = MustConnect(Options("ssp-clock", "slow", "ssp:s=1"));
  ASSERT_NE(fast, nullptr);
  ASSERT_NE(slow, nullptr);
  // No rounds, so no barrier to wait at.
  const absl::Status sync = fast->Sync().status();
  EXPECT_EQ(sync.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(sync.message().find("no rounds"), absl::string_view::npos) << sync;
  constexpr int kIterations = 12;
  const absl::Time deadline = absl::Now() + kRunLimit;
  auto enough = [](const WorkerRecord& r) { return r.iterations >= kIterations; };
  WorkerRecord fast_record, slow_record;
  std::thread slow_thread(
      [&] { slow_record = RunWorker(*slow, absl::Milliseconds(8), enough, deadline); });
  fast_record = RunWorker(*fast, absl::Milliseconds(1), enough, deadline);
  slow_thread.join();
  ASSERT_TRUE(fast_record.error.ok()) << fast_record.error;
  ASSERT_TRUE(slow_record.error.ok()) << slow_record.error;
  EXPECT_EQ(fast_record.syncs, 0);  // No rounds under SSP.
  EXPECT_GT(fast_record.clock_wait, absl::ZeroDuration());
}

}  // namespace
}  // namespace ebsp::testing
