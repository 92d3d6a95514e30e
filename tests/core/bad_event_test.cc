// Every rejected event returns the documented status code, a message naming
// the bad value, and leaves the job exactly as it was (leases included).
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/core/job/job_state.h"
#include "tests/core/test_support.h"

namespace ebsp::core {
namespace {

using ::ebsp::core::testing::SnapshotsEqual;
using ::testing::HasSubstr;

struct BadEvent {
  std::string name;
  std::string policy;  // The job's policy.
  std::function<absl::Status(JobState&, absl::Time)> event;
  absl::StatusCode code;
  std::string message_part;
};

template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

absl::Status Report(JobState& job, WorkerId id, uint64_t round, int iteration,
                    absl::Duration compute, absl::Time now) {
  return StatusOf(job.ReportIteration(id, round, iteration, compute, now));
}

// The job every event is tried on, at t0:
//  rounds policies: worker 1 ("a") at the barrier of round 0 after 1 of 1;
//   worker 2 ("b") running with 0 of 1 done; worker 3 ("c") done 1 of 1 and
//   told to sync, not yet at the barrier. max_workers = 3.
//  roundless policies: workers 1, 2, 3 with worker 1 at iteration 2.
std::unique_ptr<JobState> MakeJob(const std::string& policy, absl::Time t0) {
  JobOptions options;
  options.policy = *ParsePolicy(policy);
  options.heartbeat_timeout = absl::Seconds(10);
  options.max_workers = 3;
  auto job = std::make_unique<JobState>("job", options, t0);
  for (WorkerId id : {1, 2, 3}) {
    const std::string name(1, static_cast<char>('a' + id - 1));
    EXPECT_TRUE(job->Register(id, name, t0).ok());
  }
  if (options.policy.HasRounds()) {
    EXPECT_TRUE(job->ReportIteration(1, 0, 1, absl::Seconds(1), t0).ok());
    EXPECT_TRUE(job->ArriveAtBarrier(1, 0, t0).ok());
    EXPECT_TRUE(job->ReportIteration(3, 0, 1, absl::Seconds(1), t0).ok());
  } else {
    EXPECT_TRUE(job->ReportIteration(1, 0, 1, absl::Seconds(1), t0).ok());
    EXPECT_TRUE(job->ReportIteration(1, 0, 2, absl::Seconds(1), t0).ok());
  }
  return job;
}

// Keeps gtest from printing the functor's bytes.
void PrintTo(const BadEvent& bad, std::ostream* os) { *os << bad.name << " under " << bad.policy; }

class BadEventTest : public ::testing::TestWithParam<BadEvent> {};

TEST_P(BadEventTest, IsRejectedWithPreciseStatusAndChangesNothing) {
  const BadEvent& bad = GetParam();
  const absl::Time t0 = absl::UnixEpoch() + absl::Hours(1);
  auto job = MakeJob(bad.policy, t0);
  // The event comes later than the set-up, so a lease refresh would show.
  const absl::Time event_time = t0 + absl::Seconds(1);
  const absl::Time look_time = t0 + absl::Seconds(2);
  const JobSnapshot before = job->Snapshot(look_time);
  const std::optional<absl::Time> expiry_before = job->NextLeaseExpiry();

  const absl::Status status = bad.event(*job, event_time);

  EXPECT_EQ(status.code(), bad.code) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(bad.message_part));
  EXPECT_TRUE(SnapshotsEqual(before, job->Snapshot(look_time)));
  EXPECT_EQ(job->NextLeaseExpiry(), expiry_before);
}

const absl::Duration kOneSecond = absl::Seconds(1);

INSTANTIATE_TEST_SUITE_P(Rounds, BadEventTest,
                         ::
                             testing::
                                 Values(
                                     BadEvent{"ReportFromUnknownWorker", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return Report(j, 99, 0, 1, kOneSecond, t);
                                              },
                                              absl::StatusCode::kNotFound,
                                              "worker 99 is not registered"},
                                     BadEvent{"ReportInWrongRound", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return Report(j, 2, 5, 1, kOneSecond, t);
                                              },
                                              absl::StatusCode::kFailedPrecondition,
                                              "worker 2 reported iteration 1 in round 5, but the "
                                              "current round is 0"},
                                     BadEvent{
                                         "ReportJumpingIteration", "bsp",
                                         [](JobState& j, absl::Time t) {
                                           return Report(j, 2, 0, 3, kOneSecond, t);
                                         },
                                         absl::StatusCode::kFailedPrecondition,
                                         "worker 2 reported iteration 3 in round 0, expected 1"},
                                     BadEvent{"ReportIterationZero", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return Report(j, 2, 0, 0, kOneSecond, t);
                                              },
                                              absl::StatusCode::kInvalidArgument, "iteration 0"},
                                     BadEvent{"ReportNegativeCompute", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return Report(j, 2, 0, 1, absl::Seconds(-1), t);
                                              },
                                              absl::StatusCode::kInvalidArgument,
                                              "compute time -1s"},
                                     BadEvent{"ReportNanCompute", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return Report(
                                                    j, 2, 0, 1,
                                                    absl::Seconds(
                                                        std::numeric_limits<double>::quiet_NaN()),
                                                    t);
                                              },
                                              absl::StatusCode::kInvalidArgument,
                                              "infinite or NaN"},
                                     BadEvent{
                                         "ReportInfiniteCompute", "bsp",
                                         [](JobState& j, absl::Time t) {
                                           return Report(j, 2, 0, 1, absl::InfiniteDuration(), t);
                                         },
                                         absl::StatusCode::kInvalidArgument, "infinite or NaN"},
                                     BadEvent{"ReportWhileAtBarrier", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return Report(j, 1, 0, 2, kOneSecond, t);
                                              },
                                              absl::StatusCode::kFailedPrecondition,
                                              "waiting at the barrier of round 0"},
                                     BadEvent{"ReportBeyondTarget", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return Report(j, 3, 0, 2, kOneSecond, t);
                                              },
                                              absl::StatusCode::kFailedPrecondition,
                                              "beyond its target 1"},
                                     BadEvent{"RegisterDuplicateName", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return StatusOf(j.Register(7, "b", t));
                                              },
                                              absl::StatusCode::kAlreadyExists,
                                              "worker name \"b\" is already live"},
                                     BadEvent{
                                         "RegisterDuplicateId", "bsp",
                                         [](JobState& j, absl::Time t) {
                                           return StatusOf(j.Register(2, "new", t));
                                         },
                                         absl::StatusCode::kAlreadyExists, "worker id 2"},
                                     BadEvent{"RegisterEmptyName", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return StatusOf(j.Register(7, "", t));
                                              },
                                              absl::StatusCode::kInvalidArgument, "empty"},
                                     BadEvent{"RegisterBadCharacter", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return StatusOf(j.Register(7, "a b", t));
                                              },
                                              absl::StatusCode::kInvalidArgument, "\"a b\""},
                                     BadEvent{"RegisterOversizeName", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return StatusOf(
                                                    j.Register(7, std::string(129, 'x'), t));
                                              },
                                              absl::StatusCode::kInvalidArgument, "129 characters"},
                                     BadEvent{"RegisterBeyondMaxWorkers", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return StatusOf(j.Register(7, "d", t));
                                              },
                                              absl::StatusCode::kResourceExhausted,
                                              "already has 3 live workers"},
                                     BadEvent{
                                         "BarrierBeforeTarget", "bsp",
                                         [](JobState& j, absl::Time t) {
                                           return StatusOf(j.ArriveAtBarrier(2, 0, t));
                                         },
                                         absl::StatusCode::kFailedPrecondition,
                                         "after 0 of its 1 iterations"},
                                     BadEvent{
                                         "BarrierOfWrongRound", "bsp",
                                         [](JobState& j, absl::Time t) {
                                           return StatusOf(j.ArriveAtBarrier(3, 4, t));
                                         },
                                         absl::StatusCode::kFailedPrecondition, "Barrier(4)"},
                                     BadEvent{"BarrierFromUnknownWorker", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return StatusOf(j.ArriveAtBarrier(42, 0, t));
                                              },
                                              absl::StatusCode::kNotFound, "worker 42"},
                                     BadEvent{"WaitForClockUnderBsp", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return StatusOf(j.WaitForClock(2, t));
                                              },
                                              absl::StatusCode::kFailedPrecondition,
                                              "runs bsp, which has no clocks"},
                                     BadEvent{"HeartbeatFromUnknownWorker", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return StatusOf(j.Heartbeat(8, t));
                                              },
                                              absl::StatusCode::kNotFound, "worker 8"},
                                     BadEvent{"LeaveOfUnknownWorker", "bsp",
                                              [](JobState& j, absl::Time t) {
                                                return StatusOf(j.Leave(8, t));
                                              },
                                              absl::StatusCode::kNotFound, "worker 8"},
                                     BadEvent{
                                         "PolicyWithBadLookahead", "ebsp",
                                         [](JobState& j, absl::Time t) {
                                           PolicyConfig bad;
                                           bad.lookahead = 0;
                                           return j.UpdatePolicy(bad, t);
                                         },
                                         absl::StatusCode::kInvalidArgument, "lookahead R=0"},
                                     BadEvent{"PolicyRoundlessWhileWorkersRun", "ebsp",
                                              [](JobState& j, absl::Time t) {
                                                return j.UpdatePolicy(*ParsePolicy("ssp"), t);
                                              },
                                              absl::StatusCode::kFailedPrecondition,
                                              "from ebsp to ssp"}),
                         [](const ::testing::TestParamInfo<BadEvent>& info) {
                           return info.param.name;
                         });

