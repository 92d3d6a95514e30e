// The C++ client against two real coordinator replicas sharing a real etcd
// (lease TTL 2 s): it follows a standby's leader hint at once, goes back to
// its configured target when the leader it was sent to dies, waits as an
// outage while no leader is elected, and leaves a frozen (SIGSTOPped) leader
// within seconds (heartbeat probe) or, with heartbeats off, by keepalive.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "clients/cpp/ebsp/client.h"
#include "clients/cpp/ebsp/connection.h"
#include "clients/cpp/ebsp/policy_text.h"
#include "tests/client/cpp/support/coordinator_process.h"
#include "tests/client/cpp/support/job_probe.h"
#include "tests/ha/etcd_process.h"

namespace ebsp::testing {
namespace {

namespace v1 = ::elasticbsp::v1;
using ebsp::client::Client;
using ebsp::client::ClientOptions;

constexpr absl::Duration kTtl = absl::Seconds(2);
// Election (TTL + a 250 ms poll) plus the client's way there: a backoff of at
// most 2.4 s, the probe's 1 s interval + 2 s deadline; with margin for a
// loaded 2-core machine.
const absl::Duration kFailoverBound = kTtl + absl::Seconds(6);

// What a replica answers to GetJob of a job nobody created.
struct Answer {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string leader_hint;
};

Answer Probe(const std::string& target) {
  auto stub =
      v1::Coordinator::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  v1::GetJobRequest request;
  request.set_job("no-such-job");
  v1::Job job;
  const grpc::Status status = stub->GetJob(&context, request, &job);
  Answer answer{status.error_code(), ""};
  if (std::optional<std::string> hint = ebsp::client::LeaderHint(context))
    answer.leader_hint = *hint;
  return answer;
}

class ClientRedirectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EtcdProcess>> etcd = EtcdProcess::Start();
    ASSERT_TRUE(etcd.ok()) << etcd.status();
    etcd_ = *std::move(etcd);
  }

  std::unique_ptr<CoordinatorProcess> StartReplica() {
    CoordinatorProcess::Options options;
    options.flags = {absl::StrCat("--ha_etcd_endpoints=", etcd_->endpoint()),
                     absl::StrCat("--ha_lease_ttl=", absl::FormatDuration(kTtl)),
                     "--ha_etcd_prefix=/ebsp-client-redirect", "--heartbeat_timeout=3s",
                     "--tick_interval=50ms"};
    absl::StatusOr<std::unique_ptr<CoordinatorProcess>> replica =
        CoordinatorProcess::Start(std::move(options));
    EXPECT_TRUE(replica.ok()) << replica.status();
    return replica.ok() ? *std::move(replica) : nullptr;
  }

  // Starts two replicas and waits until one leads and the other names it.
  void StartPair() {
    replicas_.push_back(StartReplica());
    replicas_.push_back(StartReplica());
    ASSERT_TRUE(replicas_[0] != nullptr && replicas_[1] != nullptr);
    ASSERT_TRUE(WaitUntil(
        [&] {
          const Answer a = Probe(replicas_[0]->target());
          const Answer b = Probe(replicas_[1]->target());
          if (a.code == grpc::StatusCode::NOT_FOUND && b.leader_hint == replicas_[0]->target()) {
            leader_ = 0;
            return true;
          }
          if (b.code == grpc::StatusCode::NOT_FOUND && a.leader_hint == replicas_[1]->target()) {
            leader_ = 1;
            return true;
          }
          return false;
        },
        absl::Seconds(20)))
        << "no leader named by the standby within 20 s";
  }
  CoordinatorProcess& leader() { return *replicas_[leader_]; }
  CoordinatorProcess& standby() { return *replicas_[1 - leader_]; }

