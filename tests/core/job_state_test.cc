// JobState with rounds: barrier, leases, membership, policy changes, and the
// numbers a snapshot reports. Everything in virtual time.
#include "lib/core/job/job_state.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/round_driver.h"
#include "tests/core/test_support.h"

namespace ebsp::core {
namespace {

using ::ebsp::core::testing::VirtualClock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

MATCHER_P3(IsBarrierRelease, worker, round, target, "") {
  return arg.worker == static_cast<WorkerId>(worker) && arg.kind == WaitKind::kBarrier &&
         arg.round == static_cast<uint64_t>(round) && arg.target == target;
}

class JobStateTest : public ::testing::Test {
 protected:
  std::unique_ptr<JobState> MakeJob(const std::string& policy_text,
                                    absl::Duration heartbeat_timeout = absl::Seconds(10)) {
    absl::StatusOr<PolicyConfig> policy = ParsePolicy(policy_text);
    EXPECT_TRUE(policy.ok()) << policy.status();
    JobOptions options;
    options.policy = *policy;
    options.heartbeat_timeout = heartbeat_timeout;
    return std::make_unique<JobState>("job", options, clock_.Now());
  }

  RegisterResult MustRegister(JobState& job, WorkerId id) {
    absl::StatusOr<RegisterResult> r = job.Register(id, "w" + std::to_string(id), clock_.Now());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : RegisterResult{};
  }

  ReportResult MustReport(JobState& job, WorkerId id, uint64_t round, int iteration) {
    absl::StatusOr<ReportResult> r =
        job.ReportIteration(id, round, iteration, absl::Seconds(1), clock_.Now());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : ReportResult{};
  }

  Effects MustArrive(JobState& job, WorkerId id, uint64_t round) {
    absl::StatusOr<Effects> e = job.ArriveAtBarrier(id, round, clock_.Now());
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *std::move(e) : Effects{};
  }

  // Two BSP workers one second in: worker 1 waits at the barrier of round 0,
  // worker 2 has not reported.
  std::unique_ptr<JobState> BspJobWithWorker1AtBarrier(
      absl::Duration heartbeat_timeout = absl::Seconds(10)) {
    auto job = MakeJob("bsp", heartbeat_timeout);
    MustRegister(*job, 1);
    MustRegister(*job, 2);
    clock_.Advance(absl::Seconds(1));
    MustReport(*job, 1, 0, 1);
    MustArrive(*job, 1, 0);
    return job;
  }