INSTANTIATE_TEST_SUITE_P(
    Roundless, BadEventTest,
    ::testing::Values(
        BadEvent{"SspReportInRoundOne", "ssp:s=1",
                 [](JobState& j, absl::Time t) { return Report(j, 1, 1, 3, kOneSecond, t); },
                 absl::StatusCode::kFailedPrecondition, "in round 1, but the current round is 0"},
        // Repeating the last report (2) is a retry; an older one is not.
        BadEvent{"SspReportRepeatsOlderIteration", "ssp:s=1",
                 [](JobState& j, absl::Time t) { return Report(j, 1, 0, 1, kOneSecond, t); },
                 absl::StatusCode::kFailedPrecondition, "iteration 1 in round 0, expected 3"},
        BadEvent{"AspBarrier", "asp",
                 [](JobState& j, absl::Time t) { return StatusOf(j.ArriveAtBarrier(1, 0, t)); },
                 absl::StatusCode::kFailedPrecondition, "runs asp, which has no barriers"},
        BadEvent{"AspWaitForClock", "asp",
                 [](JobState& j, absl::Time t) { return StatusOf(j.WaitForClock(1, t)); },
                 absl::StatusCode::kFailedPrecondition, "runs asp, which has no clocks"},
        BadEvent{"SspPolicyToBspWhileWorkersRun", "ssp:s=1",
                 [](JobState& j, absl::Time t) { return j.UpdatePolicy(*ParsePolicy("bsp"), t); },
                 absl::StatusCode::kFailedPrecondition, "from ssp to bsp"}),
    [](const ::testing::TestParamInfo<BadEvent>& info) { return info.param.name; });

}  // namespace
}  // namespace ebsp::core
