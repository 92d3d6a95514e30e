// Random event sequences against JobState, checked against invariants
// after every event (tests/core/job_invariants.h: a rejected event changes
// nothing, a barrier never waits for nobody, targets stay within the
// policy's bounds, released workers run). Fixed seeds keep every run
// identical. tests/fuzz/job_state_fuzz.cc checks the same invariants over
// sequences libFuzzer finds.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/core/job/job_state.h"
#include "tests/core/job_invariants.h"
#include "tests/core/test_support.h"

namespace ebsp::core {
namespace {

constexpr WorkerId kMaxId = 8;  // Ids 1..8, so unknown and departed ids come up.
constexpr int kEventsPerSeed = 3000;

class JobStateRandomTest : public ::testing::TestWithParam<std::string> {
 protected:
  // One random event; returns its status and effects (empty on failure).
  absl::Status RandomEvent(JobState& job, const JobSnapshot& snap, absl::Time now,
                           Effects& effects) {
    // Mostly live workers; now and then any id, live, departed or unknown.
    WorkerId id = Pick(1, kMaxId);
    if (!snap.workers.empty() && Pick(0, 4) != 0) {
      id = snap.workers[Pick(0, static_cast<int>(snap.workers.size()) - 1)].worker;
    }
    const WorkerSnapshot* w = nullptr;
    for (const WorkerSnapshot& ws : snap.workers) {
      if (ws.worker == id) w = &ws;
    }
    const bool sloppy = Pick(0, 9) == 0;  // One event in ten is malformed.
    switch (Pick(0, 9)) {
      case 0: {
        absl::StatusOr<RegisterResult> r =
            job.Register(id, sloppy ? "w1" : "w" + std::to_string(id), now);
        if (r.ok()) effects = r->effects;
        return r.status();
      }
      case 1:
      case 2:
      case 3:
      case 4: {
        const int iteration =
            (w != nullptr ? w->iterations_in_round : 0) + 1 + (sloppy ? Pick(-1, 1) : 0);
        const uint64_t round = snap.round + (sloppy ? Pick(0, 1) : 0);
        const absl::Duration compute =
            sloppy && Pick(0, 1) == 0 ? absl::Seconds(-1) : absl::Milliseconds(Pick(1, 3000));
        absl::StatusOr<ReportResult> r = job.ReportIteration(id, round, iteration, compute, now);
        if (r.ok()) {
          effects = r->effects;
          last_action_ = r->action;
        }
        return r.status();
      }
      case 5:
      case 6: {
        const uint64_t round = snap.round - (sloppy && snap.round > 0 ? 1 : 0);
        absl::StatusOr<Effects> r = job.ArriveAtBarrier(id, round, now);
        if (r.ok()) effects = *r;
        return r.status();
      }
      case 7: {
        absl::StatusOr<Effects> r = job.WaitForClock(id, now);
        if (r.ok()) effects = *r;
        return r.status();
      }
      case 8: {
        if (Pick(0, 3) == 0) {
          absl::StatusOr<Effects> r = job.Leave(id, now);
          if (r.ok()) effects = *r;
          return r.status();
        }
        return job.Heartbeat(id, now).status();
      }
      default:
        effects = job.Tick(now);
        return absl::OkStatus();
    }
  }

  int Pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }

  std::mt19937 rng_;
  SyncAction last_action_ = SyncAction::kContinue;
};

TEST_P(JobStateRandomTest, InvariantsHoldAfterEveryEvent) {
  const PolicyConfig policy = *ParsePolicy(GetParam());
  for (uint32_t seed : {1u, 2u, 3u}) {
    rng_.seed(seed);
    testing::VirtualClock clock;
    JobOptions options;
    options.policy = policy;
    options.heartbeat_timeout = absl::Seconds(10);
    options.max_workers = 6;
    JobState job("random", options, clock.Now());
    uint64_t releases = 0;
    int accepted = 0;
    for (int event = 0; event < kEventsPerSeed; ++event) {
      const absl::Time now = clock.Advance(absl::Milliseconds(Pick(0, 1500)));
      const absl::Time look = now + absl::Seconds(1);
      const JobSnapshot before = job.Snapshot(look);
      Effects effects;
      const absl::Status status = RandomEvent(job, job.Snapshot(now), now, effects);
      const JobSnapshot after = job.Snapshot(look);
      const std::string where =
          GetParam() + " seed " + std::to_string(seed) + " event " + std::to_string(event);
      ASSERT_EQ(testing::CheckInvariants(policy, job, {before, after, status, effects}), "")
          << where << ": " << status;
      if (!status.ok()) continue;
      ++accepted;
      releases += effects.releases.size();
    }
    // The sequence must exercise the state machine, or the invariants said
    // little: releases where the policy has waits, accepted events always.
    if (policy.kind != PolicyKind::kAsp) {
      EXPECT_GT(releases, 10u) << GetParam() << " seed " << seed;
    }
    EXPECT_GT(accepted, kEventsPerSeed / 4) << GetParam() << " seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, JobStateRandomTest,
                         ::testing::Values("bsp", "local:H=3", "ebsp:R=5", "ebsp:R=4,binding=plan",
                                           "ssp:s=1", "asp", "dssp:s=1,r=3"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.find(':'));
                           if (info.param.find("binding=plan") != std::string::npos) {
                             name += "_plan";
                           }
                           return name;
                         });

}  // namespace
}  // namespace ebsp::core