  VirtualClock clock_;
};

TEST_F(JobStateTest, BarrierReleasesWhenLastLiveWorkerArrives) {
  auto job = MakeJob("bsp");
  for (WorkerId id : {1, 2, 3}) EXPECT_EQ(MustRegister(*job, id).target, 1);
  const absl::Time began = clock_.Now();

  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(MustReport(*job, 1, 0, 1).action, SyncAction::kSyncNow);
  EXPECT_THAT(MustArrive(*job, 1, 0).releases, IsEmpty());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(MustReport(*job, 2, 0, 1).action, SyncAction::kSyncNow);
  EXPECT_THAT(MustArrive(*job, 2, 0).releases, IsEmpty());
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(MustReport(*job, 3, 0, 1).action, SyncAction::kSyncNow);
  Effects last = MustArrive(*job, 3, 0);

  EXPECT_THAT(last.releases,
              UnorderedElementsAre(IsBarrierRelease(1, 1, 1), IsBarrierRelease(2, 1, 1),
                                   IsBarrierRelease(3, 1, 1)));
  for (const Release& r : last.releases) {
    const absl::Duration expected = r.worker == 1   ? absl::Seconds(3)
                                    : r.worker == 2 ? absl::Seconds(2)
                                                    : absl::ZeroDuration();
    EXPECT_EQ(r.waited, expected) << "worker " << r.worker;
  }
  ASSERT_EQ(last.rounds_completed.size(), 1u);
  const RoundSummary& summary = last.rounds_completed[0];
  EXPECT_EQ(summary.round, 0u);
  EXPECT_EQ(summary.began, began);
  EXPECT_EQ(summary.released, clock_.Now());
  EXPECT_EQ(summary.total_wait, absl::Seconds(5));
  EXPECT_EQ(summary.predicted_wait, absl::ZeroDuration());
  const JobSnapshot snap = job->Snapshot(clock_.Now());
  EXPECT_EQ(snap.round, 1u);
  EXPECT_EQ(snap.rounds_completed, 1u);
  EXPECT_THAT(snap.arrived, IsEmpty());
  EXPECT_THAT(snap.missing, ElementsAre(1, 2, 3));
}

TEST_F(JobStateTest, SnapshotNamesArrivedAndMissingWorkers) {
  auto job = MakeJob("bsp");
  for (WorkerId id : {1, 2, 3}) MustRegister(*job, id);
  clock_.Advance(absl::Seconds(1));
  MustReport(*job, 2, 0, 1);
  MustArrive(*job, 2, 0);
  const absl::Time arrival = clock_.Now();
  clock_.Advance(absl::Seconds(2));
  const JobSnapshot snap = job->Snapshot(clock_.Now());
  EXPECT_THAT(snap.arrived, ElementsAre(2));
  EXPECT_THAT(snap.missing, ElementsAre(1, 3));
  EXPECT_THAT(snap.missing_names, ElementsAre("w1", "w3"));
  EXPECT_EQ(snap.first_arrival, arrival);
  EXPECT_EQ(snap.staleness, 1u);  // Worker 2 is one iteration ahead in total.
  ASSERT_EQ(snap.workers.size(), 3u);
  EXPECT_EQ(snap.workers[1].phase, WorkerPhase::kAtBarrier);
  EXPECT_EQ(snap.workers[1].iterations_in_round, 1);
  EXPECT_EQ(snap.workers[1].since_last_seen, absl::Seconds(2));
  EXPECT_EQ(snap.workers[1].lease_remaining, absl::Seconds(8));
}

TEST_F(JobStateTest, EvictsWorkerSilentLongerThanTimeout) {
  auto job = MakeJob("bsp", absl::Seconds(10));
  MustRegister(*job, 1);
  MustRegister(*job, 2);
  clock_.Advance(absl::Seconds(6));
  ASSERT_TRUE(job->Heartbeat(1, clock_.Now()).ok());
  EXPECT_EQ(job->NextLeaseExpiry(), clock_.Now() - absl::Seconds(6) + absl::Seconds(10));

  clock_.Advance(absl::Seconds(4));  // Worker 2 silent exactly 10 s: not yet longer.
  EXPECT_THAT(job->Tick(clock_.Now()).evictions, IsEmpty());
  clock_.Advance(absl::Nanoseconds(1));
  Effects effects = job->Tick(clock_.Now());
  ASSERT_EQ(effects.evictions.size(), 1u);
  EXPECT_EQ(effects.evictions[0].worker, 2u);
  EXPECT_EQ(effects.evictions[0].name, "w2");
  EXPECT_EQ(effects.evictions[0].reason, EvictionReason::kLeaseExpired);
  EXPECT_FALSE(effects.evictions[0].was_waiting);
  EXPECT_TRUE(effects.membership_changed);
  EXPECT_TRUE(job->IsMember(1));
  EXPECT_FALSE(job->IsMember(2));
  EXPECT_EQ(job->Snapshot(clock_.Now()).evictions_total, 1u);

  absl::StatusOr<ReportResult> late = job->ReportIteration(2, 0, 1, absl::Seconds(1), clock_.Now());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(late.status().message()), HasSubstr("worker 2 (\"w2\") was evicted"));
  EXPECT_THAT(std::string(late.status().message()), HasSubstr("register again"));
}

TEST_F(JobStateTest, EvictionOfMissingWorkerReleasesBarrier) {
  auto job = MakeJob("bsp", absl::Seconds(10));
  for (WorkerId id : {1, 2, 3}) MustRegister(*job, id);
  clock_.Advance(absl::Seconds(1));
  for (WorkerId id : {1, 2}) {
    MustReport(*job, id, 0, 1);
    MustArrive(*job, id, 0);
  }
  clock_.Advance(absl::Seconds(9));
  for (WorkerId id : {1, 2}) ASSERT_TRUE(job->Heartbeat(id, clock_.Now()).ok());
  EXPECT_EQ(job->NextLeaseExpiry(), clock_.Now());  // Worker 3's, registered 10 s ago.
  clock_.Advance(absl::Seconds(1));
  Effects effects = job->Tick(clock_.Now());
  ASSERT_EQ(effects.evictions.size(), 1u);
  EXPECT_EQ(effects.evictions[0].worker, 3u);
  EXPECT_THAT(effects.releases,
              UnorderedElementsAre(IsBarrierRelease(1, 1, 1), IsBarrierRelease(2, 1, 1)));
  ASSERT_EQ(effects.rounds_completed.size(), 1u);
  EXPECT_EQ(effects.rounds_completed[0].members.size(), 2u);
}

TEST_F(JobStateTest, EvictionOfWaitingWorkerSaysItWasWaiting) {
  auto job = BspJobWithWorker1AtBarrier(absl::Seconds(5));
  // Worker 2 keeps heartbeating but never reports; worker 1 waits silently.
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(2));
    ASSERT_TRUE(job->Heartbeat(2, clock_.Now()).ok());
  }
  Effects effects = job->Tick(clock_.Now());
  ASSERT_EQ(effects.evictions.size(), 1u);
  EXPECT_EQ(effects.evictions[0].worker, 1u);
  EXPECT_TRUE(effects.evictions[0].was_waiting);
  EXPECT_THAT(effects.releases, IsEmpty());  // Worker 2 has not arrived.
}

