#include "tests/core/round_driver.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace ebsp::core::testing {

RoundDriver::RoundDriver(JobState& job, absl::Time start, std::vector<IterationTime> workers,
                         absl::Duration overhead)
    : job_(job), overhead_(overhead), now_(start) {
  for (size_t i = 0; i < workers.size(); ++i) {
    Sim sim;
    sim.id = i + 1;
    sim.iteration_time = std::move(workers[i]);
    absl::StatusOr<RegisterResult> reg = job_.Register(sim.id, absl::StrCat("w", sim.id), start);
    if (!reg.ok()) {
      error_ = std::string(reg.status().message());
      continue;
    }
    sim.round = reg->round;
    sim.next_end = start + sim.iteration_time(sim.round, 1);
    running_.emplace(sim.next_end, sims_.size());
    sims_.push_back(std::move(sim));
  }
}

RoundDriver::Sim* RoundDriver::FindSim(WorkerId id) {
  if (id < 1 || id > sims_.size()) return nullptr;
  return &sims_[id - 1];
}

void RoundDriver::Apply(const Effects& effects) {
  for (const Release& release : effects.releases) {
    Sim* sim = FindSim(release.worker);
    if (sim == nullptr || !sim->waiting) continue;
    sim->waiting = false;
    sim->round = release.round;
    sim->done = 0;
    sim->next_end = now_ + overhead_ + sim->iteration_time(sim->round, 1);
    running_.emplace(sim->next_end, release.worker - 1);
  }
  for (const RoundSummary& summary : effects.rounds_completed) {
    for (const RoundSummary::Member& m : summary.members) {
      targets_by_round_[summary.round][m.worker] = m.target;
    }
    summaries_.push_back(summary);
  }
}

bool RoundDriver::RunRounds(int rounds, const std::function<void(absl::Time)>& after_event) {
  if (!error_.empty()) return false;
  const size_t goal = summaries_.size() + static_cast<size_t>(rounds);
  // Every round costs at most R reports and one arrival per worker.
  const int64_t budget = int64_t{rounds} * static_cast<int64_t>(sims_.size()) * 5000 + 100;
  for (int64_t events = 0; summaries_.size() < goal; ++events) {
    if (events >= budget) {
      error_ = "event budget exhausted";
      return false;
    }
    if (running_.empty()) {
      error_ = "every worker waits and no barrier released";
      return false;
    }
    Sim* next = &sims_[running_.begin()->second];
    running_.erase(running_.begin());
    now_ = next->next_end;
    absl::StatusOr<ReportResult> report =
        job_.ReportIteration(next->id, next->round, next->done + 1,
                             next->iteration_time(next->round, next->done + 1), now_);
    if (!report.ok()) {
      error_ = std::string(report.status().message());
      return false;
    }
    ++next->done;
    if (report->effects.planned) ++replans_;
    Apply(report->effects);
    if (after_event) after_event(now_);
    if (report->action == SyncAction::kContinue) {
      next->next_end = now_ + next->iteration_time(next->round, next->done + 1);
      running_.emplace(next->next_end, next->id - 1);
      continue;
    }
    next->waiting = true;
    absl::StatusOr<Effects> arrived = job_.ArriveAtBarrier(next->id, next->round, now_);
    if (!arrived.ok()) {
      error_ = std::string(arrived.status().message());
      return false;
    }
    Apply(*arrived);
    if (after_event) after_event(now_);
  }
  return true;
}

}  // namespace ebsp::core::testing
