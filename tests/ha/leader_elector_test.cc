// LeaderElector against a real etcd: one leader among candidates, handover on
// Stop, takeover when etcd loses the leader's lease, and fencing that holds
// even when the leader's thread never runs again (virtual time).
#include "service/ha/leader_elector.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/ha/etcd_client.h"
#include "tests/ha/etcd_process.h"
#include "tests/server/harness.h"

namespace ebsp::ha {
namespace {

using ::ebsp::server::MonotonicClock;
using ::ebsp::server::testing::ManualClock;
using ::ebsp::testing::EtcdProcess;

constexpr absl::Duration kTtl = absl::Seconds(2);

// Waits (polling with a deadline: the elector has no completion to wait on)
// until `done()` or `timeout`; returns whether it happened.
template <typename Done>
bool WaitFor(Done done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

class LeaderElectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EtcdProcess>> etcd = EtcdProcess::Start();
    ASSERT_TRUE(etcd.ok()) << etcd.status();
    etcd_ = *std::move(etcd);
    EtcdOptions options;
    options.endpoints = {etcd_->endpoint()};
    options.call_timeout = absl::Milliseconds(500);
    absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    backend_ = NewEtcdElectionBackend(client_.get(), "/ebsp/test/leader");
  }

  std::unique_ptr<LeaderElector> Candidate(const std::string& name, const server::Clock* clock) {
    ElectionOptions options;
    options.candidate_address = name;
    options.lease_ttl = kTtl;
    options.poll_interval = absl::Milliseconds(100);
    auto elector = std::make_unique<LeaderElector>(options, backend_.get(), clock);
    elector->Start();
    return elector;
  }

