// A coordinator that goes away: the worker pauses (never dies) for the outage
// budget, trains on within the bound it holds, writes two log lines per
// outage, and resumes when the coordinator is back. Real coordinator
// processes on 127.0.0.1, stopped and restarted on the same port, or frozen
// with SIGSTOP; one fake coordinator (an in-process gRPC service) only to see
// the request ids a retried Register carries.
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/cpp/support/client_fixture.h"
#include "tests/client/cpp/support/job_probe.h"

namespace ebsp::testing {
namespace {

namespace v1 = ::elasticbsp::v1;
using ebsp::client::Client;
using ebsp::client::ClientOptions;
using ::testing::ElementsAre;
using ::testing::MatchesRegex;

// The case: the time Kubernetes takes to reschedule a pod.
constexpr absl::Duration kOutage = absl::Seconds(20);

// The event names of the log lines a client wrote.
class LogLines {
 public:
  ebsp::client::LogSink Sink() {
    return [this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    };
  }
  std::vector<std::string> Events() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> events;
    for (const std::string& line : lines_) {
      // "<time> WARN <event> job=..."
      std::vector<std::string> words = absl::StrSplit(line, ' ');
      events.push_back(words.size() > 2 ? words[2] : line);
    }
    return events;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

class ClientOutageTest : public ClientFixture {
 protected:
  ClientOptions OutageOptions(const std::string& job, const std::string& name,
                              const std::string& policy, LogLines& log) {
    ClientOptions options = Options(job, name, policy);
    options.retry.max_backoff = absl::Milliseconds(500);
    options.log = log.Sink();
    return options;
  }
};

// One BSP worker in its own thread: rounds until told to stop, with the time
// each barrier released; a worker must never die, so any error is kept.
struct RoundRunner {
  Client* client = nullptr;
  absl::Mutex mu;
  bool stop ABSL_GUARDED_BY(mu) = false;
  std::vector<absl::Time> released ABSL_GUARDED_BY(mu);
  absl::Status error ABSL_GUARDED_BY(mu);
  std::thread thread;