TEST_F(JobStateTest, LeaveOfLastMissingWorkerReleasesBarrier) {
  auto job = BspJobWithWorker1AtBarrier();
  absl::StatusOr<Effects> left = job->Leave(2, clock_.Now());
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_THAT(left->releases, ElementsAre(IsBarrierRelease(1, 1, 1)));
  EXPECT_TRUE(left->membership_changed);
  absl::StatusOr<HeartbeatResult> gone = job->Heartbeat(2, clock_.Now());
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(gone.status().message()), HasSubstr("left the job"));
}

TEST_F(JobStateTest, WorkerRegisteringMidRoundJoinsNextRound) {
  auto job = MakeJob("bsp");
  MustRegister(*job, 1);
  MustRegister(*job, 2);
  clock_.Advance(absl::Seconds(1));
  MustReport(*job, 1, 0, 1);  // Round 0 is now in progress.

  RegisterResult late = MustRegister(*job, 3);
  EXPECT_EQ(late.phase, WorkerPhase::kPending);
  EXPECT_EQ(late.round, 1u);
  EXPECT_EQ(late.live_workers, 3);
  absl::StatusOr<ReportResult> early =
      job->ReportIteration(3, 0, 1, absl::Seconds(1), clock_.Now());
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(early.status().message()), HasSubstr("pending until round 1"));

  EXPECT_THAT(MustArrive(*job, 3, 0).releases, IsEmpty());
  EXPECT_THAT(MustArrive(*job, 1, 0).releases, IsEmpty());
  EXPECT_THAT(job->Snapshot(clock_.Now()).missing, ElementsAre(2));  // Not the newcomer.
  clock_.Advance(absl::Seconds(1));
  MustReport(*job, 2, 0, 1);
  Effects released = MustArrive(*job, 2, 0);
  EXPECT_THAT(released.releases,
              UnorderedElementsAre(IsBarrierRelease(1, 1, 1), IsBarrierRelease(2, 1, 1),
                                   IsBarrierRelease(3, 1, 1)));
  ASSERT_EQ(released.rounds_completed.size(), 1u);
  EXPECT_EQ(released.rounds_completed[0].members.size(), 2u);  // Round 0 had two.
  EXPECT_THAT(job->Snapshot(clock_.Now()).missing, ElementsAre(1, 2, 3));
  EXPECT_EQ(MustReport(*job, 3, 1, 1).action, SyncAction::kSyncNow);
}

TEST_F(JobStateTest, WorkerRegisteringBeforeAnyIterationJoinsCurrentRound) {
  auto job = MakeJob("local:H=2");
  MustRegister(*job, 1);
  clock_.Advance(absl::Seconds(1));
  RegisterResult second = MustRegister(*job, 2);
  EXPECT_EQ(second.phase, WorkerPhase::kRunning);
  EXPECT_EQ(second.round, 0u);
  EXPECT_EQ(second.target, 2);
  EXPECT_EQ(second.membership_epoch, 2u);
}

TEST_F(JobStateTest, PendingWorkerLateToItsBarrierIsAnsweredWithTheReleaseItMissed) {
  auto job = MakeJob("bsp");
  MustRegister(*job, 1);
  clock_.Advance(absl::Seconds(1));
  MustReport(*job, 1, 0, 1);
  MustRegister(*job, 2);  // Pending; does not call Barrier(0) in time.
  EXPECT_THAT(MustArrive(*job, 1, 0).releases, ElementsAre(IsBarrierRelease(1, 1, 1)));
  clock_.Advance(absl::Seconds(1));
  Effects late = MustArrive(*job, 2, 0);
  EXPECT_THAT(late.releases, ElementsAre(IsBarrierRelease(2, 1, 1)));
  EXPECT_EQ(late.releases[0].waited, absl::ZeroDuration());
  EXPECT_EQ(MustReport(*job, 2, 1, 1).action, SyncAction::kSyncNow);
}