  std::unique_ptr<EtcdProcess> etcd_;
  std::unique_ptr<EtcdClient> client_;
  std::unique_ptr<ElectionBackend> backend_;
  MonotonicClock clock_;
};

TEST_F(LeaderElectorTest, ExactlyOneOfThreeCandidatesLeadsAndAllKnowWho) {
  std::vector<std::unique_ptr<LeaderElector>> candidates;
  for (int i = 0; i < 3; ++i) candidates.push_back(Candidate(absl::StrCat("c", i), &clock_));
  auto leaders = [&] {
    int n = 0;
    for (auto& c : candidates) n += c->IsLeader() ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(WaitFor([&] { return leaders() == 1; }, absl::Seconds(10)));
  // Watch for a while: never two, and everyone names the same leader.
  const absl::Time until = absl::Now() + 2 * kTtl;
  while (absl::Now() < until) {
    ASSERT_LE(leaders(), 1);
    absl::SleepFor(absl::Milliseconds(10));
  }
  std::string leader;
  for (auto& c : candidates) {
    if (c->IsLeader()) leader = c->LeaderAddress();
  }
  ASSERT_FALSE(leader.empty());
  ASSERT_TRUE(WaitFor(
      [&] {
        for (auto& c : candidates) {
          if (c->LeaderAddress() != leader) return false;
        }
        return true;
      },
      absl::Seconds(5)));
}

TEST_F(LeaderElectorTest, StopHandsOverWithoutWaitingForTheTtl) {
  auto first = Candidate("first", &clock_);
  ASSERT_TRUE(WaitFor([&] { return first->IsLeader(); }, absl::Seconds(10)));
  auto second = Candidate("second", &clock_);
  ASSERT_TRUE(WaitFor([&] { return second->LeaderAddress() == "first"; }, absl::Seconds(5)));
  const absl::Time stopped = absl::Now();
  first->Stop();
  EXPECT_FALSE(first->IsLeader());
  ASSERT_TRUE(WaitFor([&] { return second->IsLeader(); }, absl::Seconds(10)));
  // Resigning deletes the key: the standby's next poll (100 ms) takes over,
  // well before the 2 s TTL would have run out.
  EXPECT_LT(absl::Now() - stopped, kTtl);
}

TEST_F(LeaderElectorTest, StandbyTakesOverWhenTheLeadersLeaseIsGone) {
  auto first = Candidate("first", &clock_);
  ASSERT_TRUE(WaitFor([&] { return first->IsLeader(); }, absl::Seconds(10)));
  auto second = Candidate("second", &clock_);
  // What etcd does to a leader that stopped renewing: the lease ends and the
  // key with it. The old leader notices at its next renewal.
  absl::StatusOr<std::optional<std::string>> key = client_->Get("/ebsp/test/leader");
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_TRUE(client_->Delete("/ebsp/test/leader").ok());
  ASSERT_TRUE(WaitFor([&] { return second->IsLeader(); }, absl::Seconds(10)));
  ASSERT_TRUE(WaitFor([&] { return !first->IsLeader(); }, absl::Seconds(10)));
  EXPECT_EQ(first->LeaderAddress(), "second");
}

TEST_F(LeaderElectorTest, FenceHoldsWhenTheLeaderNeverRunsAgain) {
  ManualClock frozen_clock;
  auto leader = Candidate("frozen", &frozen_clock);
  ASSERT_TRUE(WaitFor([&] { return leader->IsLeader(); }, absl::Seconds(10)));
  // As if the process had been stopped for a whole TTL: no renewal ran, and
  // yet the very next question answers "not the leader".
  frozen_clock.Advance(kTtl);
  EXPECT_FALSE(leader->IsLeader());
  // Nor does it name itself as the leader to go to.
  EXPECT_EQ(leader->LeaderAddress(), "");
}

TEST_F(LeaderElectorTest, LeadershipSurvivesAnEtcdRestartWithinTheTtl) {
  auto leader = Candidate("steady", &clock_);
  ASSERT_TRUE(WaitFor([&] { return leader->IsLeader(); }, absl::Seconds(10)));
  const int terms = leader->terms();
  ASSERT_TRUE(etcd_->Restart().ok()) << etcd_->log();
  // Either it kept the lease through the restart or it lost it and won a new
  // term; in both cases it leads again once etcd is back.
  ASSERT_TRUE(WaitFor([&] { return leader->IsLeader(); }, absl::Seconds(15)));
  EXPECT_GE(leader->terms(), terms);
}

// Replicas that advertise the same address (every one configured with the
// Service's name, say) still elect one leader: identity is the lease.
TEST_F(LeaderElectorTest, CandidatesWithTheSameAddressStillElectOne) {
  std::vector<std::unique_ptr<LeaderElector>> candidates;
  for (int i = 0; i < 2; ++i) candidates.push_back(Candidate("ebsp:50051", &clock_));
  auto leaders = [&] {
    return (candidates[0]->IsLeader() ? 1 : 0) + (candidates[1]->IsLeader() ? 1 : 0);
  };
  ASSERT_TRUE(WaitFor([&] { return leaders() == 1; }, absl::Seconds(10)));
  const absl::Time until = absl::Now() + kTtl;
  while (absl::Now() < until) {
    ASSERT_EQ(leaders(), 1);
    absl::SleepFor(absl::Milliseconds(10));
  }
  const int leader = candidates[0]->IsLeader() ? 0 : 1;
  EXPECT_NE(candidates[leader]->leader_lease(), 0);
  EXPECT_EQ(candidates[1 - leader]->leader_lease(), 0);
}

// The fenced writes a job store needs: only the replica whose lease the
// leadership key is bound to may write, so a deposed leader cannot
// overwrite its successor's records.
TEST_F(LeaderElectorTest, GuardedWritesApplyOnlyWhileTheGuardHolds) {
  absl::StatusOr<int64_t> mine = client_->GrantLease(kTtl);
  absl::StatusOr<int64_t> other = client_->GrantLease(kTtl);
  ASSERT_TRUE(mine.ok() && other.ok());
  // Both replicas advertise the same address: only the lease tells them apart.
  absl::StatusOr<EtcdClient::Holder> holder =
      client_->CreateIfAbsent("/ebsp/test/leader", "same:1", *mine);
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ(holder->lease, *mine);
  holder = client_->CreateIfAbsent("/ebsp/test/leader", "same:1", *other);
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ(holder->value, "same:1");
  EXPECT_EQ(holder->lease, *mine);
  ASSERT_TRUE(client_->PutIf("/ebsp/test/jobs/a", "v1", "/ebsp/test/leader", *mine).ok());
  absl::Status refused = client_->PutIf("/ebsp/test/jobs/a", "v2", "/ebsp/test/leader", *other);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_TRUE(client_->DeleteIf("/ebsp/test/jobs/a", "/ebsp/test/leader", *other).code() ==
              absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> jobs =
      client_->GetPrefix("/ebsp/test/jobs/");
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].second, "v1");
  ASSERT_TRUE(client_->DeleteIf("/ebsp/test/jobs/a", "/ebsp/test/leader", *mine).ok());
  jobs = client_->GetPrefix("/ebsp/test/jobs/");
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  EXPECT_TRUE(jobs->empty());
}

}  // namespace
}  // namespace ebsp::ha