  void Start() {
    thread = std::thread([this] {
      for (;;) {
        {
          absl::MutexLock lock(&mu);
          if (stop) break;
        }
        absl::SleepFor(absl::Milliseconds(5));  // The iteration.
        absl::StatusOr<ebsp::client::StepResult> step =
            client->IterationDone(absl::Milliseconds(5));
        absl::Status status = step.status();
        if (step.ok() && step->sync_now) status = client->Sync().status();
        absl::MutexLock lock(&mu);
        if (!status.ok()) {
          error = status;
          break;
        }
        if (step->sync_now) released.push_back(absl::Now());
      }
      // Leaving releases the other worker from a barrier it waits at.
      absl::Status left = client->Leave();
      absl::MutexLock lock(&mu);
      if (error.ok()) error = left;
    });
  }
  size_t Rounds() {
    absl::MutexLock lock(&mu);
    return released.size();
  }
  void Stop() {
    {
      absl::MutexLock lock(&mu);
      stop = true;
    }
    if (thread.joinable()) thread.join();
  }
};

TEST_F(ClientOutageTest, ATwentySecondOutagePausesTheWorkersAndTheyResume) {
  StartCoordinator();
  LogLines logs[2];
  std::unique_ptr<Client> clients[2];
  RoundRunner runners[2];
  for (int i = 0; i < 2; ++i) {
    clients[i] = MustConnect(OutageOptions("outage", "w" + std::to_string(i), "bsp", logs[i]));
    ASSERT_NE(clients[i], nullptr);
    runners[i].client = clients[i].get();
  }
  for (RoundRunner& r : runners) r.Start();
  // No ASSERT until the runners are stopped (a joinable thread must not be
  // destroyed).
  const bool warmed_up = WaitUntil(
      [&] { return runners[0].Rounds() >= 5 && runners[1].Rounds() >= 5; }, absl::Seconds(30));
  absl::StatusOr<int> stopped = coordinator_->Terminate(absl::Seconds(20));
  const absl::Time stopped_at = absl::Now();
  const size_t before[2] = {runners[0].Rounds(), runners[1].Rounds()};
  absl::SleepFor(kOutage);  // The outage itself (the fault, not a wait for a condition).
  const size_t during[2] = {runners[0].Rounds(), runners[1].Rounds()};
  const absl::Status restarted = coordinator_->Restart();
  const absl::Time restarted_at = absl::Now();
  const bool resumed = restarted.ok() && WaitUntil(
                                             [&] {
                                               return runners[0].Rounds() >= before[0] + 5 &&
                                                      runners[1].Rounds() >= before[1] + 5;
                                             },
                                             absl::Seconds(60));
  for (RoundRunner& r : runners) r.Stop();
  ASSERT_TRUE(warmed_up);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_TRUE(resumed);
  for (int i = 0; i < 2; ++i) {
    absl::MutexLock lock(&runners[i].mu);
    ASSERT_TRUE(runners[i].error.ok()) << "worker " << i << " died: " << runners[i].error;
    EXPECT_EQ(during[i], before[i]) << "paused, not failed";
    ASSERT_GT(runners[i].released.size(), before[i]);
    const absl::Duration pause =
        runners[i].released[before[i]] - runners[i].released[before[i] - 1];
    const absl::Duration resume = runners[i].released[before[i]] - restarted_at;
    std::printf(
        "worker w%d: paused %.1f s; first barrier %.2f s after the restart; outage %.1f s\n", i,
        absl::ToDoubleSeconds(pause), absl::ToDoubleSeconds(resume),
        absl::ToDoubleSeconds(restarted_at - stopped_at));
    EXPECT_GE(pause, kOutage);
    EXPECT_LT(pause, kOutage + absl::Seconds(15));
    EXPECT_LT(resume, absl::Seconds(10));
    EXPECT_THAT(logs[i].Events(),
                ElementsAre("ebsp_client_outage_started", "ebsp_client_outage_ended"));
    EXPECT_EQ(clients[i]->registrations(), 2);
  }
}

TEST_F(ClientOutageTest, ASpentOutageBudgetFailsTheCallSayingHowLongAndWhy) {
  StartCoordinator();
  LogLines log;
  ClientOptions options = OutageOptions("budget", "w", "bsp", log);
  options.retry.outage_budget = absl::Seconds(1);
  std::unique_ptr<Client> client = MustConnect(options);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(coordinator_->Terminate(absl::Seconds(20)).ok());
  const absl::Time start = absl::Now();
  absl::StatusOr<ebsp::client::StepResult> step = client->IterationDone(absl::Milliseconds(1));
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_GE(elapsed, absl::Seconds(1));
  EXPECT_LT(elapsed, absl::Seconds(6));
  EXPECT_EQ(step.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(step.status().message()),
              MatchesRegex("ReportIteration: the coordinator was unreachable for 1\\.[0-9] s, "
                           "which spent the outage budget of 1\\.0 s \\([0-9]+ failed attempts\\); "
                           "last status: UNAVAILABLE: .+"));
  EXPECT_THAT(log.Events(),
              ElementsAre("ebsp_client_outage_started", "ebsp_client_outage_gave_up"));
}

TEST_F(ClientOutageTest, AWorkerTrainsOnToItsTargetWhileTheCoordinatorIsFrozen) {
  // SIGSTOP: the coordinator keeps its state and answers nothing. The worker
  // runs on to its target without answers, then waits; after SIGCONT the kept
  // reports go out in order and each counts once.
  StartCoordinator();
  LogLines log;
  ClientOptions options = OutageOptions("frozen", "w", "local:H=6", log);
  options.call_deadline = absl::Milliseconds(500);
  std::unique_ptr<Client> client = MustConnect(options);
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->target(), 6);
  ASSERT_TRUE(coordinator_->Freeze().ok());
  int unreported = 0;
  for (int i = 1; i <= 5; ++i) {
    absl::StatusOr<ebsp::client::StepResult> step = client->IterationDone(absl::Milliseconds(1));
    if (!step.ok() || step->sync_now || step->iteration != i) {
      coordinator_->Thaw();
      FAIL() << "iteration " << i << ": " << step.status();
    }
    unreported = step->unreported;
  }
  EXPECT_EQ(unreported, 5);
  absl::StatusOr<ebsp::client::StepResult> at_target;
  absl::Notification returned;
  std::thread sixth([&] {
    at_target = client->IterationDone(absl::Milliseconds(1));
    returned.Notify();
  });
  // At its target the worker waits: still waiting while the coordinator
  // stays frozen for a second (the fault's length).
  const bool returned_while_frozen = returned.WaitForNotificationWithTimeout(absl::Seconds(1));
  coordinator_->Thaw();
  sixth.join();
  EXPECT_FALSE(returned_while_frozen);
  ASSERT_TRUE(at_target.ok()) << at_target.status();
  EXPECT_TRUE(at_target->sync_now);
  EXPECT_EQ(at_target->unreported, 0);
  EXPECT_FALSE(at_target->reregistered);
  absl::StatusOr<v1::Job> job = GetJob(coordinator_->target(), "frozen");
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_EQ(job->workers_size(), 1);
  EXPECT_EQ(job->workers(0).iterations_in_round(), 6u);
  absl::StatusOr<ebsp::client::SyncResult> sync = client->Sync();
  ASSERT_TRUE(sync.ok()) << sync.status();
  EXPECT_TRUE(sync->synchronized);
  EXPECT_FALSE(sync->membership_changed);
  EXPECT_EQ(client->registrations(), 1);
  EXPECT_THAT(log.Events(), ElementsAre("ebsp_client_outage_started", "ebsp_client_outage_ended"));
}

// Answers Register UNAVAILABLE twice, then as a coordinator would; keeps the
// request ids it saw.
class RecordingCoordinator final : public v1::Coordinator::Service {
 public:
  grpc::Status Register(grpc::ServerContext*, const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override {
    absl::MutexLock lock(&mu_);
    ids_.push_back(request->request_id());
    if (ids_.size() % 3 != 0) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting");
    response->set_worker_id(ids_.size());
    response->set_target(1);
    response->set_state(v1::WORKER_STATE_RUNNING);
    response->mutable_policy()->set_kind(v1::POLICY_KIND_BSP);
    response->set_heartbeat_timeout_seconds(3600);
    return grpc::Status::OK;
  }
  std::vector<std::string> ids() {
    absl::MutexLock lock(&mu_);
    return ids_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
};

TEST(ClientRequestIdTest, RegisterSendsOneRequestIdPerRegistrationTheSameOnItsRetries) {
  RecordingCoordinator fake;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&fake);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  for (const char* name : {"a", "b"}) {
    ClientOptions options;
    options.target = absl::StrCat("127.0.0.1:", port);
    options.job = "job";
    options.worker_name = name;
    options.retry.initial_backoff = absl::Milliseconds(10);
    options.log = [](absl::string_view) {};
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status();
  }
  server->Shutdown(absl::ToChronoTime(absl::Now()));
  const std::vector<std::string> ids = fake.ids();
  ASSERT_EQ(ids.size(), 6u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ids[i], ids[0]);
    EXPECT_EQ(ids[3 + i], ids[3]);
  }
  EXPECT_NE(ids[0], ids[3]);
  EXPECT_THAT(ids[0], MatchesRegex("[A-Za-z0-9._:-]{1,64}"));
}

}  // namespace
}  // namespace ebsp::testing