TEST_F(JobStateTest, RepeatedBarrierArrivalIsAcceptedAndChangesNothing) {
  auto job = BspJobWithWorker1AtBarrier();
  const JobSnapshot before = job->Snapshot(clock_.Now() + absl::Seconds(5));
  absl::StatusOr<Effects> again = job->ArriveAtBarrier(1, 0, clock_.Now());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(again->releases, IsEmpty());
  EXPECT_TRUE(testing::SnapshotsEqual(before, job->Snapshot(clock_.Now() + absl::Seconds(5))));
}

TEST_F(JobStateTest, LocalStepsGivesEveryWorkerHIterations) {
  auto job = MakeJob("local:H=3");
  for (WorkerId id : {1, 2}) EXPECT_EQ(MustRegister(*job, id).target, 3);
  for (int i = 1; i <= 3; ++i) {
    clock_.Advance(absl::Seconds(1));
    for (WorkerId id : {1, 2}) {
      EXPECT_EQ(MustReport(*job, id, 0, i).action,
                i < 3 ? SyncAction::kContinue : SyncAction::kSyncNow);
    }
  }
  MustArrive(*job, 1, 0);
  EXPECT_THAT(MustArrive(*job, 2, 0).releases,
              UnorderedElementsAre(IsBarrierRelease(1, 1, 3), IsBarrierRelease(2, 1, 3)));
}

TEST_F(JobStateTest, PolicyChangeAppliesAtNextRound) {
  auto job = MakeJob("bsp");
  MustRegister(*job, 1);
  MustRegister(*job, 2);
  clock_.Advance(absl::Seconds(1));
  MustReport(*job, 1, 0, 1);
  ASSERT_TRUE(job->UpdatePolicy(*ParsePolicy("local:H=4"), clock_.Now()).ok());

  JobSnapshot mid = job->Snapshot(clock_.Now());
  ASSERT_TRUE(mid.pending_policy.has_value());
  EXPECT_EQ(mid.pending_policy->ToString(), "local:H=4");
  EXPECT_EQ(job->policy().kind, PolicyKind::kBsp);
  EXPECT_EQ(MustReport(*job, 2, 0, 1).target, 1);  // This round keeps its targets.
  MustArrive(*job, 1, 0);
  Effects released = MustArrive(*job, 2, 0);
  EXPECT_THAT(released.releases,
              UnorderedElementsAre(IsBarrierRelease(1, 1, 4), IsBarrierRelease(2, 1, 4)));
  EXPECT_EQ(job->policy().kind, PolicyKind::kLocalSteps);
  EXPECT_FALSE(job->Snapshot(clock_.Now()).pending_policy.has_value());
}

TEST_F(JobStateTest, PolicyChangeAppliesAtOnceWhenNoRoundIsInProgress) {
  auto job = MakeJob("bsp");
  MustRegister(*job, 1);
  ASSERT_TRUE(job->UpdatePolicy(*ParsePolicy("local:H=5"), clock_.Now()).ok());
  EXPECT_EQ(job->policy().kind, PolicyKind::kLocalSteps);
  EXPECT_EQ(MustReport(*job, 1, 0, 1).target, 5);
}

// Found by the fuzzer (tests/fuzz/job_state_fuzz.cc, docs/fuzzing.md): a
// change deferred while a round was in progress is applied by the next
// registration once nobody has progress any more (the only worker with some
// left); the members already there must get targets of the new policy too,
// not keep the old policy's H = 3 under R = 2.
TEST_F(JobStateTest, PolicyChangeAppliedByARegistrationRetargetsEveryMember) {
  auto job = MakeJob("local:H=3");
  MustRegister(*job, 1);
  MustRegister(*job, 2);
  clock_.Advance(absl::Seconds(1));
  MustReport(*job, 1, 0, 1);
  ASSERT_TRUE(job->UpdatePolicy(*ParsePolicy("ebsp:R=2"), clock_.Now()).ok());
  ASSERT_TRUE(job->Snapshot(clock_.Now()).pending_policy.has_value());
  ASSERT_TRUE(job->Leave(1, clock_.Now()).ok());  // Nobody has progress now.
  MustRegister(*job, 3);
  EXPECT_EQ(job->policy().kind, PolicyKind::kElasticBsp);
  for (const WorkerSnapshot& w : job->Snapshot(clock_.Now()).workers) {
    EXPECT_GE(w.target, 1) << "worker " << w.worker;
    EXPECT_LE(w.target, 2) << "worker " << w.worker;
  }
}