  ClientOptions Options(const std::string& target, const std::string& name) {
    ClientOptions options;
    options.target = target;
    options.job = "hajob";
    options.worker_name = name;
    absl::StatusOr<v1::Policy> policy = ebsp::client::ParsePolicyText("bsp");
    EXPECT_TRUE(policy.ok());
    options.policy_if_created = *policy;
    options.log = [this](absl::string_view line) {
      absl::MutexLock lock(&log_mu_);
      log_.emplace_back(line);
    };
    return options;
  }

  int LogLines(absl::string_view event) {
    absl::MutexLock lock(&log_mu_);
    int n = 0;
    for (const std::string& line : log_) n += absl::StrContains(line, event) ? 1 : 0;
    return n;
  }

  int LiveWorkersOn(CoordinatorProcess& replica) {
    absl::StatusOr<v1::Job> job = GetJob(replica.target(), "hajob");
    return job.ok() ? job->workers_size() : -1;
  }

  // Steps a one-worker BSP job (every iteration ends at the barrier) until
  // `done` or an error.
  static absl::Status Step(Client& client) {
    absl::StatusOr<ebsp::client::StepResult> step = client.IterationDone(absl::Milliseconds(1));
    if (!step.ok()) return step.status();
    if (!step->sync_now) return absl::OkStatus();
    return client.Sync().status();
  }

  static std::unique_ptr<Client> MustConnect(ClientOptions options) {
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(std::move(options));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::unique_ptr<EtcdProcess> etcd_;
  std::vector<std::unique_ptr<CoordinatorProcess>> replicas_;
  int leader_ = 0;
  absl::Mutex log_mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(log_mu_);
};

TEST_F(ClientRedirectTest, AStandbySendsTheClientToTheLeaderAtOnceWithoutAnOutage) {
  ASSERT_NO_FATAL_FAILURE(StartPair());
  const absl::Time start = absl::Now();
  std::unique_ptr<Client> client = MustConnect(Options(standby().target(), "w0"));
  ASSERT_NE(client, nullptr);
  // No backoff: the hint is followed within the first attempt.
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Step(*client).ok());
  EXPECT_EQ(client->registrations(), 1);
  EXPECT_EQ(LiveWorkersOn(leader()), 1);
  EXPECT_EQ(LogLines("ebsp_client_outage_started"), 0);
}

TEST_F(ClientRedirectTest, GoesBackToTheConfiguredTargetWhenTheLeaderItWasSentToDies) {
  ASSERT_NO_FATAL_FAILURE(StartPair());
  std::unique_ptr<Client> client = MustConnect(Options(standby().target(), "w0"));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(Step(*client).ok());
  const absl::Time killed = absl::Now();
  ASSERT_TRUE(leader().Kill().ok());
  // The standby names the dead leader until the lease ends, then leads: the
  // client keeps coming back to its configured target and registers there.
  while (client->registrations() < 2) {
    ASSERT_LT(absl::Now() - killed, kFailoverBound);
    const absl::Status stepped = Step(*client);
    ASSERT_TRUE(stepped.ok()) << stepped;
  }
  EXPECT_LT(absl::Now() - killed, kFailoverBound);
  EXPECT_EQ(LiveWorkersOn(standby()), 1);
  ASSERT_TRUE(Step(*client).ok());
  // One outage, one line pair.
  EXPECT_EQ(LogLines("ebsp_client_outage_started"), 1);
  EXPECT_EQ(LogLines("ebsp_client_outage_ended"), 1);
}

TEST_F(ClientRedirectTest, WaitsAsAnOutageWhileNoLeaderIsElected) {
  // etcd is down: the replica serves, but as a standby that knows no leader.
  ASSERT_TRUE(etcd_->Kill().ok());
  replicas_.push_back(StartReplica());
  ASSERT_NE(replicas_[0], nullptr);
  ASSERT_EQ(Probe(replicas_[0]->target()).code, grpc::StatusCode::UNAVAILABLE);
  absl::StatusOr<std::unique_ptr<Client>> client;
  std::thread connect([&] { client = Client::Connect(Options(replicas_[0]->target(), "w0")); });
  ASSERT_TRUE(
      WaitUntil([&] { return LogLines("ebsp_client_outage_started") == 1; }, absl::Seconds(10)));
  ASSERT_TRUE(etcd_->Restart().ok());
  connect.join();
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(Step(**client).ok());
  EXPECT_EQ((*client)->registrations(), 1);
  EXPECT_EQ(LogLines("ebsp_client_outage_started"), 1);
  EXPECT_EQ(LogLines("ebsp_client_outage_ended"), 1);
}

