// RoundDriver: runs simulated workers against a JobState with rounds, in
// virtual time and deterministically, so policy behaviour can be tested over
// many rounds. Each worker's iteration time comes from a function of
// (round, iteration); after each release a worker spends `overhead` (the
// training stack's own sync) before its first iteration.
#ifndef EBSP_TESTS_CORE_ROUND_DRIVER_H_
#define EBSP_TESTS_CORE_ROUND_DRIVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "lib/core/job/job_state.h"

namespace ebsp::core::testing {

using IterationTime = std::function<absl::Duration(uint64_t round, int iteration)>;

class RoundDriver {
 public:
  // Registers the workers (ids 1..n, names w1..wn) at `start`.
  RoundDriver(JobState& job, absl::Time start, std::vector<IterationTime> workers,
              absl::Duration overhead);

  // Runs until `rounds` more barriers released; every call into the job is
  // followed by `after_event(now)`. Returns false if it got stuck (a failed
  // call, or an event budget exhausted), with the reason in error().
  bool RunRounds(int rounds, const std::function<void(absl::Time)>& after_event = nullptr);

  // Targets each worker ran in each completed round: round -> id -> target.
  const std::map<uint64_t, std::map<WorkerId, int>>& targets_by_round() const {
    return targets_by_round_;
  }
  const std::vector<RoundSummary>& summaries() const { return summaries_; }
  // Reports whose reply re-planned the round.
  int replans() const { return replans_; }
  absl::Time now() const { return now_; }
  const std::string& error() const { return error_; }

 private:
  struct Sim {
    WorkerId id = 0;
    IterationTime iteration_time;
    uint64_t round = 0;
    int done = 0;
    bool waiting = false;
    absl::Time next_end;
  };
  void Apply(const Effects& effects);
  Sim* FindSim(WorkerId id);

  JobState& job_;
  absl::Duration overhead_;
  absl::Time now_;
  std::vector<Sim> sims_;  // sims_[i] has id i + 1.
  // Running workers by the end of their current iteration (then by index),
  // so each event costs O(log n) even for thousands of workers.
  std::set<std::pair<absl::Time, size_t>> running_;
  std::map<uint64_t, std::map<WorkerId, int>> targets_by_round_;
  std::vector<RoundSummary> summaries_;
  int replans_ = 0;
  std::string error_;
};

}  // namespace ebsp::core::testing

#endif  // EBSP_TESTS_CORE_ROUND_DRIVER_H_