// Found by the fuzzer (docs/fuzzing.md, finding 2): a WaitForClock after a
// release is a retry answered with that release, but after a policy change
// the release says nothing about the new bound: the call waits afresh.
TEST_F(JobStateTest, ClockWaitRetriedAfterAPolicyChangeWaitsUnderTheNewBound) {
  auto job = MakeJob("ssp:s=2");
  MustRegister(*job, 1);
  MustRegister(*job, 2);
  for (int i = 1; i <= 3; ++i) MustReport(*job, 1, 0, i);
  absl::StatusOr<Effects> waiting = job->WaitForClock(1, clock_.Now());
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  EXPECT_THAT(waiting->releases, IsEmpty());
  absl::StatusOr<ReportResult> slow = job->ReportIteration(2, 0, 1, absl::Seconds(1), clock_.Now());
  ASSERT_TRUE(slow.ok()) << slow.status();
  ASSERT_EQ(slow->effects.releases.size(), 1u);  // Worker 1: clock 3, slowest 1.
  ASSERT_TRUE(job->UpdatePolicy(*ParsePolicy("ssp:s=0"), clock_.Now()).ok());
  absl::StatusOr<Effects> again = job->WaitForClock(1, clock_.Now());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(again->releases, IsEmpty());
  for (const WorkerSnapshot& w : job->Snapshot(clock_.Now()).workers) {
    if (w.worker == 1) {
      EXPECT_EQ(w.phase, WorkerPhase::kWaitingClock);
    }
  }
}

TEST_F(JobStateTest, SwitchingBetweenRoundAndRoundlessPoliciesNeedsAnEmptyJob) {
  auto job = MakeJob("bsp");
  MustRegister(*job, 1);
  absl::Status refused = job->UpdatePolicy(*ParsePolicy("asp"), clock_.Now());
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("from bsp to asp"));
  ASSERT_TRUE(job->Leave(1, clock_.Now()).ok());
  ASSERT_TRUE(job->UpdatePolicy(*ParsePolicy("asp"), clock_.Now()).ok());
  EXPECT_EQ(job->policy().kind, PolicyKind::kAsp);
}

TEST_F(JobStateTest, MembershipEpochCountsJoinsLeavesAndEvictions) {
  auto job = MakeJob("bsp", absl::Seconds(10));
  EXPECT_EQ(job->membership_epoch(), 0u);
  EXPECT_EQ(MustRegister(*job, 1).membership_epoch, 1u);
  EXPECT_EQ(MustRegister(*job, 2).membership_epoch, 2u);
  EXPECT_EQ(job->membership_epoch(), 2u);
  // A rejected join changes nothing.
  EXPECT_FALSE(job->Register(3, "w2", clock_.Now()).ok());
  EXPECT_EQ(job->membership_epoch(), 2u);
  ASSERT_TRUE(job->Leave(1, clock_.Now()).ok());
  EXPECT_EQ(job->membership_epoch(), 3u);
  EXPECT_EQ(job->Snapshot(clock_.Now()).membership_epoch, 3u);
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(job->Tick(clock_.Now()).evictions.size(), 1u);
  EXPECT_EQ(job->membership_epoch(), 4u);
  EXPECT_EQ(job->Snapshot(clock_.Now()).membership_epoch, 4u);
  EXPECT_EQ(job->live_workers(), 0);
  EXPECT_EQ(job->NextLeaseExpiry(), std::nullopt);
}