// Two workers of a BSP job; w0 waits at the barrier for w1 on the leader,
// which then freezes. w0's Sync must come back from the new leader (it
// registers again there: synchronized=false) within the bound.
class FrozenLeaderTest : public ClientRedirectTest,
                         public ::testing::WithParamInterface<bool /*heartbeats*/> {};

TEST_P(FrozenLeaderTest, AWorkerParkedOnAFrozenLeaderMovesToTheNewOne) {
  const bool heartbeats = GetParam();
  ASSERT_NO_FATAL_FAILURE(StartPair());
  ClientOptions options0 = Options(standby().target(), "w0");
  options0.heartbeats = heartbeats;
  std::unique_ptr<Client> w0 = MustConnect(options0);
  std::unique_ptr<Client> w1 = MustConnect(Options(standby().target(), "w1"));
  ASSERT_TRUE(w0 != nullptr && w1 != nullptr);
  absl::StatusOr<ebsp::client::StepResult> step = w0->IterationDone(absl::Milliseconds(1));
  ASSERT_TRUE(step.ok() && step->sync_now);
  absl::StatusOr<ebsp::client::SyncResult> sync;
  absl::Notification returned;
  std::thread waiter([&] {
    sync = w0->Sync();
    returned.Notify();
  });
  ASSERT_TRUE(WaitUntil(
      [&] {
        absl::StatusOr<v1::Job> job = GetJob(leader().target(), "hajob");
        return job.ok() && job->barrier().arrived_worker_ids_size() == 1;
      },
      absl::Seconds(10)));
  const absl::Time frozen = absl::Now();
  ASSERT_TRUE(leader().Freeze().ok());
  // With heartbeats the probe leaves the frozen leader; without, keepalive
  // does (a ping every 10 s, 5 s to answer).
  const absl::Duration bound = heartbeats ? kFailoverBound : absl::Seconds(15) + kFailoverBound;
  const bool in_time = returned.WaitForNotificationWithTimeout(bound);
  const absl::Duration took = absl::Now() - frozen;
  leader().Thaw();
  if (!in_time) returned.WaitForNotification();  // The Barrier is bounded too.
  waiter.join();
  EXPECT_TRUE(in_time) << "Sync returned after " << took;
  ASSERT_TRUE(sync.ok()) << sync.status();
  EXPECT_FALSE(sync->synchronized);
  EXPECT_EQ(w0->registrations(), 2);
  // Only w0 came over: w1 made no call since (its heartbeats leave NOT_FOUND
  // to its training thread).
  EXPECT_EQ(LiveWorkersOn(standby()), 1);
  // The thawed replica never answers as the leader again. (Its very first
  // answer may still name itself, the leader it last saw; a client then
  // goes back to its configured target.) Once its election thread ran, it
  // names the new leader.
  EXPECT_EQ(Probe(leader().target()).code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(WaitUntil(
      [&] {
        const Answer old = Probe(leader().target());
        EXPECT_EQ(old.code, grpc::StatusCode::UNAVAILABLE);
        return old.leader_hint == standby().target();
      },
      absl::Seconds(10)));
  std::cerr << "frozen leader left after " << took << (heartbeats ? " (probe)" : " (keepalive)")
            << "\n";
}

INSTANTIATE_TEST_SUITE_P(HeartbeatProbeOrKeepalive, FrozenLeaderTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "HeartbeatProbe" : "KeepaliveOnly";
                         });

}  // namespace
}  // namespace ebsp::testing
