// How the client rides out a coordinator that is late, gone, restarted, or
// that evicted the worker: retries within a bound, then registers again by
// itself and says so.
#include <signal.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/client/cpp/support/client_fixture.h"
#include "tests/client/cpp/support/job_probe.h"
#include "tests/client/cpp/support/worker_loop.h"

namespace ebsp::testing {
namespace {

using ebsp::client::Client;
using ebsp::client::ClientOptions;
using ebsp::client::RetryEvent;

bool AllAtLeast(std::pair<std::vector<int>*, int>* arg) {
  for (int n : *arg->first) {
    if (n < arg->second) return false;
  }
  return true;
}

class ClientRecoveryTest : public ClientFixture {
 protected:
  enum class StopMode { kCrash, kGraceful };

  // Workers run rounds; the coordinator goes away (SIGKILL, or SIGTERM, which
  // answers waiting calls UNAVAILABLE) and comes back on the same port having
  // forgotten everything. Each worker must register again by itself, once,
  // and complete rounds afterwards.
  void RunThroughRestart(StopMode mode) {
    StartCoordinator();
    constexpr int kWorkers = 3;
    constexpr int kRoundsBefore = 3;
    constexpr int kRoundsAfter = 3;
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kWorkers; ++i) {
      clients.push_back(MustConnect(Options("restart", "w" + std::to_string(i))));
      ASSERT_NE(clients.back(), nullptr);
    }
    absl::Mutex mu;
    std::vector<int> syncs(kWorkers, 0);
    std::vector<WorkerRecord> records(kWorkers);
    std::vector<std::thread> threads;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    for (int i = 0; i < kWorkers; ++i) {
      threads.emplace_back([&, i] {
        records[i] = RunWorker(
            *clients[i], absl::Milliseconds(1 + i),
            [](const WorkerRecord& r) {
              return r.reregistrations > 0 && r.syncs_since_rejoin >= kRoundsAfter;
            },
            deadline,
            [&, i](const WorkerRecord& r) {
              absl::MutexLock lock(&mu);
              syncs[i] = r.syncs;
            });
      });
    }
    {
      absl::MutexLock lock(&mu);
      std::pair<std::vector<int>*, int> arg(&syncs, kRoundsBefore);
      EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&AllAtLeast, &arg), absl::Seconds(30)));
    }
    // No ASSERT until the workers are joined: returning with a joinable
    // std::thread would terminate the test binary instead of failing the test.
    absl::Status stopped;
    if (mode == StopMode::kCrash) {
      stopped = coordinator_->Kill();
    } else {
      absl::StatusOr<int> code = coordinator_->Terminate(absl::Seconds(20));
      stopped = code.status();
      if (code.ok()) {
        EXPECT_EQ(*code, 0) << coordinator_->log();
      }
    }
    // Without a restart the workers end at their deadline, failing.
    const absl::Status restarted = stopped.ok() ? coordinator_->Restart() : stopped;
    for (std::thread& thread : threads) thread.join();
    ASSERT_TRUE(stopped.ok()) << stopped;
    ASSERT_TRUE(restarted.ok()) << restarted;
    for (int i = 0; i < kWorkers; ++i) {
      const WorkerRecord& r = records[i];
      ASSERT_TRUE(r.error.ok()) << "worker " << i << ": " << r.error;
      EXPECT_EQ(r.reregistrations, 1) << "worker " << i;
      EXPECT_GE(r.syncs_since_rejoin, kRoundsAfter) << "worker " << i;
      EXPECT_EQ(clients[i]->registrations(), 2) << "worker " << i;
    }
  }
};

TEST_F(ClientRecoveryTest, ConnectRetriesUntilALateCoordinatorIsUp) {
  absl::StatusOr<int> port = PickFreePort();
  ASSERT_TRUE(port.ok()) << port.status();
  ClientOptions options = Options("late", "w0");
  options.target = "127.0.0.1:" + std::to_string(*port);
  options.retry.outage_budget = absl::Seconds(30);
  absl::Notification first_retry;
  std::atomic<int> retries{0};
  options.on_retry = [&](const RetryEvent& event) {
    EXPECT_EQ(event.method, "Register");
    if (retries.fetch_add(1) == 0) first_retry.Notify();
  };
  absl::StatusOr<std::unique_ptr<Client>> client;
  std::thread connecting([&] { client = Client::Connect(options); });

  // Start the coordinator only once the client has seen it missing.
  ASSERT_TRUE(first_retry.WaitForNotificationWithTimeout(absl::Seconds(10)));
  CoordinatorProcess::Options coordinator;
  coordinator.grpc_port = *port;
  absl::StatusOr<std::unique_ptr<CoordinatorProcess>> started =
      CoordinatorProcess::Start(coordinator);
  connecting.join();
  ASSERT_TRUE(started.ok()) << started.status();
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_GE(retries.load(), 1);
  EXPECT_EQ((*client)->registrations(), 1);
}