TEST_F(JobStateTest, IdleFractionIsWaitOverLiveWorkerTime) {
  auto job = BspJobWithWorker1AtBarrier();
  clock_.Advance(absl::Seconds(2));
  // Ongoing: 2 s of waiting over 2 x 3 s of live time.
  EXPECT_DOUBLE_EQ(job->Snapshot(clock_.Now()).idle_fraction, 2.0 / 6.0);
  MustReport(*job, 2, 0, 1);
  MustArrive(*job, 2, 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_DOUBLE_EQ(job->Snapshot(clock_.Now()).idle_fraction, 2.0 / 8.0);
}

TEST_F(JobStateTest, EventsOutOfTimeOrderRunAtTheLatestTimeAndNeverWaitNegatively) {
  // The shell reads its clock before taking the job's lock, so a later
  // event can carry an earlier time.
  auto job = MakeJob("bsp");
  MustRegister(*job, 1);
  MustRegister(*job, 2);
  const absl::Time t0 = clock_.Now();
  ASSERT_TRUE(job->ReportIteration(1, 0, 1, absl::Seconds(1), t0 + absl::Seconds(5)).ok());
  ASSERT_TRUE(job->ArriveAtBarrier(1, 0, t0 + absl::Seconds(5)).ok());
  ASSERT_TRUE(job->ReportIteration(2, 0, 1, absl::Seconds(1), t0 + absl::Seconds(3)).ok());
  absl::StatusOr<Effects> last = job->ArriveAtBarrier(2, 0, t0 + absl::Seconds(3));
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->releases.size(), 2u);
  for (const Release& r : last->releases) EXPECT_EQ(r.waited, absl::ZeroDuration());
  ASSERT_EQ(last->rounds_completed.size(), 1u);
  EXPECT_EQ(last->rounds_completed[0].released, t0 + absl::Seconds(5));
  EXPECT_EQ(job->Snapshot(t0).round_began, t0 + absl::Seconds(5));
}

TEST_F(JobStateTest, HeartbeatRefreshesLeaseAndReportsRoundAndEpoch) {
  auto job = MakeJob("bsp", absl::Seconds(10));
  MustRegister(*job, 1);
  clock_.Advance(absl::Seconds(7));
  absl::StatusOr<HeartbeatResult> hb = job->Heartbeat(1, clock_.Now());
  ASSERT_TRUE(hb.ok()) << hb.status();
  EXPECT_EQ(hb->round, 0u);
  EXPECT_EQ(hb->membership_epoch, 1u);
  EXPECT_EQ(hb->lease_remaining, absl::Seconds(10));
  EXPECT_EQ(job->NextLeaseExpiry(), clock_.Now() + absl::Seconds(10));
}

}  // namespace
}  // namespace ebsp::core

namespace ebsp::core {
namespace {

// Ten thousand workers through full rounds: each event must stay O(1) or
// O(log n) (this runs in well under a second; a scan per event would not).
TEST_F(JobStateTest, TenThousandWorkersCompleteRoundsUnderEveryRoundPolicy) {
  constexpr int kWorkers = 10000;
  // Two rounds without history (BSP), one planned with first gaps only, and
  // enough after it for late binding's reserve to forget that round's misses.
  constexpr int kRounds = 8;
  // Three speed classes (1, 2 and 3 ms per iteration), so ElasticBSP plans.
  std::vector<testing::IterationTime> speeds;
  for (int i = 0; i < kWorkers; ++i) {
    speeds.push_back([i](uint64_t, int) { return absl::Milliseconds(1 + i % 3); });
  }
  for (const std::string policy : {"bsp", "local:H=2", "ebsp:R=6"}) {
    JobOptions options;
    options.policy = *ParsePolicy(policy);
    options.heartbeat_timeout = absl::Hours(1);
    JobState job("big", options, clock_.Now());
    testing::RoundDriver driver(job, clock_.Now(), speeds, absl::Milliseconds(1));
    ASSERT_TRUE(driver.RunRounds(kRounds)) << policy << ": " << driver.error();
    EXPECT_EQ(job.Snapshot(driver.now()).rounds_completed, static_cast<uint64_t>(kRounds))
        << policy;
    for (const RoundSummary& summary : driver.summaries()) {
      EXPECT_EQ(summary.members.size(), static_cast<size_t>(kWorkers)) << policy;
    }
    if (policy == "ebsp:R=6") {
      // After the 1 ms sync: 6 x 1 ms = 3 x 2 ms = 2 x 3 ms.
      // Late binding ends with ZipLine's targets when forecasts are exact.
      const auto& last = driver.targets_by_round().at(kRounds - 1);
      EXPECT_EQ(last.at(1), 6);
      EXPECT_EQ(last.at(2), 3);
      EXPECT_EQ(last.at(3), 2);
    }
  }
}

}  // namespace
}  // namespace ebsp::core
