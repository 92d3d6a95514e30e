// The restart hold: a job restored after a coordinator restart holds its
// first barrier until the names live before the restart are back (or a
// deadline passes), so that release has the old membership fingerprint.
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/core/job/job_state.h"
#include "lib/core/job/membership_fingerprint.h"
#include "tests/core/test_support.h"

namespace ebsp::core {
namespace {

using ::ebsp::core::testing::VirtualClock;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class RestartHoldTest : public ::testing::Test {
 protected:
  std::unique_ptr<JobState> MakeJob(const std::string& policy_text) {
    JobOptions options;
    options.policy = *ParsePolicy(policy_text);
    options.heartbeat_timeout = absl::Seconds(10);
    return std::make_unique<JobState>("job", options, clock_.Now());
  }
  void MustRegister(JobState& job, WorkerId id, const std::string& name) {
    absl::StatusOr<RegisterResult> r = job.Register(id, name, clock_.Now());
    ASSERT_TRUE(r.ok()) << r.status();
  }
  // Reports the worker's one BSP iteration and arrives at barrier 0.
  Effects RunToBarrier(JobState& job, WorkerId id) {
    EXPECT_TRUE(job.ReportIteration(id, 0, 1, absl::Seconds(1), clock_.Now()).ok());
    absl::StatusOr<Effects> e = job.ArriveAtBarrier(id, 0, clock_.Now());
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *std::move(e) : Effects{};
  }
  const std::vector<std::string> roster_ = {"a", "b", "c"};
  const uint64_t roster_fingerprint_ =
      NameFingerprint("a") + NameFingerprint("b") + NameFingerprint("c");
  VirtualClock clock_;
};

TEST_F(RestartHoldTest, FirstBarrierWaitsUntilEveryEarlierNameIsBack) {
  auto job = MakeJob("bsp");
  job->ExpectMembers(roster_, clock_.Now() + absl::Seconds(30));
  MustRegister(*job, 1, "a");
  MustRegister(*job, 2, "b");
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(RunToBarrier(*job, 1).releases, IsEmpty());
  // Every live member arrived, but "c" is not back yet: held.
  EXPECT_THAT(RunToBarrier(*job, 2).releases, IsEmpty());
  EXPECT_THAT(job->Snapshot(clock_.Now()).awaited_names, ElementsAre("c"));

  clock_.Advance(absl::Seconds(3));
  absl::StatusOr<RegisterResult> c = job->Register(3, "c", clock_.Now());
  ASSERT_TRUE(c.ok()) << c.status();
  // An awaited name joins the held round as a member although it is in
  // progress, so that every member passes barrier 0 once (one all-reduce).
  EXPECT_THAT(c->effects.releases, IsEmpty());
  EXPECT_EQ(c->round, 0u);
  EXPECT_EQ(c->phase, WorkerPhase::kRunning);
  EXPECT_EQ(c->target, 1);
  EXPECT_EQ(c->membership_fingerprint, roster_fingerprint_);
  EXPECT_THAT(job->Snapshot(clock_.Now()).awaited_names, IsEmpty());
  EXPECT_EQ(job->Snapshot(clock_.Now()).hold_until, std::nullopt);

  clock_.Advance(absl::Seconds(1));
  const Effects last = RunToBarrier(*job, 3);
  ASSERT_THAT(last.releases, SizeIs(3));
  for (const Release& r : last.releases) {
    EXPECT_EQ(r.round, 1u);
    EXPECT_EQ(r.membership_fingerprint, roster_fingerprint_);
    EXPECT_EQ(r.live_workers, 3);
  }
}

TEST_F(RestartHoldTest, ANameNotAwaitedStillWaitsForTheNextRound) {
  auto job = MakeJob("bsp");
  job->ExpectMembers({"a", "b"}, clock_.Now() + absl::Seconds(30));
  MustRegister(*job, 1, "a");
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(RunToBarrier(*job, 1).releases, IsEmpty());
  absl::StatusOr<RegisterResult> newcomer = job->Register(9, "new", clock_.Now());
  ASSERT_TRUE(newcomer.ok());
  EXPECT_EQ(newcomer->phase, WorkerPhase::kPending);
}

TEST_F(RestartHoldTest, HoldEndsAtItsDeadlineWithWhoeverIsBack) {
  auto job = MakeJob("ebsp:R=3");
  const absl::Time until = clock_.Now() + absl::Seconds(20);
  job->ExpectMembers(roster_, until);
  MustRegister(*job, 1, "a");
  MustRegister(*job, 2, "b");
  for (WorkerId id : {1, 2}) {
    clock_.Advance(absl::Seconds(1));
    const int target = job->Snapshot(clock_.Now()).workers[id - 1].target;
    for (int i = 1; i <= target; ++i) {
      ASSERT_TRUE(job->ReportIteration(id, 0, i, absl::Seconds(1), clock_.Now()).ok());
    }
    ASSERT_TRUE(job->ArriveAtBarrier(id, 0, clock_.Now()).ok());
  }
  // Keep the leases fresh while held.
  for (int s = 0; s < 4; ++s) {
    clock_.Advance(absl::Seconds(4));
    for (WorkerId id : {1, 2}) ASSERT_TRUE(job->ArriveAtBarrier(id, 0, clock_.Now()).ok());
    EXPECT_THAT(job->Tick(clock_.Now()).releases, IsEmpty());
  }
  clock_.Advance(until - clock_.Now() - absl::Milliseconds(1));
  EXPECT_THAT(job->Tick(clock_.Now()).releases, IsEmpty());
  clock_.Advance(absl::Milliseconds(1));
  const Effects at_deadline = job->Tick(clock_.Now());
  EXPECT_THAT(at_deadline.releases, SizeIs(2));
  EXPECT_THAT(at_deadline.evictions, IsEmpty());
  EXPECT_EQ(job->Snapshot(clock_.Now()).round, 1u);
  EXPECT_THAT(job->Snapshot(clock_.Now()).awaited_names, IsEmpty());
}

TEST_F(RestartHoldTest, NamesAlreadyLiveAreNotAwaitedAndAnEmptyRosterHoldsNothing) {
  auto job = MakeJob("bsp");
  MustRegister(*job, 1, "a");
  job->ExpectMembers({"a"}, clock_.Now() + absl::Seconds(30));
  EXPECT_EQ(job->Snapshot(clock_.Now()).hold_until, std::nullopt);
  job->ExpectMembers({}, clock_.Now() + absl::Seconds(30));
  EXPECT_THAT(RunToBarrier(*job, 1).releases, SizeIs(1));
}

TEST_F(RestartHoldTest, RoundlessPoliciesIgnoreTheHold) {
  auto job = MakeJob("ssp:s=2");
  job->ExpectMembers(roster_, clock_.Now() + absl::Seconds(30));
  EXPECT_THAT(job->Snapshot(clock_.Now()).awaited_names, IsEmpty());
  EXPECT_EQ(job->Snapshot(clock_.Now()).hold_until, std::nullopt);
}

TEST_F(RestartHoldTest, LiveWorkerNamesAreSorted) {
  auto job = MakeJob("bsp");
  MustRegister(*job, 5, "z");
  MustRegister(*job, 6, "m");
  MustRegister(*job, 7, "a");
  EXPECT_THAT(job->LiveWorkerNames(), ElementsAre("a", "m", "z"));
}

}  // namespace
}  // namespace ebsp::core