TEST_F(ClientRecoveryTest, ConnectGivesUpWithUnavailableOnceTheBudgetIsSpent) {
  absl::StatusOr<int> port = PickFreePort();
  ASSERT_TRUE(port.ok()) << port.status();
  ClientOptions options = Options("nobody", "w0");
  options.target = "127.0.0.1:" + std::to_string(*port);
  options.retry.outage_budget = absl::Milliseconds(400);
  int retries = 0;
  options.on_retry = [&](const RetryEvent&) { ++retries; };
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable) << client.status();
  EXPECT_GE(retries, 2);
  // Bounded: the budget plus one attempt, not gRPC's own reconnect schedule.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(ClientRecoveryTest, WorkersRegisterAgainByThemselvesAfterTheCoordinatorCrashes) {
  RunThroughRestart(StopMode::kCrash);
}

TEST_F(ClientRecoveryTest, WorkersRegisterAgainByThemselvesAfterAGracefulRestart) {
  RunThroughRestart(StopMode::kGraceful);
}

TEST_F(ClientRecoveryTest, WorkerWhoseLeaseExpiredRegistersAgainAndIsToldMembershipChanged) {
  // A lease of 3 s (heartbeats every 1 s): with 1 s a loaded machine
  // sometimes delayed the beating worker's heartbeats past its lease too.
  StartCoordinator({"--heartbeat_timeout=3s", "--tick_interval=50ms"});
  ClientOptions silent_options = Options("lease", "silent");
  silent_options.heartbeats = false;
  std::unique_ptr<Client> silent = MustConnect(silent_options);
  std::unique_ptr<Client> beating = MustConnect(Options("lease", "beating"));
  ASSERT_NE(silent, nullptr);
  ASSERT_NE(beating, nullptr);

  ASSERT_TRUE(WaitUntil(
      [&] {
        absl::StatusOr<elasticbsp::v1::Job> job = GetJob(coordinator_->target(), "lease");
        return job.ok() && job->evictions_total() >= 1;
      },
      absl::Seconds(15)));
  // Only the silent one lost its lease: the heartbeat thread kept the other.
  absl::StatusOr<elasticbsp::v1::Job> job = GetJob(coordinator_->target(), "lease");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->evictions_total(), 1u);
  ASSERT_EQ(job->workers_size(), 1);
  EXPECT_EQ(job->workers(0).name(), "beating");

  absl::StatusOr<ebsp::client::StepResult> step = silent->IterationDone(absl::Milliseconds(1));
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->reregistered);
  EXPECT_TRUE(step->membership_changed);
  EXPECT_EQ(silent->registrations(), 2);

  step = beating->IterationDone(absl::Milliseconds(1));
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_FALSE(step->reregistered);
  // The same two names are live again: no change, with fingerprints; a
  // coordinator without them can only say that someone left and joined.
  job = GetJob(coordinator_->target(), "lease");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(step->membership_changed, job->membership_fingerprint() == 0);
  EXPECT_EQ(beating->registrations(), 1);
}

TEST_F(ClientRecoveryTest, DestroyingAClientStopsItsHeartbeatsAtOnceAndLeavesTheJob) {
  StartCoordinator();
  ClientOptions options = Options("goodbye", "w0");
  options.heartbeat_interval = absl::Hours(1);
  std::unique_ptr<Client> client = MustConnect(options);
  ASSERT_NE(client, nullptr);
  const absl::Time start = absl::Now();
  client.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  absl::StatusOr<elasticbsp::v1::Job> job = GetJob(coordinator_->target(), "goodbye");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->workers_size(), 0);
}

}  // namespace
}  // namespace ebsp::testing
